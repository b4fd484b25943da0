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

/** Remote identities, as ids, in the order a rule names them. */
export type Remotes = Int32Array;

export class RemoteIndex {
  private readonly blockRemotes = new Map<string, Remotes>();
  private readonly selectorRemotes = new Map<string, Remotes>();
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
  ofRule(policy: NetworkPolicy, rule: PolicyRule): Remotes | null {
    if (rule.peers === null) return null;
    if (rule.peers.length === 1) return this.ofPeer(policy, rule.peers[0]!);
    const lists = rule.peers.map((peer) => this.ofPeer(policy, peer));
    const out = new Int32Array(lists.reduce((n, l) => n + l.length, 0));
    // Peers are ORed: an identity two peers select is named once, where it first appears.
    const stamp = ++this.stamp;
    let n = 0;
    for (const list of lists) {
      for (let i = 0; i < list.length; i++) {
        const slot = this.denseIndex(list[i]!);
        if (this.seen[slot] !== stamp) { this.seen[slot] = stamp; out[n++] = list[i]!; }
      }
    }
    return out.subarray(0, n);
  }

  /** The endpoint identity with this id; undefined for reserved and CIDR identities (no pod behind them). */
  endpointOf(id: number): EndpointIdentity | undefined {
    return id >= FIRST_ENDPOINT_IDENTITY && id < FIRST_CIDR_IDENTITY ? this.ids.endpointIdentities[id - FIRST_ENDPOINT_IDENTITY] : undefined;
  }

  /** Every endpoint identity, in id order (egress named ports to any peer). */
  allEndpoints(): Remotes {
    return Int32Array.from(this.ids.endpointIdentities, (e) => e.id);
  }

  /** Identities as small integers: reserved ones as they are, then endpoint, then CIDR identities. */
  private denseIndex(id: number): number {
    return id < FIRST_CIDR_IDENTITY ? id : id - FIRST_CIDR_IDENTITY + FIRST_ENDPOINT_IDENTITY + this.ids.endpointIdentities.length;
  }

  /** A peer's identities; selector peers are remembered by their selectors (and namespace) like ipBlocks by key. */
  private ofPeer(policy: NetworkPolicy, peer: Peer): Remotes {
    if (peer.kind === 'ipBlock') return this.ofBlock(peer);
    const nsKey = peer.namespaceSelector === null ? `in ${policy.namespace}` : JSON.stringify(peer.namespaceSelector);
    const key = `${nsKey} ${JSON.stringify(peer.podSelector)}`;
    let found = this.selectorRemotes.get(key);
    if (!found) this.selectorRemotes.set(key, found = this.selected(policy, peer));
    return found;
  }

  private selected(policy: NetworkPolicy, peer: Extract<Peer, { kind: 'pods' }>): Remotes {
    const namespaces = peer.namespaceSelector === null ? [policy.namespace] : this.namespacesMatching(peer.namespaceSelector);
    const out: number[] = [];
    for (const ns of namespaces) {
      for (const e of this.ids.endpointsByNamespace.get(ns) ?? []) {
        if (peer.podSelector === null || selectorMatches(peer.podSelector, e.podLabels)) out.push(e.id);
      }
    }
    const ids = Int32Array.from(out);
    return namespaces.length > 1 ? ids.sort() : ids;
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
  private ofBlock(block: IpBlockPeer): Remotes {
    const key = blockKey(block);
    let out = this.blockRemotes.get(key);
    if (out) return out;
    const family = block.cidr.family;
    const world = blockCoversPrefix(block, { family, base: 0n, prefix: 0 }) ? [worldIdentity(family)] : [];
    const inside = Int32Array.from(this.cidrsInside(block), (c) => c.id).sort();
    const members = (this.ids.endpointsByBlock.get(key) ?? []).map((e) => e.id);
    out = Int32Array.from([...world, ...inside, ...members]);
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
