/**
 * The DecisionMemo (src/model/decision-memo.ts): the evaluator's Decisions kept per flow as the evaluator
 * reads it, so that a replay's report finds made the Decisions its reference model made; the report with
 * the memo is the report without it.
 */
import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DecisionMemo } from '../../src/model/decision-memo.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, type Flow } from '../../src/model/evaluate.js';
import type { IpAddr } from '../../src/model/ip.js';
import { replay, type ReplayOptions } from '../../src/replay/replay.js';
import { buildReplayReport } from '../../src/report/replay-report.js';
import { nativeAddon } from '../../src/native/load.js';
import { makeRng } from '../support/rng.js';
import { synthBytes, writeTemp } from '../native/walk-support.js';

const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 120, namespaces: 6, policies: 14, seed: 23 }))).cluster);
const pods = index.cluster.pods.filter((p) => p.ips.length > 0);

function podIp(k: number): IpAddr {
  return pods[k % pods.length]!.ips[0]!;
}

describe('DecisionMemo', () => {
  it('answers what the evaluator answers, keeping one flow per what the evaluator reads, at most `most`', () => {
    const rng = makeRng(5);
    const memo = new DecisionMemo(index, DEFAULT_EVAL_OPTIONS);
    const distinct = new Set<string>();
    for (let n = 0; n < 3000; n++) {
      const protocol = [6, 17, 132, 1, 47][rng.int(0, 4)]!;
      const flow: Flow = { src: podIp(rng.int(0, 39)), dst: podIp(rng.int(0, 39)), protocol, dstPort: [80, 443, 5432, 0][rng.int(0, 3)]! };
      expect(memo.decide(flow)).toEqual(evaluate(index, flow, DEFAULT_EVAL_OPTIONS));
      // ICMP's and GRE's ports are no part of a flow to NetworkPolicy: one entry whatever the port.
      const port = protocol === 1 || protocol === 47 ? 0 : flow.dstPort;
      distinct.add(`${flow.src.value} ${flow.dst.value} ${protocol} ${port}`);
    }
    expect(memo.size).toBe(distinct.size);
    expect(memo.size).toBeGreaterThan(1000);
    const small = new DecisionMemo(index, DEFAULT_EVAL_OPTIONS, 10);
    for (let k = 0; k < 30; k++) small.decide({ src: podIp(k), dst: podIp(k + 1), protocol: 6, dstPort: 80 });
    expect(small.size).toBe(10);
    const none = new DecisionMemo(index, DEFAULT_EVAL_OPTIONS, 0);
    expect(none.decide({ src: podIp(0), dst: podIp(1), protocol: 6, dstPort: 80 }).allowed).toBe(evaluate(index, { src: podIp(0), dst: podIp(1), protocol: 6, dstPort: 80 }).allowed);
    expect(none.size).toBe(0);
  });

  it('a replay\'s reference model fills it; the report then finds every flow made, and is the same report', () => {
    const path = writeTemp(synthBytes(index, 12000, 'imix', 23), 'memo.pcap');
    const addon = nativeAddon().addon;
    const engines: (typeof addon)[] = addon ? [null, addon] : [null];
    for (const engine of engines) {
      for (const threads of [1, 2]) {
        const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['reference'], addon: engine, threads };
        const plain = buildReplayReport(replay([path], base), index, DEFAULT_EVAL_OPTIONS, 100);
        const memo = new DecisionMemo(index, DEFAULT_EVAL_OPTIONS);
        const result = replay([path], { ...base, decisions: memo });
        const decided = memo.size;
        const report = buildReplayReport(result, index, DEFAULT_EVAL_OPTIONS, 100, memo);
        const what = `${engine ? 'native' : 'TypeScript'}, ${threads} threads`;
        const { seconds: _a, packetsPerSecond: _b, cpuSeconds: _c, ...same } = report;
        const { seconds: _d, packetsPerSecond: _e, cpuSeconds: _f, ...want } = plain;
        expect(same, what).toEqual(want);
        // TypeScript's staged workers decide in their own threads: no memo there.
        if (!engine && threads > 1) continue;
        expect(decided, what).toBeGreaterThan(300);
        // Every connection of this traffic opens with a NEW packet: the report has nothing left to decide.
        expect(memo.size, what).toBe(decided);
      }
    }
    const other = new DecisionMemo(index, { ...DEFAULT_EVAL_OPTIONS });
    expect(() => replay([path], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['reference'], decisions: other }))
      .toThrow('the reference model\'s memo is of another cluster or other options');
    expect(() => buildReplayReport(replay([path], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'] }), index, DEFAULT_EVAL_OPTIONS, 10, other))
      .toThrow('the memo is of another cluster or other options');
  });
});
