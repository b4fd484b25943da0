/**
 * The `--cluster` family of options every command that reads manifests shares, and the one call that
 * turns them into a loaded cluster (warnings printed to stderr as `netsieve: warning: ...`).
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { DEFAULT_LOAD_OPTIONS, loadCluster, type LoadOptions, type LoadResult } from '../manifests/load.js';

/** Option values as commander hands them over (strings; `cluster` a list). */
export interface ClusterOptionValues {
  readonly cluster?: string[] | string;
  readonly nodes?: string;
  readonly podCidr?: string;
  readonly podCidr6?: string;
  readonly nodeCidr?: string;
  readonly serviceCidr?: string;
}

export function addClusterOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--cluster <path...>', 'Kubernetes manifests: YAML or JSON files or directories (kubectl get -A -o yaml output works); several merge')
    .option('--nodes <n>', 'nodes to generate when the manifests name none (DaemonSets run one pod on each)', String(DEFAULT_LOAD_OPTIONS.nodes))
    .option('--pod-cidr <cidr>', 'addresses for pods the manifests give none', DEFAULT_LOAD_OPTIONS.podCidr)
    .option('--pod-cidr6 <cidr>', 'dual stack: also give such pods an IPv6 address from this CIDR')
    .option('--node-cidr <cidr>', 'addresses for nodes the manifests give none', DEFAULT_LOAD_OPTIONS.nodeCidr)
    .option('--service-cidr <cidr>', 'cluster IPs for Services that give none (default 10.96.0.0/12, or fd00:10:96::/112 for an IPv6 --pod-cidr)');
}

/** Parses the flag values into LoadOptions; a bad value is an InputError naming the flag. */
export function loadOptionsFrom(opts: ClusterOptionValues): LoadOptions {
  const nodesText = opts.nodes ?? String(DEFAULT_LOAD_OPTIONS.nodes);
  if (!/^\d+$/.test(nodesText)) throw new InputError(`--nodes: must be a whole number of nodes, got ${JSON.stringify(nodesText)}`);
  return {
    nodes: Number(nodesText),
    podCidr: opts.podCidr ?? DEFAULT_LOAD_OPTIONS.podCidr,
    podCidr6: opts.podCidr6 ?? null,
    nodeCidr: opts.nodeCidr ?? DEFAULT_LOAD_OPTIONS.nodeCidr,
    serviceCidr: opts.serviceCidr ?? null,
  };
}

export function loadClusterFromOptions(opts: ClusterOptionValues): LoadResult {
  const paths = opts.cluster === undefined ? [] : Array.isArray(opts.cluster) ? opts.cluster : [opts.cluster];
  const result = loadCluster(paths, loadOptionsFrom(opts));
  for (const warning of result.warnings) process.stderr.write(`netsieve: warning: ${warning}\n`);
  return result;
}
