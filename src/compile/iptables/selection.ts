/**
 * Who selects whom, worked out once per compilation instead of once per (pod x policy) or
 * (peer x pod): policies grouped by namespace (a policy only ever selects pods of its own namespace),
 * endpoints grouped by namespace (a peer only ever names pods of the namespaces it selects), and each
 * namespace selector evaluated once per distinct selector. Answers are exactly those of the model's
 * `policiesIsolating` and the NetworkPolicyPeer rule, in model order.
 */
import { ipKey, type Cidr, type Family } from '../../model/ip.js';
import { namespaceLabels, type ClusterIndex } from '../../model/cluster-index.js';
import { selectorMatches } from '../../model/labels.js';
import type { Direction, LabelSelector, NetworkPolicy, Peer, Pod } from '../../model/types.js';
import type { SetEntry } from './ir.js';
import { hostCidr, podAddress } from './sets.js';

/** Policies isolating each pod, per direction; both families ask, so each pod is answered once. */
export class IsolationIndex {
  private readonly byNamespace: ClusterIndex['policiesByNamespace'];
  private readonly memo = new Map<Pod, { readonly ingress: readonly NetworkPolicy[]; readonly egress: readonly NetworkPolicy[] }>();

  constructor(index: ClusterIndex) {
    this.byNamespace = index.policiesByNamespace;
  }

  /** "Policies of the pod's namespace that select it and carry `direction` in their effective policyTypes". */
  isolating(pod: Pod, direction: Direction): readonly NetworkPolicy[] {
    let known = this.memo.get(pod);
    if (known === undefined) {
      known = { ingress: this.select(pod, 'ingress'), egress: this.select(pod, 'egress') };
      this.memo.set(pod, known);
    }
    return known[direction];
  }

  private select(pod: Pod, direction: Direction): NetworkPolicy[] {
    // hostNetwork pods are node traffic, never policy endpoints.
    if (pod.hostNetwork) return [];
    const candidates = this.byNamespace.get(pod.namespace) ?? [];
    return candidates.filter((p) => p.policyTypes[direction] && selectorMatches(p.podSelector, pod.labels));
  }
}

/**
 * The policy endpoints of one family (pods that own an address of that family, not hostNetwork), in
 * model order, addressed by position. Each endpoint's host route and set member is made once and
 * shared by every rule and set that names the pod (the IR is read-only).
 */
export class EndpointIndex {
  readonly pods: readonly Pod[];
  readonly cidrs: readonly Cidr[];
  private readonly members: readonly SetEntry[];
  private readonly byNamespace = new Map<string, number[]>();
  private readonly namespacesBySelector = new Map<string, readonly string[]>();
  private readonly membersBySelection = new Map<string, readonly SetEntry[]>();

  constructor(private readonly index: ClusterIndex, family: Family) {
    const pods: Pod[] = [];
    const cidrs: Cidr[] = [];
    for (const pod of index.cluster.pods) {
      const ip = podAddress(pod, family);
      if (ip === undefined || index.podByIp.get(ipKey(ip)) !== pod) continue;
      const positions = this.byNamespace.get(pod.namespace);
      if (positions) positions.push(pods.length);
      else this.byNamespace.set(pod.namespace, [pods.length]);
      pods.push(pod);
      cidrs.push(hostCidr(ip));
    }
    this.pods = pods;
    this.cidrs = cidrs;
    this.members = cidrs.map((cidr): SetEntry => ({ kind: 'net', cidr, nomatch: false }));
  }

  /**
   * hash:ip members for endpoint positions in ascending order. No address repeats (which `ipset
   * restore` would refuse): an endpoint is the pod that `podByIp` names for its address, so two
   * endpoints never share one.
   */
  hostMembers(positions: readonly number[]): SetEntry[] {
    return positions.map((p) => this.members[p]!);
  }

  /**
   * hash:ip members for the pods that any of `peers` selects (`peersKey`: their canonical text). Peers
   * that all carry a namespaceSelector select the same pods whichever namespace the policy is in, so
   * their member list is computed once and shared by the sets of every policy that names them (each
   * still its own set, named after its policy's namespace). On the stress tier the same peers recur in
   * thousands of namespaces.
   */
  peerMembers(policyNamespace: string, peers: readonly Peer[], peersKey: string): readonly SetEntry[] {
    const anyNamespace = peers.every((peer) => peer.kind !== 'pods' || peer.namespaceSelector !== null);
    const key = anyNamespace ? `*|${peersKey}` : `${policyNamespace}|${peersKey}`;
    let members = this.membersBySelection.get(key);
    if (members === undefined) {
      members = this.hostMembers(this.selectedBy(policyNamespace, peers));
      this.membersBySelection.set(key, members);
    }
    return members;
  }

  /** Positions of the endpoints that any of `peers` (pod peers of a policy in `policyNamespace`) selects, ascending. */
  selectedBy(policyNamespace: string, peers: readonly Peer[]): number[] {
    const out: number[] = [];
    for (const peer of peers) {
      if (peer.kind !== 'pods') continue;
      // The NetworkPolicyPeer rule: namespaceSelector null means the policy's own namespace.
      const namespaces = peer.namespaceSelector === null ? [policyNamespace] : this.namespacesMatching(peer.namespaceSelector);
      for (const ns of namespaces) {
        for (const p of this.byNamespace.get(ns) ?? []) {
          if (peer.podSelector === null || selectorMatches(peer.podSelector, this.pods[p]!.labels)) out.push(p);
        }
      }
    }
    return ascendingUnique(out);
  }

  /** Namespaces holding endpoints whose labels the selector matches, memoized per distinct selector. */
  private namespacesMatching(selector: LabelSelector): readonly string[] {
    const key = JSON.stringify(selector);
    let namespaces = this.namespacesBySelector.get(key);
    if (namespaces === undefined) {
      namespaces = [...this.byNamespace.keys()].filter((ns) => selectorMatches(selector, namespaceLabels(this.index, ns)));
      this.namespacesBySelector.set(key, namespaces);
    }
    return namespaces;
  }
}

/** Sorts and deduplicates in place unless already strictly ascending (the common case: one peer). */
function ascendingUnique(values: number[]): number[] {
  let ascending = true;
  for (let i = 1; i < values.length && ascending; i++) ascending = values[i - 1]! < values[i]!;
  if (ascending) return values;
  values.sort((a, b) => a - b);
  let kept = 0;
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[kept - 1]) values[kept++] = values[i]!;
  values.length = kept;
  return values;
}
