import { describe, expect, test } from 'vitest';
import { indexCluster } from '../../src/model/cluster-index.js';
import { evaluate, type Flow } from '../../src/model/evaluate.js';
import type { Cluster, LabelSelector, Peer } from '../../src/model/types.js';
import { randomScenario } from './random-cluster.js';
import { formatReproduction, shrinkScenario, type StillFails } from './shrink.js';

/** A planted bug: a "dataplane" that forgets ipBlock `except` (the reference evaluator on a doctored model). */
function withoutExcepts(c: Cluster): Cluster {
  const peer = (p: Peer): Peer => (p.kind === 'ipBlock' ? { ...p, except: [] } : p);
  const rules = (rs: Cluster['policies'][number]['ingress']) => rs.map((r) => ({ ...r, peers: r.peers && r.peers.map(peer) }));
  return { ...c, policies: c.policies.map((p) => ({ ...p, ingress: rules(p.ingress), egress: rules(p.egress) })) };
}

/** Another planted bug: NotIn treated as "key present and value not listed" (wrong for absent keys). */
function strictNotIn(c: Cluster): Cluster {
  const sel = (s: LabelSelector): LabelSelector => ({
    ...s,
    matchExpressions: s.matchExpressions.flatMap((e) => (e.operator === 'NotIn' ? [e, { key: e.key, operator: 'Exists' as const, values: [] }] : [e])),
  });
  const peer = (p: Peer): Peer => (p.kind === 'ipBlock' ? p : {
    ...p, podSelector: p.podSelector && sel(p.podSelector), namespaceSelector: p.namespaceSelector && sel(p.namespaceSelector),
  });
  const rules = (rs: Cluster['policies'][number]['ingress']) => rs.map((r) => ({ ...r, peers: r.peers && r.peers.map(peer) }));
  return { ...c, policies: c.policies.map((p) => ({ ...p, podSelector: sel(p.podSelector), ingress: rules(p.ingress), egress: rules(p.egress) })) };
}

function disagreement(buggy: (c: Cluster) => Cluster): StillFails {
  return (c, f) => evaluate(indexCluster(c), f).allowed !== evaluate(indexCluster(buggy(c)), f).allowed;
}

function firstFailure(stillFails: StillFails): { seed: number; cluster: Cluster; flow: Flow } {
  for (let seed = 1; seed < 2000; seed++) {
    const s = randomScenario(seed, { flowsPerScenario: 300 });
    const flow = s.flows.find((f) => stillFails(s.cluster, f));
    if (flow) return { seed, cluster: s.cluster, flow };
  }
  throw new Error('no seed exposes the planted bug');
}

const size = (c: Cluster) => ({
  policies: c.policies.length,
  rules: c.policies.reduce((n, p) => n + p.ingress.length + p.egress.length, 0),
  peers: c.policies.flatMap((p) => [...p.ingress, ...p.egress]).reduce((n, r) => n + (r.peers?.length ?? 0), 0),
  pods: c.pods.length,
  podLabels: c.pods.reduce((n, p) => n + Object.keys(p.labels).length, 0),
});

describe('shrinkScenario', () => {
  test('shrinks a planted except bug to one policy, one rule, one ipBlock peer with its except', () => {
    const fails = disagreement(withoutExcepts);
    const found = firstFailure(fails);
    const shrunk = shrinkScenario(found.cluster, found.flow, fails);
    expect(fails(shrunk.cluster, shrunk.flow)).toBe(true);
    expect(shrunk.steps).toBeGreaterThan(0);
    expect(size(shrunk.cluster)).toEqual({ policies: 1, rules: 1, peers: 1, pods: size(shrunk.cluster).pods, podLabels: 0 });
    expect(size(shrunk.cluster).pods).toBeLessThanOrEqual(2);
    const peer = shrunk.cluster.policies[0]!.ingress.concat(shrunk.cluster.policies[0]!.egress)[0]!.peers![0]!;
    expect(peer.kind).toBe('ipBlock');
    expect(peer.kind === 'ipBlock' && peer.except.length).toBe(1);
    const text = formatReproduction(shrunk.cluster, shrunk.flow, found.seed);
    expect(text).toContain(`# seed: ${found.seed}`);
    expect(text).toMatch(/ipBlock: \S+ except \[\S+\]/);
  });

  test('shrinks a planted NotIn bug down to the NotIn expression on an absent key', () => {
    const fails = disagreement(strictNotIn);
    const found = firstFailure(fails);
    const before = size(found.cluster);
    const shrunk = shrinkScenario(found.cluster, found.flow, fails);
    const after = size(shrunk.cluster);
    expect(fails(shrunk.cluster, shrunk.flow)).toBe(true);
    expect(after.policies).toBe(1);
    expect(after.pods).toBeLessThanOrEqual(Math.min(2, before.pods));
    const text = formatReproduction(shrunk.cluster, shrunk.flow, found.seed);
    expect(text.match(/notin \(/g)).toHaveLength(1);
    expect(text.split('\n').length).toBeLessThan(formatReproduction(found.cluster, found.flow, found.seed).split('\n').length);
  });

  test('leaves a case alone when no simplification keeps it failing', () => {
    const s = randomScenario(3, { flowsPerScenario: 1 });
    const exact = (c: Cluster) => c === s.cluster;
    const shrunk = shrinkScenario(s.cluster, s.flows[0]!, (c) => exact(c));
    expect(shrunk.cluster).toBe(s.cluster);
    expect(shrunk.steps).toBe(0);
  });
});

describe('formatReproduction', () => {
  test('prints the seed, the flow, the reference decision and every policy', () => {
    const s = randomScenario(11, { flowsPerScenario: 1 });
    const text = formatReproduction(s.cluster, s.flows[0]!, 11);
    expect(text).toMatch(/^# seed: 11\nflow: \S+ -> \S+ /);
    expect(text).toMatch(/\nreference: (ALLOW|DENY); egress /);
    for (const p of s.cluster.policies) expect(text).toContain(`  - ${p.namespace}/${p.name}\n`);
    for (const p of s.cluster.pods) expect(text).toContain(`  - ${p.namespace}/${p.name} labels`);
  });
});
