/**
 * A slow, direct statement of what the policy maps hold, for differential tests of the compiler's
 * indexed, per-rule, template-sharing build (src/compile/ebpf/policy-map.ts): per endpoint and
 * direction, every rule of every isolating policy, peers matched by scanning every identity, keys
 * deduplicated by text, origins appended as rules produce keys. This is the compiler as it was before
 * it was made fast; keep it simple rather than quick.
 */
import { allocateIdentities, worldIdentity, type IdentityTable } from '../../../src/compile/ebpf/identities.js';
import { blockCoversPrefix, blockKey } from '../../../src/compile/ebpf/cidr.js';
import { ReservedIdentity } from '../../../src/compile/ebpf/layout.js';
import { ANY_PORT, protocolOnly, rangeToPortKeys, singlePort, type PortKey } from '../../../src/compile/ebpf/ports.js';
import type { EntryOrigin, PolicyEntry } from '../../../src/compile/ebpf/program.js';
import { namespaceLabels, type ClusterIndex } from '../../../src/model/cluster-index.js';
import { policiesIsolating, type EvalOptions } from '../../../src/model/evaluate.js';
import { selectorMatches } from '../../../src/model/labels.js';
import { L4_PROTOCOL_NUMBER, qualifiedName, type Direction, type NetworkPolicy, type Peer, type Pod, type PolicyPort } from '../../../src/model/types.js';

type Remote = { readonly id: number; readonly pod: Pod | null };

export interface ReferenceMaps {
  readonly entries: PolicyEntry[];
  /** Per endpoint: [ingress isolated, egress isolated, entries]. */
  readonly endpoints: [boolean, boolean, number][];
}

export function referencePolicyMaps(index: ClusterIndex, options: EvalOptions): ReferenceMaps {
  const ids = allocateIdentities(index, options);
  const entries: PolicyEntry[] = [];
  const endpoints: [boolean, boolean, number][] = [];
  index.cluster.pods.filter((p) => !p.hostNetwork && p.ips.length > 0).forEach((pod, endpoint) => {
    const isolated = (['ingress', 'egress'] as const).map((direction) => {
      const selecting = policiesIsolating(index, pod, direction);
      if (selecting.length === 0) return false;
      for (const e of mapEntries(index, ids, pod, direction, selecting, options)) {
        entries.push({ index: entries.length, endpoint, direction, deny: false, ...e });
      }
      return true;
    });
    endpoints.push([isolated[0]!, isolated[1]!, entries.filter((e) => e.endpoint === endpoint).length]);
  });
  return { entries, endpoints };
}

type Draft = Omit<PolicyEntry, 'index' | 'endpoint' | 'direction' | 'deny'> & { origins: EntryOrigin[] };

function mapEntries(
  index: ClusterIndex, ids: IdentityTable, pod: Pod, direction: Direction, selecting: NetworkPolicy[], options: EvalOptions,
): Draft[] {
  const byKey = new Map<string, Draft>();
  const add = (identity: number, pk: PortKey, origin: EntryOrigin): void => {
    const key = `${identity}/${pk.protocol}/${pk.port}/${pk.prefixLength}`;
    const found = byKey.get(key);
    if (found) found.origins.push(origin);
    else byKey.set(key, { identity, protocol: pk.protocol, port: pk.port, prefixLength: pk.prefixLength, origins: [origin] });
  };
  for (const policy of selecting) {
    (direction === 'ingress' ? policy.ingress : policy.egress).forEach((rule, i) => {
      const origin = { policy: qualifiedName(policy), direction, rule: i };
      const remotes = rule.peers === null ? null : dedupe(rule.peers.flatMap((peer) => peerRemotes(index, ids, policy, peer)));
      for (const port of rule.ports ?? [null]) {
        for (const [identity, pk] of portPairs(ids, port, remotes, pod, direction)) add(identity, pk, origin);
      }
    });
  }
  if (options.allowNodeTraffic) add(ReservedIdentity.HOST, ANY_PORT, { policy: 'allow-localhost', direction, rule: -1 });
  return [...byKey.values()];
}

function dedupe(remotes: Remote[]): Remote[] {
  const out = new Map<number, Remote>();
  for (const r of remotes) if (!out.has(r.id)) out.set(r.id, r);
  return [...out.values()];
}

/** The (identity, port key) pairs one port of a rule adds, in the order the compiler adds them. */
function portPairs(ids: IdentityTable, port: PolicyPort | null, remotes: Remote[] | null, local: Pod, direction: Direction): [number, PortKey][] {
  const forRemotes = (pk: PortKey): [number, PortKey][] => (remotes === null ? [[0, pk]] : remotes.map((r) => [r.id, pk]));
  if (port === null) return forRemotes(ANY_PORT);
  const proto = L4_PROTOCOL_NUMBER[port.protocol];
  if (typeof port.port !== 'string') {
    const keys = port.port === null ? [protocolOnly(proto)] : port.endPort === null ? [singlePort(proto, port.port)] : rangeToPortKeys(proto, port.port, port.endPort);
    return keys.flatMap(forRemotes);
  }
  const name = port.port;
  const numbers = (pod: Pod): number[] => [...new Set(pod.ports.filter((cp) => cp.name === name && cp.protocol === port.protocol).map((cp) => cp.port))];
  if (direction === 'ingress') return numbers(local).flatMap((n) => forRemotes(singlePort(proto, n)));
  const targets = remotes ?? ids.endpointIdentities.map((e) => ({ id: e.id, pod: e.pod }));
  return targets.flatMap((r) => (r.pod ? numbers(r.pod).map((n): [number, PortKey] => [r.id, singlePort(proto, n)]) : []));
}

function peerRemotes(index: ClusterIndex, ids: IdentityTable, policy: NetworkPolicy, peer: Peer): Remote[] {
  if (peer.kind === 'ipBlock') {
    const family = peer.cidr.family;
    const world = blockCoversPrefix(peer, { family, base: 0n, prefix: 0 }) ? [{ id: worldIdentity(family), pod: null }] : [];
    const cidrs = ids.cidrIdentities.filter((c) => blockCoversPrefix(peer, c.prefix)).map((c) => ({ id: c.id, pod: null }));
    const key = blockKey(peer);
    return [...world, ...cidrs, ...ids.endpointIdentities.filter((e) => e.blocks.has(key)).map((e) => ({ id: e.id, pod: e.pod }))];
  }
  return ids.endpointIdentities.filter((e) => {
    const nsOk = peer.namespaceSelector === null
      ? e.namespace === policy.namespace
      : selectorMatches(peer.namespaceSelector, namespaceLabels(index, e.namespace));
    return nsOk && (peer.podSelector === null || selectorMatches(peer.podSelector, e.podLabels));
  }).map((e) => ({ id: e.id, pod: e.pod }));
}
