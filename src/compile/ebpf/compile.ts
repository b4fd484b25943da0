/**
 * compileEbpf: the cluster model lowered to what Cilium's datapath looks up per packet: security
 * identities, an ipcache (LPM: address -> identity) and per-endpoint policy maps of fixed-width keys.
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions } from '../../model/evaluate.js';
import { ipKey } from '../../model/ip.js';
import { qualifiedName, type Pod } from '../../model/types.js';
import { withEntryObjects } from './columns.js';
import { allocateIdentities } from './identities.js';
import { buildIpcache } from './ipcache.js';
import { POLICY_MAP_MAX } from './layout.js';
import { PolicyMapBuilder } from './policy-map.js';
import { PROBE_SEQUENCE, type EbpfProgram, type EndpointInfo } from './program.js';

export function compileEbpf(index: ClusterIndex, options: EvalOptions = DEFAULT_EVAL_OPTIONS): EbpfProgram {
  const ids = allocateIdentities(index, options);
  const nodes = index.cluster.nodes.map((n) => n.name);
  const nodeIndex = new Map(nodes.map((n, i) => [n, i] as const));
  const pods = index.cluster.pods.filter((p) => !p.hostNetwork && p.ips.length > 0);
  const endpointOfAddress = new Map<string, number>();
  pods.forEach((pod, i) => {
    for (const ip of pod.ips) if (index.podByIp.get(ipKey(ip)) === pod) endpointOfAddress.set(ipKey(ip), i);
  });
  const maps = new PolicyMapBuilder(index, ids, options, pods);
  const warnings: string[] = [];
  const endpoints: EndpointInfo[] = pods.map((pod, i) => {
    const ingress = maps.mapOf(i, 'ingress');
    const egress = maps.mapOf(i, 'egress');
    const count = ingress.count + egress.count;
    if (count > POLICY_MAP_MAX) warnings.push(overflowWarning(pod, count));
    return {
      index: i, pod: qualifiedName(pod), node: pod.nodeName === null ? -1 : nodeIndex.get(pod.nodeName) ?? -1,
      ingressIsolated: ingress.isolated, egressIsolated: egress.isolated,
      identities: [...new Set(pod.ips.map((ip) => ids.byPodAddress.get(ipKey(ip))!))], entries: count,
    };
  });
  const ipcache = buildIpcache(index, ids, nodeIndex, endpointOfAddress);
  return withEntryObjects({
    options, probeSequence: PROBE_SEQUENCE, identities: ids.all, ipcache, nodes, endpoints, policyMap: maps.policyMap, warnings,
  });
}

function overflowWarning(pod: Pod, count: number): string {
  return `endpoint ${qualifiedName(pod)} needs ${count} policy map entries, more than Cilium's default ` +
    `bpf-policy-map-max of ${POLICY_MAP_MAX}: Cilium would fail to regenerate this endpoint ("policy map full") ` +
    'and keep enforcing its previous policy until the map size is raised or the policy shrinks';
}
