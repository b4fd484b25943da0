/**
 * Per-endpoint policy map entries: for every rule of every policy that isolates the endpoint in a
 * direction, the cross product of the identities its peers select and the port keys its ports name.
 * Keys are deduplicated; the first rule in model order that produced a key is named first, so the
 * entry that decides can be traced to a rule.
 *
 * Precedence needs no compile-time work while every entry allows: the matcher's fixed probe sequence
 * picks the most specific match (see PROBE_SEQUENCE), and any match allows.
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import { namespaceLabels } from '../../model/cluster-index.js';
import { policiesIsolating, type EvalOptions, type RuleRef } from '../../model/evaluate.js';
import { selectorMatches } from '../../model/labels.js';
import { L4_PROTOCOL_NUMBER, qualifiedName, type Direction, type NetworkPolicy, type Peer, type Pod, type PolicyPort, type PolicyRule } from '../../model/types.js';
import { blockCoversPrefix, blockKey, type IpBlockPeer } from './cidr.js';
import { worldIdentity, type EndpointIdentity, type IdentityTable } from './identities.js';
import { ReservedIdentity } from './layout.js';
import { ANY_PORT, protocolOnly, rangeToPortKeys, singlePort, type PortKey } from './ports.js';
import type { EntryOrigin } from './program.js';

export interface EntryDraft {
  identity: number;
  protocol: number;
  port: number;
  prefixLength: number;
  origins: EntryOrigin[];
}

/** null: any identity (key identity 0). */
type Remotes = readonly EndpointIdentityOrOther[] | null;
type EndpointIdentityOrOther = { readonly id: number; readonly endpoint: EndpointIdentity | null };

export function endpointEntries(
  index: ClusterIndex, ids: IdentityTable, pod: Pod, direction: Direction, options: EvalOptions,
): { isolated: boolean; entries: EntryDraft[] } {
  const selecting = policiesIsolating(index, pod, direction);
  if (selecting.length === 0) return { isolated: false, entries: [] };
  const byKey = new Map<string, EntryDraft>();
  const add = (identity: number, pk: PortKey, origin: EntryOrigin): void => {
    const key = `${identity}/${pk.protocol}/${pk.port}/${pk.prefixLength}`;
    const found = byKey.get(key);
    if (found) found.origins.push(origin);
    else byKey.set(key, { identity, protocol: pk.protocol, port: pk.port, prefixLength: pk.prefixLength, origins: [origin] });
  };
  for (const policy of selecting) {
    const rules = direction === 'ingress' ? policy.ingress : policy.egress;
    rules.forEach((rule, i) => {
      const origin: RuleRef = { policy: qualifiedName(policy), direction, rule: i };
      addRule(index, ids, policy, rule, pod, direction, (id, pk) => add(id, pk, origin));
    });
  }
  // Cilium's allow-localhost: the host identity may always reach local endpoints; netsieve applies it
  // both ways to mirror EvalOptions.allowNodeTraffic (the matcher maps the own node's addresses to host).
  if (options.allowNodeTraffic) add(ReservedIdentity.HOST, ANY_PORT, { policy: 'allow-localhost', direction, rule: -1 });
  return { isolated: true, entries: [...byKey.values()] };
}

function addRule(
  index: ClusterIndex, ids: IdentityTable, policy: NetworkPolicy, rule: PolicyRule, local: Pod, direction: Direction,
  add: (identity: number, pk: PortKey) => void,
): void {
  const remotes = ruleRemotes(index, ids, policy, rule);
  const ports = rule.ports ?? [null];
  for (const port of ports) {
    if (port !== null && typeof port.port === 'string') {
      addNamedPort(ids, port, remotes, local, direction, add);
      continue;
    }
    const keys = port === null ? [ANY_PORT] : numericPortKeys(port);
    for (const pk of keys) {
      if (remotes === null) add(ReservedIdentity.ANY, pk);
      else for (const r of remotes) add(r.id, pk);
    }
  }
}

function numericPortKeys(port: PolicyPort): PortKey[] {
  const proto = L4_PROTOCOL_NUMBER[port.protocol];
  if (port.port === null) return [protocolOnly(proto)];
  const lo = port.port as number;
  return port.endPort === null ? [singlePort(proto, lo)] : rangeToPortKeys(proto, lo, port.endPort);
}

/**
 * "A named port resolves against the destination pod": on ingress that is the local endpoint; on egress
 * it is each remote endpoint identity (which carries its named ports, see identities.ts). A name never
 * matches a destination that is no pod, so CIDR and world identities get nothing.
 */
function addNamedPort(
  ids: IdentityTable, port: PolicyPort, remotes: Remotes, local: Pod, direction: Direction,
  add: (identity: number, pk: PortKey) => void,
): void {
  const proto = L4_PROTOCOL_NUMBER[port.protocol];
  const resolve = (pod: Pod): number[] =>
    [...new Set(pod.ports.filter((cp) => cp.name === port.port && cp.protocol === port.protocol).map((cp) => cp.port))];
  if (direction === 'ingress') {
    for (const n of resolve(local)) {
      if (remotes === null) add(ReservedIdentity.ANY, singlePort(proto, n));
      else for (const r of remotes) add(r.id, singlePort(proto, n));
    }
    return;
  }
  const targets = remotes === null ? ids.endpointIdentities.map((e) => ({ id: e.id, endpoint: e })) : remotes;
  for (const r of targets) {
    if (r.endpoint) for (const n of resolve(r.endpoint.pod)) add(r.id, singlePort(proto, n));
  }
}

/** Identities a rule's peers select; null when `from`/`to` is absent (every peer). */
function ruleRemotes(index: ClusterIndex, ids: IdentityTable, policy: NetworkPolicy, rule: PolicyRule): Remotes {
  if (rule.peers === null) return null;
  const out = new Map<number, EndpointIdentityOrOther>();
  for (const peer of rule.peers) for (const r of peerRemotes(index, ids, policy, peer)) out.set(r.id, r);
  return [...out.values()];
}

function peerRemotes(index: ClusterIndex, ids: IdentityTable, policy: NetworkPolicy, peer: Peer): EndpointIdentityOrOther[] {
  if (peer.kind === 'ipBlock') return blockRemotes(ids, peer);
  return ids.endpointIdentities.filter((e) => {
    const nsOk = peer.namespaceSelector === null
      ? e.namespace === policy.namespace
      : selectorMatches(peer.namespaceSelector, namespaceLabels(index, e.namespace));
    return nsOk && (peer.podSelector === null || selectorMatches(peer.podSelector, e.podLabels));
  }).map((e) => ({ id: e.id, endpoint: e }));
}

/** CIDR identities inside the block, world when it is the whole family, and (ipBlockMatchesPods) member pods. */
function blockRemotes(ids: IdentityTable, block: IpBlockPeer): EndpointIdentityOrOther[] {
  const out: EndpointIdentityOrOther[] = [];
  const family = block.cidr.family;
  if (blockCoversPrefix(block, { family, base: 0n, prefix: 0 })) out.push({ id: worldIdentity(family), endpoint: null });
  for (const c of ids.cidrIdentities) if (blockCoversPrefix(block, c.prefix)) out.push({ id: c.id, endpoint: null });
  const key = blockKey(block);
  for (const e of ids.endpointIdentities) if (e.blocks.has(key)) out.push({ id: e.id, endpoint: e });
  return out;
}
