/**
 * The packed policy table is keyed per template, not per endpoint: replicas that share a template share
 * its rows in the hash table, while decidedBy and the hit counters stay per endpoint entry (row + the
 * map's offset), and the endpoint -> template read is counted once per direction looked up.
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { classifyRow, loadEbpf, probesSoFar } from '../../src/match/ebpf.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type Flow } from '../../src/model/evaluate.js';
import { Verdict } from '../../src/wire/flow-batch.js';
import { flow } from '../support/builders.js';
import { replicas, row } from './template-replicas.js';

describe('policy table packed per template', () => {
  const program = compileEbpf(indexCluster(replicas()), { ...DEFAULT_EVAL_OPTIONS, allowNodeTraffic: false });
  const m = program.policyMap;
  const backends = [0, 1, 2].map((i) => program.endpoints.findIndex((e) => e.pod === `prod/backend-${i}`));

  it('the replicas\' maps name one template, whose rows are packed once', () => {
    const loaded = loadEbpf(program);
    const templates = new Set(backends.map((ep) => loaded.epTemplate[ep * 4]));
    expect(templates.size).toBe(1);
    expect(m.count).toBe(3 * 2); // two ports, three replicas
    expect(loaded.policy.size).toBe(m.identity.length);
    expect(loaded.policy.size).toBe(2);
  });

  it('each replica is decided by its own entry and counts its own hit', () => {
    const loaded = loadEbpf(program);
    const decided = backends.map((ep, i) => {
      const b = row(flow('10.244.1.5', `10.244.1.${10 + i}`, 'TCP', 443));
      classifyRow(loaded, b, 0);
      expect(b.verdict[0]).toBe(Verdict.ACCEPT);
      const e = program.entries[b.decidedBy[0]!]!;
      expect([e.endpoint, e.port, e.direction]).toEqual([ep, 443, 'ingress']);
      return b.decidedBy[0]!;
    });
    expect(new Set(decided).size).toBe(3);
    const hit = [...loaded.hits.keys()].filter((i) => loaded.hits[i] !== 0);
    expect(hit.sort()).toEqual([...decided].sort());
    for (const e of decided) expect(loaded.hits[e]).toBe(1);
  });

  it('a direction looked up costs the endpoint -> template read plus the buckets of its run; one with no entries, nothing', () => {
    const loaded = loadEbpf(program);
    const cost = (f: Flow): [number, number] => {
      const b = row(f);
      const policyBefore = loaded.policy.probes;
      const before = probesSoFar(loaded);
      classifyRow(loaded, b, 0);
      expect(b.cost[0]).toBe(probesSoFar(loaded) - before);
      return [b.verdict[0]!, loaded.policy.probes - policyBefore];
    };
    // Two rows of one {identity, template}: one bucket at this load. 1 (template read) + 1 (bucket).
    expect(cost(flow('10.244.1.5', '10.244.1.11', 'TCP', 80))).toEqual([Verdict.ACCEPT, 2]);
    expect(cost(flow('10.244.1.5', '10.244.1.11', 'TCP', 81))).toEqual([Verdict.DROP, 2]);
    // Isolated with an empty map: no lookup, no read (epMask says so).
    expect(cost(flow('10.244.1.5', '10.244.1.6', 'TCP', 80))).toEqual([Verdict.DROP, 0]);
    // Not isolated: no policy read either.
    expect(cost(flow('10.244.1.10', '10.244.1.5', 'TCP', 80))).toEqual([Verdict.ACCEPT, 0]);
  });
});
