/**
 * The native models' decision caches (native/src/decision-cache.h) change no result. On seeded random
 * clusters, opening packets that meet the same flows again (another source port, the same pods and
 * destination port) are decided with the cache off, of one slot and of two (each flow evicting others),
 * and of the default size; every run's verdicts, costs and deciding entries or rules, and the eBPF
 * model's per-entry hits and probe totals or the iptables model's per-rule packets and bytes, equal
 * TypeScript's. And the cache is used: it decides every repeated opening but for the few whose slot
 * another flow took (and, for iptables, walks matching more rules than a slot keeps, which are walked every
 * time), never a flow's first.
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { classifyBatch, loadEbpf, probesSoFar } from '../../src/match/ebpf.js';
import { classifyBatch as iptablesBatch, loadIptables } from '../../src/match/iptables.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { ipToWords, mustParseIp } from '../../src/model/ip.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { classifyNative, DEFAULT_DECISION_SLOTS, nativeEbpf, nativeIptables } from '../../src/native/engine.js';
import { CtState, FlowBatch } from '../../src/wire/flow-batch.js';
import { makeRng } from '../support/rng.js';
import { randomScenario } from '../support/random-cluster.js';
import { cloneBatch, firstDifference, requireAddon, rowsFromFlows } from './support.js';

const addon = requireAddon();
const SEEDS = Number(process.env['NETSIEVE_DECISION_SEEDS'] ?? 30);
const SLOT_COUNTS = [0, 1, 2, DEFAULT_DECISION_SLOTS] as const;
const PORTED = new Set([6, 17, 132]);

/** 1,500 opening rows over 200 of the scenario's flows picked at random: most flows meet again. */
function repeatedOpenings(flows: ReturnType<typeof randomScenario>['flows'], seed: number): FlowBatch {
  const rng = makeRng(seed);
  const few = flows.slice(0, 200);
  return rowsFromFlows(Array.from({ length: 1500 }, () => rng.pick(few)), seed);
}

/**
 * Rows a model decides by its lookups or walk (IP, ctState NEW or UNTRACKED), and how many distinct flows
 * they hold: {family, addresses, protocol, port} for eBPF (port 0 but for TCP, UDP and SCTP); iptables
 * keys its walks by the conntrack state and any protocol's destination port too.
 */
function openings(b: FlowBatch, model: 'ebpf' | 'iptables'): { rows: number; flows: number } {
  const seen = new Set<string>();
  let rows = 0;
  for (let i = 0; i < b.count; i++) {
    if (b.family[i] === 0 || (b.ctState[i] !== CtState.NEW && b.ctState[i] !== CtState.UNTRACKED)) continue;
    rows++;
    const port = model === 'iptables' || PORTED.has(b.proto[i]!) ? b.dstPort[i] : 0;
    const state = model === 'iptables' ? b.ctState[i] : '';
    seen.add(`${b.family[i]} ${b.src.subarray(i * 4, i * 4 + 4).join('.')} ${b.dst.subarray(i * 4, i * 4 + 4).join('.')} ${b.proto[i]} ${port} ${state}`);
  }
  return { rows, flows: seen.size };
}

/** One model's side of the comparison: its TypeScript run, a native run with `slots`, and their counters. */
interface ModelCase {
  readonly seedBase: number;
  /** Classifies `batch` in TypeScript; returns its counters. */
  typescript(s: ReturnType<typeof randomScenario>, batch: FlowBatch): Counters;
  /** Classifies `batch` natively with `slots`; returns its counters and the rows its cache decided. */
  native(s: ReturnType<typeof randomScenario>, batch: FlowBatch, slots: number): Counters & { cached: number };
}
/** Named arrays, each to equal its counterpart; and the probes so far (eBPF). */
interface Counters {
  readonly arrays: readonly (readonly [string, ArrayLike<number>])[];
  readonly probes: number;
}

const MODELS: Record<'ebpf' | 'iptables', ModelCase> = {
  ebpf: {
    seedBase: 7000,
    typescript: (s, batch) => {
      const js = loadEbpf(compileEbpf(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS));
      classifyBatch(js, batch);
      return { arrays: [['hits', js.hits]], probes: probesSoFar(js) };
    },
    native: (s, batch, slots) => {
      const loaded = loadEbpf(compileEbpf(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS));
      const handle = nativeEbpf(addon!, loaded, { decisions: slots });
      classifyNative(handle, batch);
      return { arrays: [['hits', loaded.hits]], probes: probesSoFar(loaded), cached: handle.decisionsCached() };
    },
  },
  iptables: {
    seedBase: 8000,
    typescript: (s, batch) => {
      const js = loadIptables(compileIptables(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS));
      iptablesBatch(js, batch);
      return { arrays: ruleCounters(js), probes: 0 };
    },
    native: (s, batch, slots) => {
      const matcher = loadIptables(compileIptables(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS));
      const handle = nativeIptables(addon!, matcher, { decisions: slots });
      classifyNative(handle, batch);
      return { arrays: ruleCounters(matcher), probes: 0, cached: handle.decisionsCached() };
    },
  },
};

function ruleCounters(m: ReturnType<typeof loadIptables>): Counters['arrays'] {
  return [['v4 packets', m.v4.packets], ['v4 bytes', m.v4.bytes], ['v6 packets', m.v6.packets], ['v6 bytes', m.v6.bytes]];
}

const d = addon === null ? describe.skip : describe;

d('the decision caches decide as the models do', () => {
  for (const model of ['ebpf', 'iptables'] as const) {
    for (const family of [4, 6, undefined] as const) {
      it(`${model}, ${family === undefined ? 'dual-stack' : `IPv${family}`}: ${SEEDS} random clusters, cache of ${SLOT_COUNTS.join(', ')} slots`, () => {
        const m = MODELS[model];
        let cachedAtDefault = 0;
        let repeats = 0;
        for (let seed = 1; seed <= SEEDS; seed++) {
          const s = randomScenario(seed + m.seedBase, { family });
          const rows = repeatedOpenings(s.flows, seed);
          const want = cloneBatch(rows);
          const js = m.typescript(s, want);
          const { rows: opened, flows } = openings(rows, model);
          for (const slots of SLOT_COUNTS) {
            const got = cloneBatch(rows);
            const native = m.native(s, got, slots);
            const what = `seed ${seed}, ${slots} slots`;
            for (const col of ['verdict', 'cost', 'decidedBy'] as const) {
              const i = firstDifference(want[col], got[col], rows.count);
              expect(i, `${what}: row ${i} ${col}: js ${want[col][i]} native ${got[col][i]}`).toBe(-1);
            }
            js.arrays.forEach(([name, a], k) => {
              const b = native.arrays[k]![1];
              const r = firstDifference(a, b);
              expect(r, `${what}: ${name}[${r}]: js ${a[r]} native ${b[r]}`).toBe(-1);
            });
            expect(native.probes, what).toBe(js.probes);
            // A flow's first opening is always decided by the model; a later one is cached unless another
            // flow took its slot (or, iptables, its walk matched more rules than a slot keeps).
            expect(native.cached, what).toBeLessThanOrEqual(opened - flows);
            if (slots === 0) expect(native.cached, what).toBe(0);
            if (slots === DEFAULT_DECISION_SLOTS) {
              cachedAtDefault += native.cached;
              repeats += opened - flows;
            }
          }
        }
        expect(repeats).toBeGreaterThan(SEEDS * 500);
        expect(cachedAtDefault).toBeGreaterThanOrEqual(0.97 * repeats);
      });
    }
  }

  it('iptables: a walk that matches more rules than a slot keeps is walked every time', () => {
    // 40 policies select the server and admit none of the client: its ingress walk jumps into each
    // policy chain and RETURNs from it, 80 matched rules and more, past IPT_MEMO_RULES (52).
    const pod = (name: string, ip: string): string =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: a, labels: {app: ${name}}}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: ${ip}, podIPs: [{ip: ${ip}}]}\n`;
    const policy = (k: number): string =>
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p-${k}, namespace: a}\nspec:\n  podSelector: {matchLabels: {app: server}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: other-${k}}}}], ports: [{port: 80, protocol: TCP}]}]\n`;
    const text = ['apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n', pod('client', '10.0.0.1'), pod('server', '10.0.0.2'),
      ...Array.from({ length: 40 }, (_, k) => policy(k))].join('---\n');
    const program = compileIptables(indexCluster(loadClusterFromText(text).cluster), DEFAULT_EVAL_OPTIONS);
    const rows = new FlowBatch(200);
    for (let i = 0; i < 200; i++) {
      rows.family[i] = 4;
      ipToWords(mustParseIp('10.0.0.1'), rows.src, i * 4);
      ipToWords(mustParseIp('10.0.0.2'), rows.dst, i * 4);
      rows.proto[i] = 6;
      rows.srcPort[i] = 40000 + i;
      rows.dstPort[i] = 80;
      rows.ctState[i] = CtState.NEW;
      rows.wireLength[i] = 60 + i;
    }
    rows.count = 200;
    const js = loadIptables(program);
    const want = cloneBatch(rows);
    iptablesBatch(js, want);
    const matched = js.v4.packets.reduce((a, b) => a + b, 0) / rows.count;
    expect(matched).toBeGreaterThan(52);
    expect(want.verdict[0]).toBe(0); // dropped
    const matcher = loadIptables(program);
    const handle = nativeIptables(addon!, matcher);
    const got = cloneBatch(rows);
    classifyNative(handle, got);
    expect(handle.decisionsCached()).toBe(0);
    for (const col of ['verdict', 'cost', 'decidedBy'] as const) expect(firstDifference(want[col], got[col], rows.count), col).toBe(-1);
    expect(firstDifference(js.v4.packets, matcher.v4.packets), 'packets').toBe(-1);
    expect(firstDifference(js.v4.bytes, matcher.v4.bytes), 'bytes').toBe(-1);
  });

  it('refuses a slot count that is not a power of two', () => {
    const s = randomScenario(1);
    const loaded = loadEbpf(compileEbpf(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS));
    const matcher = loadIptables(compileIptables(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS));
    for (const bad of [3, 1000, -1, 0.5, 2 ** 25]) {
      expect(() => nativeEbpf(addon!, loaded, { decisions: bad })).toThrow(/decision cache slots must be 0 or a power of two/);
      expect(() => nativeIptables(addon!, matcher, { decisions: bad })).toThrow(/decision cache slots must be 0 or a power of two/);
    }
  });
});
