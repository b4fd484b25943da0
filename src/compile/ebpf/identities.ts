/**
 * Security identities, as Cilium allocates them: every endpoint whose identity-relevant labels are the
 * same shares one numeric identity (pkg/identity, "Identity-Relevant Labels"); addresses that are no
 * endpoint's get the CIDR identity of the longest policy prefix holding them, or world.
 *
 * Two netsieve-specific splits keep the model exact where Cilium's own semantics differ from the
 * reference's (each shows up as a `netsieve:` label so that `compile` output says why):
 * - ipBlockMatchesPods (the e2e behaviour, on by default): an ipBlock also matches pod addresses inside
 *   it. Each pod ADDRESS is keyed by the set of policy ipBlocks that contain it, so pods whose addresses
 *   fall in different sets get different identities. Per address, so per family.
 * - Named ports of egress rules resolve against the destination pod: pods that define a name used by an
 *   egress rule differently get different identities (Cilium instead merges the numbers of all pods).
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import type { EvalOptions } from '../../model/evaluate.js';
import { cidrContains, formatCidr, ipKey, prefixMask, type Cidr, type IpAddr } from '../../model/ip.js';
import { namespaceLabels } from '../../model/cluster-index.js';
import { qualifiedName, type Labels, type Pod } from '../../model/types.js';
import { blockKey, blockMatchesAddress, cidrKey, subtractPrefixes, type IpBlockPeer } from './cidr.js';
import { FIRST_CIDR_IDENTITY, FIRST_ENDPOINT_IDENTITY, ReservedIdentity } from './layout.js';
import type { SecurityIdentity } from './program.js';

/** What the policy compiler needs to know about an endpoint identity: one representative's facts. */
export interface EndpointIdentity {
  readonly id: number;
  readonly namespace: string;
  readonly podLabels: Labels;
  readonly pod: Pod;
  /** blockKey of every ipBlock containing the addresses of this identity (ipBlockMatchesPods only). */
  readonly blocks: ReadonlySet<string>;
}

export interface CidrIdentity {
  readonly id: number;
  readonly prefix: Cidr;
}

export interface IdentityTable {
  readonly all: SecurityIdentity[];
  readonly endpointIdentities: EndpointIdentity[];
  readonly cidrIdentities: CidrIdentity[];
  /** ipKey of a pod address -> identity. */
  readonly byPodAddress: Map<string, number>;
  /** Every distinct ipBlock of every policy, by blockKey. */
  readonly blocks: Map<string, IpBlockPeer>;
  /** Endpoint identities of each namespace, by increasing id (selector peers look only here). */
  readonly endpointsByNamespace: Map<string, EndpointIdentity[]>;
  /** Endpoint identities whose addresses each ipBlock holds (ipBlockMatchesPods), by increasing id. */
  readonly endpointsByBlock: Map<string, EndpointIdentity[]>;
}

export function worldIdentity(family: 4 | 6): number {
  return family === 4 ? ReservedIdentity.WORLD_IPV4 : ReservedIdentity.WORLD_IPV6;
}

const RESERVED: SecurityIdentity[] = [
  { id: ReservedIdentity.HOST, kind: 'reserved', labels: ['reserved:host'], pods: [] },
  { id: ReservedIdentity.WORLD_IPV4, kind: 'reserved', labels: ['reserved:world-ipv4'], pods: [] },
  { id: ReservedIdentity.WORLD_IPV6, kind: 'reserved', labels: ['reserved:world-ipv6'], pods: [] },
];

export function allocateIdentities(index: ClusterIndex, options: EvalOptions): IdentityTable {
  const blocks = collectBlocks(index);
  const endpoints = allocateEndpointIdentities(index, options, blocks);
  const all: SecurityIdentity[] = [...RESERVED, ...endpoints.records];
  const cidrIdentities = allocateCidrIdentities(blocks);
  for (const c of cidrIdentities) {
    const world = c.prefix.family === 4 ? 'reserved:world-ipv4' : 'reserved:world-ipv6';
    all.push({ id: c.id, kind: 'cidr', labels: [`cidr:${formatCidr(c.prefix)}`, world], pods: [] });
  }
  return {
    all, endpointIdentities: endpoints.identities, cidrIdentities, byPodAddress: endpoints.byPodAddress, blocks,
    endpointsByNamespace: groupIdentities(endpoints.identities, (e) => [e.namespace]),
    endpointsByBlock: groupIdentities(endpoints.identities, (e) => e.blocks),
  };
}

/** Identities (given in id order) under each of their keys, each list in id order. */
function groupIdentities(identities: readonly EndpointIdentity[], keys: (e: EndpointIdentity) => Iterable<string>): Map<string, EndpointIdentity[]> {
  const out = new Map<string, EndpointIdentity[]>();
  for (const e of identities) {
    for (const k of keys(e)) {
      const list = out.get(k);
      if (list) list.push(e); else out.set(k, [e]);
    }
  }
  return out;
}

/** One identity per distinct label set (with the netsieve splits), numbered in pod order from 256. */
function allocateEndpointIdentities(index: ClusterIndex, options: EvalOptions, blocks: Map<string, IpBlockPeer>) {
  const namedEgress = collectEgressNamedPorts(index);
  const holding = new BlocksByPrefix(blocks);
  const byKey = new Map<string, { identity: EndpointIdentity; pods: string[]; podSet: Set<string>; labels: string[] }>();
  const byPodAddress = new Map<string, number>();
  for (const pod of index.cluster.pods) {
    if (pod.hostNetwork) continue;
    for (const ip of pod.ips) {
      const member = options.ipBlockMatchesPods ? holding.containing(ip) : [];
      const labels = identityLabels(index, pod, member, namedEgress);
      const key = labels.join('\n');
      let slot = byKey.get(key);
      if (!slot) {
        const identity = { id: FIRST_ENDPOINT_IDENTITY + byKey.size, namespace: pod.namespace, podLabels: pod.labels, pod, blocks: new Set(member) };
        slot = { identity, pods: [], podSet: new Set(), labels };
        byKey.set(key, slot);
      }
      const name = qualifiedName(pod);
      if (!slot.podSet.has(name)) { slot.podSet.add(name); slot.pods.push(name); }
      byPodAddress.set(ipKey(ip), slot.identity.id);
    }
  }
  const slots = [...byKey.values()];
  const records: SecurityIdentity[] = slots.map((s) => ({ id: s.identity.id, kind: 'endpoint', labels: s.labels, pods: s.pods }));
  return { identities: slots.map((s) => s.identity), records, byPodAddress };
}

/** Cilium's label sources: `k8s:` pod labels, namespace labels under io.cilium.k8s.namespace.labels, the namespace. */
function identityLabels(index: ClusterIndex, pod: Pod, blocks: readonly string[], namedEgress: ReadonlySet<string>): string[] {
  const nsLabels = namespaceLabels(index, pod.namespace);
  const labels = Object.keys(pod.labels).sort().map((k) => `k8s:${k}=${pod.labels[k]}`);
  for (const k of Object.keys(nsLabels).sort()) labels.push(`k8s:io.cilium.k8s.namespace.labels.${k}=${nsLabels[k]}`);
  labels.push(`k8s:io.kubernetes.pod.namespace=${pod.namespace}`);
  for (const b of blocks) labels.push(`netsieve:ipblock=${b}`);
  const named = pod.ports.filter((p) => p.name !== null && namedEgress.has(`${p.name}/${p.protocol}`))
    .map((p) => `netsieve:named-port=${p.name}/${p.protocol}=${p.port}`);
  labels.push(...[...new Set(named)].sort());
  return labels;
}

/**
 * The blocks holding an address, found by looking the address up once per distinct `cidr` length
 * instead of testing every block (150k pods x thousands of blocks at the stress tier).
 */
class BlocksByPrefix {
  private readonly byLength = new Map<string, { family: 4 | 6; prefix: number; mask: bigint; byBase: Map<bigint, [string, IpBlockPeer][]> }>();

  constructor(blocks: ReadonlyMap<string, IpBlockPeer>) {
    for (const [key, block] of blocks) {
      const { family, prefix, base } = block.cidr;
      const lengthKey = `${family}/${prefix}`;
      let group = this.byLength.get(lengthKey);
      if (!group) this.byLength.set(lengthKey, group = { family, prefix, mask: prefixMask(family, prefix), byBase: new Map() });
      const list = group.byBase.get(base);
      if (list) list.push([key, block]); else group.byBase.set(base, [[key, block]]);
    }
  }

  /** blockKey of every block holding `ip`, sorted as the blocks map is. */
  containing(ip: IpAddr): string[] {
    const keys: string[] = [];
    for (const group of this.byLength.values()) {
      if (group.family !== ip.family) continue;
      for (const [key, block] of group.byBase.get(ip.value & group.mask) ?? []) if (blockMatchesAddress(block, ip)) keys.push(key);
    }
    return keys.sort();
  }
}

function collectBlocks(index: ClusterIndex): Map<string, IpBlockPeer> {
  const blocks = new Map<string, IpBlockPeer>();
  for (const policy of index.cluster.policies) {
    for (const rule of [...policy.ingress, ...policy.egress]) {
      for (const peer of rule.peers ?? []) if (peer.kind === 'ipBlock') blocks.set(blockKey(peer), peer);
    }
  }
  return new Map([...blocks].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

function collectEgressNamedPorts(index: ClusterIndex): Set<string> {
  const names = new Set<string>();
  for (const policy of index.cluster.policies) {
    for (const rule of policy.egress) {
      for (const port of rule.ports ?? []) if (typeof port.port === 'string') names.add(`${port.port}/${port.protocol}`);
    }
  }
  return names;
}

/** One identity per distinct prefix of every block; /0 is world itself (Cilium maps 0.0.0.0/0 to world). */
function allocateCidrIdentities(blocks: Map<string, IpBlockPeer>): CidrIdentity[] {
  const prefixes = new Map<string, Cidr>();
  for (const block of blocks.values()) {
    for (const p of subtractPrefixes(block.cidr, block.except)) if (p.prefix > 0) prefixes.set(cidrKey(p), p);
  }
  return [...prefixes.keys()].sort().map((k, i) => ({ id: FIRST_CIDR_IDENTITY + i, prefix: prefixes.get(k)! }));
}

/** The identity the ipcache gives an address that is no pod's: its longest CIDR identity, else world. */
export function externalIdentity(table: IdentityTable, ip: IpAddr): number {
  let best: CidrIdentity | null = null;
  for (const c of table.cidrIdentities) {
    if (cidrContains(c.prefix, ip) && (!best || c.prefix.prefix > best.prefix.prefix)) best = c;
  }
  return best ? best.id : worldIdentity(ip.family);
}
