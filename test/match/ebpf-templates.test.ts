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
import { ipToWords } from '../../src/model/ip.js';
import { CtState, FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { cluster, flow, netpol, node, ns, pod } from '../support/builders.js';

/** Three backend replicas (one template for their ingress maps), a frontend, and an isolated deny-all pod. */
function replicas(): ReturnType<typeof cluster> {
  return cluster({
    namespaces: [ns('prod')],
    nodes: [node('node-1', ['172.18.0.2'])],
    pods: [
      ...[0, 1, 2].map((i) => pod(`prod/backend-${i}`, { labels: { app: 'backend' }, ips: [`10.244.1.${10 + i}`], node: 'node-1' })),
      pod('prod/frontend', { labels: { app: 'frontend' }, ips: ['10.244.1.5'], node: 'node-1' }),
      pod('prod/locked', { labels: { app: 'locked' }, ips: ['10.244.1.6'], node: 'node-1' }),
    ],
    policies: [
      netpol('prod/backend-from-frontend', {
        podSelector: { matchLabels: { app: 'backend' } }, policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 80 }, { port: 443 }] }],
      }),
      netpol('prod/locked-deny-all', { podSelector: { matchLabels: { app: 'locked' } }, policyTypes: ['Ingress'], ingress: [] }),
    ],
  });
}

function row(f: Flow): FlowBatch {
  const b = new FlowBatch(1);
  b.family[0] = f.src.family;
  ipToWords(f.src, b.src, 0);
  ipToWords(f.dst, b.dst, 0);
  b.proto[0] = f.protocol;
  b.dstPort[0] = f.dstPort;
  b.ctState[0] = CtState.NEW;
  b.count = 1;
  return b;
}

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
