/**
 * The remote identities a rule's peers select. A rule's peers name the same identities whichever pod
 * the policy selects, so this is worked out once per rule (see emissions.ts), from indexes instead of
 * scans: selector peers look only at the identities of the namespaces they can match, ipBlocks only at
 * the CIDR identities inside their `cidr` (and are remembered by blockKey: thousands of policies share
 * `0.0.0.0/0 except 10.0.0.0/8`).
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import { namespaceLabels } from '../../model/cluster-index.js';
import { selectorMatches } from '../../model/labels.js';
import { prefixMask, familyBits } from '../../model/ip.js';
import type { LabelSelector, NetworkPolicy, Peer, PolicyRule } from '../../model/types.js';
import { blockCoversPrefix, blockKey, type IpBlockPeer } from './cidr.js';
import { worldIdentity, type CidrIdentity, type EndpointIdentity, type IdentityTable } from './identities.js';
import { FIRST_CIDR_IDENTITY, FIRST_ENDPOINT_IDENTITY } from './layout.js';

export interface Remote {
  readonly id: number;
  /** The endpoint identity's facts (named ports of egress rules resolve against its pod); null otherwise. */
  readonly endpoint: EndpointIdentity | null;
}

const byId = (a: Remote, b: Remote): number => a.id - b.id;

export class RemoteIndex {
  private readonly blockRemotes = new Map<string, Remote[]>();
  private readonly namespacesBySelector = new Map<string, string[]>();
  /** CIDR identities by family, then address, then prefix length: those inside a block are one run. */
  private readonly cidrsByAddress: CidrIdentity[];
  /** Per dense identity index, the rule (stamp) that last named it; see ofRule. */
  private readonly seen: Int32Array;
  private stamp = 0;

  constructor(private readonly index: ClusterIndex, private readonly ids: IdentityTable) {
    this.cidrsByAddress = [...ids.cidrIdentities].sort((a, b) =>
      a.prefix.family - b.prefix.family || (a.prefix.base < b.prefix.base ? -1 : a.prefix.base > b.prefix.base ? 1 : a.prefix.prefix - b.prefix.prefix));
    this.seen = new Int32Array(FIRST_ENDPOINT_IDENTITY + ids.endpointIdentities.length + ids.cidrIdentities.length);
  }

  /** Identities the rule's peers select, first peer's first; null when `from`/`to` is absent (every peer). */
  ofRule(policy: NetworkPolicy, rule: PolicyRule): readonly Remote[] | null {
    if (rule.peers === null) return null;
    if (rule.peers.length === 1) return this.ofPeer(policy, rule.peers[0]!);
    // Peers are ORed: an identity two peers select is named once, where it first appears.
    const stamp = ++this.stamp;
    const out: Remote[] = [];
    for (const peer of rule.peers) {
      for (const r of this.ofPeer(policy, peer)) {
        const slot = this.denseIndex(r.id);
        if (this.seen[slot] !== stamp) { this.seen[slot] = stamp; out.push(r); }
      }
    }
    return out;
  }

  /** Identities as small integers: reserved ones as they are, then endpoint, then CIDR identities. */
  private denseIndex(id: number): number {
    return id < FIRST_CIDR_IDENTITY ? id : id - FIRST_CIDR_IDENTITY + FIRST_ENDPOINT_IDENTITY + this.ids.endpointIdentities.length;
  }

  /** Every endpoint identity, as remotes, in id order (egress named ports to any peer). */
  allEndpoints(): Remote[] {
    return this.ids.endpointIdentities.map((e) => ({ id: e.id, endpoint: e }));
  }

  private ofPeer(policy: NetworkPolicy, peer: Peer): readonly Remote[] {
    if (peer.kind === 'ipBlock') return this.ofBlock(peer);
    const namespaces = peer.namespaceSelector === null ? [policy.namespace] : this.namespacesMatching(peer.namespaceSelector);
    const out: Remote[] = [];
    for (const ns of namespaces) {
      for (const e of this.ids.endpointsByNamespace.get(ns) ?? []) {
        if (peer.podSelector === null || selectorMatches(peer.podSelector, e.podLabels)) out.push({ id: e.id, endpoint: e });
      }
    }
    return namespaces.length > 1 ? out.sort(byId) : out;
  }

  /** Namespaces (of endpoint identities) whose labels the selector matches; remembered per selector. */
  private namespacesMatching(selector: LabelSelector): string[] {
    const key = JSON.stringify(selector);
    let found = this.namespacesBySelector.get(key);
    if (!found) {
      found = [...this.ids.endpointsByNamespace.keys()].filter((ns) => selectorMatches(selector, namespaceLabels(this.index, ns)));
      this.namespacesBySelector.set(key, found);
    }
    return found;
  }

  /** World when the block is the whole family, the CIDR identities inside it, then (ipBlockMatchesPods) member pods. */
  private ofBlock(block: IpBlockPeer): readonly Remote[] {
    const key = blockKey(block);
    let out = this.blockRemotes.get(key);
    if (out) return out;
    out = [];
    const family = block.cidr.family;
    if (blockCoversPrefix(block, { family, base: 0n, prefix: 0 })) out.push({ id: worldIdentity(family), endpoint: null });
    const inside = this.cidrsInside(block).map((c) => ({ id: c.id, endpoint: null }));
    out.push(...inside.sort(byId));
    for (const e of this.ids.endpointsByBlock.get(key) ?? []) out.push({ id: e.id, endpoint: e });
    this.blockRemotes.set(key, out);
    return out;
  }

  /** CIDR identities the block covers: a binary search to the block's address range, then a scan of it. */
  private cidrsInside(block: IpBlockPeer): CidrIdentity[] {
    const { family, base, prefix } = block.cidr;
    const last = base | (prefixMask(family, familyBits(family)) ^ prefixMask(family, prefix));
    const sorted = this.cidrsByAddress;
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = sorted[mid]!.prefix;
      if (c.family < family || (c.family === family && c.base < base)) lo = mid + 1; else hi = mid;
    }
    const out: CidrIdentity[] = [];
    for (let i = lo; i < sorted.length; i++) {
      const c = sorted[i]!;
      if (c.prefix.family !== family || c.prefix.base > last) break;
      if (blockCoversPrefix(block, c.prefix)) out.push(c);
    }
    return out;
  }
}
