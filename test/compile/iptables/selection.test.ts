/**
 * The compiler's selection indexes against the model's own rules: IsolationIndex must answer exactly
 * `policiesIsolating`, EndpointIndex exactly the NetworkPolicyPeer rule (`peerMatches`) over the
 * family's endpoints in model order, on random clusters and on pods listed out of namespace order.
 */
import { describe, expect, it } from 'vitest';
import { EndpointIndex, IsolationIndex } from '../../../src/compile/iptables/selection.js';
import { compileIptables } from '../../../src/compile/iptables/index.js';
import { packSet } from '../../../src/match/iptables-sets.js';
import { ipKey, type Family } from '../../../src/model/ip.js';
import { indexCluster, type ClusterIndex } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, peerMatches, policiesIsolating } from '../../../src/model/evaluate.js';
import type { Cluster, Peer, Pod } from '../../../src/model/types.js';
import { cluster, netpol, ns, pod } from '../../support/builders.js';
import { randomScenario } from '../../support/random-cluster.js';

/** The endpoints of a family as the compiler defined them before the index: pods owning the address. */
function endpointsByFilter(index: ClusterIndex, family: Family): Pod[] {
  return index.cluster.pods.filter((p) => {
    const ip = p.ips.find((a) => a.family === family);
    return ip !== undefined && index.podByIp.get(ipKey(ip)) === p;
  });
}

/** Positions of the endpoints any pod peer selects, by brute force over every endpoint. */
function selectedByFilter(index: ClusterIndex, family: Family, policyIndex: number, peers: readonly Peer[]): number[] {
  const policy = index.cluster.policies[policyIndex]!;
  const out: number[] = [];
  endpointsByFilter(index, family).forEach((p, position) => {
    const ip = p.ips.find((a) => a.family === family)!;
    if (peers.some((peer) => peer.kind === 'pods' && peerMatches(index, policy, peer, ip, p, DEFAULT_EVAL_OPTIONS))) out.push(position);
  });
  return out;
}

function checkAgainstModel(c: Cluster): number {
  const index = indexCluster(c);
  const isolation = new IsolationIndex(index);
  let checked = 0;
  for (const p of c.pods) {
    for (const direction of ['ingress', 'egress'] as const) {
      expect(isolation.isolating(p, direction)).toEqual(policiesIsolating(index, p, direction));
    }
  }
  for (const family of [4, 6] as const) {
    const endpoints = new EndpointIndex(index, family);
    expect(endpoints.pods).toEqual(endpointsByFilter(index, family));
    c.policies.forEach((policy, i) => {
      for (const rule of [...policy.ingress, ...policy.egress]) {
        const peers = (rule.peers ?? []).filter((peer) => peer.kind === 'pods');
        if (peers.length === 0) continue;
        expect(endpoints.selectedBy(policy.namespace, peers)).toEqual(selectedByFilter(index, family, i, peers));
        checked++;
      }
    });
  }
  return checked;
}

/** Two namespaces whose pods are listed alternately, so a peer's matches are not grouped by namespace. */
function interleavedCluster(): Cluster {
  const built = cluster({
    namespaces: [ns('a', { team: 'x' }), ns('b', { team: 'x' }), ns('c', { team: 'y' })],
    pods: [
      pod('a/p1', { labels: { app: 'web' }, ips: ['10.0.1.1'] }), pod('a/p2', { labels: { app: 'db' }, ips: ['10.0.1.2'] }),
      pod('b/p1', { labels: { app: 'web' }, ips: ['10.0.2.1'] }), pod('b/p2', { labels: { app: 'db' }, ips: ['10.0.2.2'] }),
      pod('c/p1', { labels: { app: 'web' }, ips: ['10.0.3.1'] }),
    ],
    policies: [
      netpol('a/team-x-web', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { app: 'web' } } }] }] }),
      netpol('b/db-and-team-y', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }, { podSelector: { matchLabels: { app: 'db' } } }, { namespaceSelector: {}, podSelector: { matchLabels: { app: 'db' } } }] }] }),
    ],
  });
  const [a1, a2, b1, b2, c1] = built.pods;
  return { ...built, pods: [b2!, a1!, c1!, b1!, a2!] };
}

describe('selection indexes', () => {
  it('answer as policiesIsolating and peerMatches do on 150 random clusters', () => {
    let checked = 0;
    for (let seed = 1; seed <= 150; seed++) checked += checkAgainstModel(randomScenario(seed, { flowsPerScenario: 0 }).cluster);
    expect(checked).toBeGreaterThan(1000);
  });

  it('answer as the model does when pods are not listed namespace by namespace (positions ascending, no repeats)', () => {
    expect(checkAgainstModel(interleavedCluster())).toBe(4);
    const index = indexCluster(interleavedCluster());
    const endpoints = new EndpointIndex(index, 4);
    const peers = index.cluster.policies[1]!.ingress[0]!.peers!;
    // b/p2 (0), c/p1 (2), a/p2 (4): team y, or db in b, or db anywhere (b/p2 twice)
    expect(endpoints.selectedBy('b', peers)).toEqual([0, 2, 4]);
  });

  it('shares one member list between namespaces only when every peer carries a namespaceSelector', () => {
    const c = cluster({
      namespaces: [ns('a', { team: 'x' }), ns('b', { team: 'x' })],
      pods: [pod('a/w', { labels: { app: 'web' }, ips: ['10.0.1.1'] }), pod('b/w', { labels: { app: 'web' }, ips: ['10.0.2.1'] })],
    });
    const endpoints = new EndpointIndex(indexCluster(c), 4);
    const anyNs: Peer[] = [{ kind: 'pods', namespaceSelector: { matchLabels: { team: 'x' }, matchExpressions: [] }, podSelector: null }];
    const ownNs: Peer[] = [{ kind: 'pods', namespaceSelector: null, podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] } }];
    const sharedA = endpoints.peerMembers('a', anyNs, JSON.stringify(anyNs));
    expect(endpoints.peerMembers('b', anyNs, JSON.stringify(anyNs))).toBe(sharedA);
    expect(sharedA.map((e) => e.cidr.base)).toEqual([0x0a000101n, 0x0a000201n]);
    const inA = endpoints.peerMembers('a', ownNs, JSON.stringify(ownNs));
    const inB = endpoints.peerMembers('b', ownNs, JSON.stringify(ownNs));
    expect(inA.map((e) => e.cidr.base)).toEqual([0x0a000101n]);
    expect(inB.map((e) => e.cidr.base)).toEqual([0x0a000201n]);
  });

  it('sets that share a member list still each get their own name and entries in the program', () => {
    const peer = { namespaceSelector: { matchLabels: { team: 'x' } } };
    const c = cluster({
      namespaces: [ns('a', { team: 'x' }), ns('b', { team: 'x' })],
      pods: [pod('a/w', { ips: ['10.0.1.1'] }), pod('b/w', { ips: ['10.0.2.1'] })],
      policies: [netpol('a/p', { podSelector: {}, ingress: [{ from: [peer] }] }), netpol('b/p', { podSelector: {}, ingress: [{ from: [peer] }] })],
    });
    const podSets = compileIptables(indexCluster(c), DEFAULT_EVAL_OPTIONS).sets.filter((s) => s.name.startsWith('NS4-P-'));
    expect(podSets.map((s) => s.purpose)).toEqual(['pods selected by a/p peers', 'pods selected by b/p peers']);
    expect(new Set(podSets.map((s) => s.name)).size).toBe(2);
    expect(podSets[1]!.entries).toEqual(podSets[0]!.entries);
    // the matcher's packed table is read-only: one per member list and set type
    expect(packSet(podSets[1]!)).toBe(packSet(podSets[0]!));
    expect(packSet({ ...podSets[1]!, entries: [...podSets[1]!.entries] })).not.toBe(packSet(podSets[0]!));
  });
});
