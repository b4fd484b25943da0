/**
 * Lookups over a Cluster that every stage needs: pods and nodes by address, namespaces by name.
 * Built once per model; the Cluster itself stays plain data.
 */
import { ipKey, type IpAddr } from './ip.js';
import type { Cluster, Labels, Namespace, NetworkPolicy, Node, Pod } from './types.js';

export interface ClusterIndex {
  readonly cluster: Cluster;
  readonly namespaceByName: ReadonlyMap<string, Namespace>;
  /** Addresses of pods that are policy endpoints (not hostNetwork). */
  readonly podByIp: ReadonlyMap<string, Pod>;
  readonly podByName: ReadonlyMap<string, Pod>;
  /** Node addresses, including those of hostNetwork pods, to the node's name. */
  readonly nodeByIp: ReadonlyMap<string, Node>;
  /**
   * Each namespace's policies, in model order (a policy selects pods of its own namespace only): the
   * evaluator looked through every policy of the cluster twice per flow, 28k at the real tier.
   */
  readonly policiesByNamespace: ReadonlyMap<string, readonly NetworkPolicy[]>;
}

export function indexCluster(cluster: Cluster): ClusterIndex {
  const namespaceByName = new Map(cluster.namespaces.map((ns) => [ns.name, ns] as const));
  const podByIp = new Map<string, Pod>();
  const podByName = new Map<string, Pod>();
  for (const pod of cluster.pods) {
    podByName.set(`${pod.namespace}/${pod.name}`, pod);
    if (pod.hostNetwork) continue;
    for (const ip of pod.ips) podByIp.set(ipKey(ip), pod);
  }
  const nodeByIp = new Map<string, Node>();
  for (const node of cluster.nodes) for (const ip of node.ips) nodeByIp.set(ipKey(ip), node);
  const policiesByNamespace = new Map<string, NetworkPolicy[]>();
  for (const policy of cluster.policies) {
    const list = policiesByNamespace.get(policy.namespace);
    if (list) list.push(policy);
    else policiesByNamespace.set(policy.namespace, [policy]);
  }
  return { cluster, namespaceByName, podByIp, podByName, nodeByIp, policiesByNamespace };
}

export function podAt(index: ClusterIndex, ip: IpAddr): Pod | undefined {
  return index.podByIp.get(ipKey(ip));
}

export function nodeAt(index: ClusterIndex, ip: IpAddr): Node | undefined {
  return index.nodeByIp.get(ipKey(ip));
}

export function namespaceLabels(index: ClusterIndex, namespace: string): Labels {
  return index.namespaceByName.get(namespace)?.labels ?? { 'kubernetes.io/metadata.name': namespace };
}
