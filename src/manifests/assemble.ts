/**
 * From converted objects to the Cluster: expand workloads, place pods on nodes, address what the input
 * left unaddressed, imply namespaces, and sort everything (namespace, then name).
 */
import { InputError } from '../errors.js';
import { formatIp, ipKey, type IpAddr } from '../model/ip.js';
import type { Cluster, Namespace, Node, Pod, Service } from '../model/types.js';
import { AddressPool, generatedNodeNames, mergeAddresses } from './addressing.js';
import { impliedNamespace } from './cluster-objects.js';
import type { Collected } from './collect.js';
import type { Warnings } from './context.js';
import { expandWorkload, planExpansion } from './expand.js';
import type { ResolvedOptions } from './options.js';
import type { PodDraft } from './pod.js';

const byNamespaceThenName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function assemble(c: Collected, options: ResolvedOptions, warnings: Warnings): Cluster {
  const explicit = [...c.pods.values()];
  const running = explicit.filter((p) => !p.terminated);
  if (running.length < explicit.length) {
    warnings.add(`${explicit.length - running.length} pod(s) in phase Succeeded or Failed left out: they hold no address any more`);
  }
  warnSharedAddresses(running, warnings);
  const workloads = [...c.workloads.values()];
  const plan = planExpansion(workloads, explicit);
  const nodeNames = chooseNodes(c, running, plan.map((w) => w.template.nodeName), options.nodes);
  const drafts = withoutNameClashes([...running, ...plan.flatMap((w) => expandWorkload(w, nodeNames))]);
  drafts.sort(byNamespaceThenName);
  const placed = place(drafts, nodeNames);
  const nodes = addressNodes(c, placed, nodeNames, options);
  const pods = addressPods(placed, nodes, options);
  const services = addressServices(c, pods, nodes, options);
  const policies = [...c.policies.values()].sort(byNamespaceThenName);
  const namespaces = namespacesOf(c, [...pods, ...workloads, ...services, ...policies]);
  return { namespaces, pods, nodes, services, policies };
}

/** Two running pods reporting one address (a stale dump, a copy-paste): flows to it are ambiguous. */
function warnSharedAddresses(pods: readonly PodDraft[], warnings: Warnings): void {
  const owner = new Map<string, string>();
  for (const pod of pods) {
    if (pod.hostNetwork) continue;
    for (const ip of pod.ips) {
      const name = `${pod.namespace}/${pod.name}`;
      const other = owner.get(ipKey(ip));
      if (other !== undefined) warnings.add(`pods ${other} and ${name} both report address ${formatIp(ip)}; traffic to it is attributed to one of them only`);
      owner.set(ipKey(ip), name);
    }
  }
}

/** The input's nodes (Node objects and every nodeName it mentions); `node-1..N` when it names none. */
function chooseNodes(c: Collected, pods: readonly PodDraft[], templateNodes: readonly (string | null)[], count: number): string[] {
  const names = new Set<string>([...c.nodes.values()].map((n) => n.name));
  for (const name of [...pods.map((p) => p.nodeName), ...templateNodes]) if (name !== null) names.add(name);
  if (names.size === 0) return generatedNodeNames(count);
  return [...names].sort();
}

function withoutNameClashes(drafts: readonly PodDraft[]): PodDraft[] {
  const byName = new Map<string, PodDraft>();
  for (const pod of drafts) {
    const key = `${pod.namespace}/${pod.name}`;
    const other = byName.get(key);
    if (other !== undefined) {
      throw new InputError(`${pod.ctx.where}: pod ${key} generated for ${pod.ctx.source.kind} ${pod.ctx.source.name} clashes with the pod of that name from ${other.ctx.where}`);
    }
    byName.set(key, pod);
  }
  return [...byName.values()];
}

/**
 * Pods that name no node are spread round-robin over the nodes, in namespace/name order. A hostIP such
 * a pod reports belongs to a node the input does not name, so it is not pinned on the chosen one.
 */
export function place(drafts: readonly PodDraft[], nodeNames: readonly string[]): PodDraft[] {
  let next = 0;
  return drafts.map((p) => (p.nodeName !== null ? p : {
    // Field by field, as PodDraft says why.
    labels: p.labels, ports: p.ports, hostNetwork: p.hostNetwork, nodeName: nodeNames[next++ % nodeNames.length]!,
    namespace: p.namespace, name: p.name, ips: p.ips, hostIps: [], owners: p.owners, terminated: p.terminated, ctx: p.ctx,
  }));
}

/**
 * A node's addresses: its Node object's InternalIP/ExternalIP, the `status.hostIP(s)` of pods on it,
 * the addresses of hostNetwork pods on it. A node still without any gets one from `--node-cidr`.
 */
function addressNodes(c: Collected, pods: readonly PodDraft[], nodeNames: readonly string[], options: ResolvedOptions): Node[] {
  const known = new Map<string, IpAddr[][]>(nodeNames.map((n) => [n, []]));
  for (const node of c.nodes.values()) known.get(node.name)!.push([...node.ips]);
  for (const pod of pods) {
    const lists = known.get(pod.nodeName!)!;
    lists.push([...pod.hostIps]);
    if (pod.hostNetwork) lists.push([...pod.ips]);
  }
  const taken = new Set([...known.values()].flat(2).map(ipKey));
  for (const pod of pods) for (const ip of pod.ips) taken.add(ipKey(ip));
  const pool = new AddressPool(options.nodeCidr, taken, 'node CIDR (--node-cidr)');
  return nodeNames.map((name) => {
    // One list per pod on the node: an array, not spread into arguments (150k pods on a node overflowed the stack).
    const ips = mergeAddresses(known.get(name)!);
    return { name, ips: ips.length > 0 ? ips : [pool.take(`node ${name}`)] };
  });
}

/**
 * hostNetwork pods carry their node's address (their own status.podIP when given). Other pods without
 * an address get the next free one of each pod CIDR.
 */
function addressPods(drafts: readonly PodDraft[], nodes: readonly Node[], options: ResolvedOptions): Pod[] {
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const taken = new Set([...drafts.flatMap((p) => p.ips), ...nodes.flatMap((n) => n.ips)].map(ipKey));
  const pools = options.podCidrs.map((cidr) => new AddressPool(cidr, taken, cidr.family === 4 ? 'pod CIDR (--pod-cidr)' : 'pod CIDR (--pod-cidr6 or --pod-cidr)'));
  return drafts.map((d) => {
    let ips = d.ips;
    if (ips.length === 0 && d.hostNetwork) ips = firstPerFamily(nodeByName.get(d.nodeName!)!.ips);
    else if (ips.length === 0) ips = pools.map((pool) => pool.take(`pod ${d.namespace}/${d.name}`));
    return {
      namespace: d.namespace, name: d.name, labels: d.labels, ips: mergeAddresses([ips]), ports: d.ports,
      hostNetwork: d.hostNetwork, nodeName: d.nodeName, source: d.ctx.source,
    };
  });
}

function firstPerFamily(ips: readonly IpAddr[]): IpAddr[] {
  return [4, 6].flatMap((f) => ips.filter((ip) => ip.family === f).slice(0, 1));
}

/** Declared namespaces plus every namespace an object lives in; each with its metadata.name label. */
function namespacesOf(c: Collected, objects: readonly { namespace: string }[]): Namespace[] {
  const all = new Map([...c.namespaces.values()].map((ns) => [ns.name, ns] as const));
  for (const o of objects) if (!all.has(o.namespace)) all.set(o.namespace, impliedNamespace(o.namespace));
  return [...all.values()].sort(byName);
}

/**
 * Services without a cluster IP get one from `--service-cidr`, in namespace/name order, as the API
 * server allocates them; `.1` stays free (the `kubernetes` Service takes it in a real cluster).
 */
function addressServices(c: Collected, pods: readonly Pod[], nodes: readonly Node[], options: ResolvedOptions): Service[] {
  const drafts = [...c.services.values()].sort((a, b) => byNamespaceThenName(a.service, b.service));
  const given = drafts.flatMap((d) => d.service.clusterIPs);
  const taken = new Set([...given, ...pods.flatMap((p) => p.ips), ...nodes.flatMap((n) => n.ips)].map(ipKey));
  const pool = new AddressPool(options.serviceCidr, taken, 'service CIDR (--service-cidr)');
  return drafts.map(({ service: s, needsClusterIp }) => (needsClusterIp
    // Field by field, as PodDraft says why.
    ? { namespace: s.namespace, name: s.name, clusterIPs: [pool.take(`service ${s.namespace}/${s.name}`)], selector: s.selector, ports: s.ports, source: s.source }
    : s));
}
