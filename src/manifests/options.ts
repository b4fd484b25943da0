/**
 * Load options: how many nodes to invent and which CIDRs to address invented pods and nodes from.
 */
import { InputError } from '../errors.js';
import { formatCidr, parseCidr, type Cidr } from '../model/ip.js';

export interface LoadOptions {
  /** Nodes to generate when the input names none (DaemonSets run one pod on each). */
  readonly nodes: number;
  /** Addresses for pods without one; IPv4, or IPv6 for a single-stack IPv6 cluster. */
  readonly podCidr: string;
  /** Dual stack: an IPv6 CIDR, giving every addressed pod an IPv6 address as well. */
  readonly podCidr6: string | null;
  readonly nodeCidr: string;
  /**
   * Cluster IPs for Services that give none (the API server allocates them from its
   * service-cluster-ip-range). null: 10.96.0.0/12, or fd00:10:96::/112 when --pod-cidr is IPv6.
   */
  readonly serviceCidr: string | null;
}

export const DEFAULT_LOAD_OPTIONS: LoadOptions = {
  nodes: 1,
  podCidr: '10.244.0.0/16',
  podCidr6: null,
  nodeCidr: '172.18.0.0/16',
  serviceCidr: null,
};

export const MAX_NODES = 10_000;

export interface ResolvedOptions {
  readonly nodes: number;
  /** The pod CIDRs in use, IPv4 first. */
  readonly podCidrs: readonly Cidr[];
  readonly nodeCidr: Cidr;
  readonly serviceCidr: Cidr;
}

/** Checks the options; a bad value is an InputError naming the command-line flag it comes from. */
export function resolveOptions(options: Partial<LoadOptions>, warnings: string[]): ResolvedOptions {
  const o = { ...DEFAULT_LOAD_OPTIONS, ...options };
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > MAX_NODES) {
    throw new InputError(`--nodes: must be an integer from 1 to ${MAX_NODES}, got ${String(o.nodes)}`);
  }
  const pod = cidrOption('--pod-cidr', o.podCidr, null, warnings);
  const pod6 = o.podCidr6 === null ? null : cidrOption('--pod-cidr6', o.podCidr6, 6, warnings);
  if (pod6 !== null && pod.family === 6) {
    throw new InputError(`--pod-cidr6: --pod-cidr ${formatCidr(pod)} is already IPv6; give an IPv4 --pod-cidr for dual stack`);
  }
  const nodeCidr = cidrOption('--node-cidr', o.nodeCidr, null, warnings);
  const serviceText = o.serviceCidr ?? (pod.family === 6 ? 'fd00:10:96::/112' : '10.96.0.0/12');
  const serviceCidr = cidrOption('--service-cidr', serviceText, null, warnings);
  return { nodes: o.nodes, podCidrs: pod6 === null ? [pod] : [pod, pod6], nodeCidr, serviceCidr };
}

function cidrOption(flag: string, text: string, family: 4 | 6 | null, warnings: string[]): Cidr {
  const parsed = parseCidr(text);
  if (!parsed) throw new InputError(`${flag}: must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/64, got ${JSON.stringify(text)}`);
  if (family !== null && parsed.cidr.family !== family) {
    throw new InputError(`${flag}: must be an IPv${family} CIDR, got ${JSON.stringify(text)}`);
  }
  if (parsed.hostBitsSet) warnings.push(`${flag}: ${JSON.stringify(text)} has host bits set; it is treated as ${formatCidr(parsed.cidr)}`);
  return parsed.cidr;
}
