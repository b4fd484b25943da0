/**
 * Differential: the native engine and the TypeScript engine produce identical verdicts, costs, decidedBy,
 * counters (eBPF entry hits and probe totals; iptables rule packets and bytes) and connection-tracking
 * state on the same seeded traffic, for both models, IPv4, IPv6 and dual-stack clusters: opening packets
 * of random clusters, random packet sequences through conntrack, and synth's sessions read from a pcap.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { newConntrack, type Conntrack } from '../../src/conntrack/index.js';
import { Counter } from '../../src/conntrack/state.js';
import { classifyBatch as ebpfBatch, classifyRow as ebpfRow, loadEbpf, probesSoFar, type LoadedEbpf } from '../../src/match/ebpf.js';
import { classifyBatch as iptBatch, classifyRow as iptRow, loadIptables, type IptablesMatcher } from '../../src/match/iptables.js';
import { indexCluster, type ClusterIndex } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions } from '../../src/model/evaluate.js';
import { classifyNative, nativeEbpf, nativeIptables, runNative, type NativeModelHandle } from '../../src/native/engine.js';
import { runRow, type RowModel } from '../../src/replay/models.js';
import { openCapture } from '../../src/traffic/pcap/reader.js';
import { memorySink } from '../../src/traffic/pcap/writer.js';
import { parseSize, synthToSink } from '../../src/traffic/synth/index.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { randomScenario } from '../support/random-cluster.js';
import { seedIndex } from '../replay/seed-model.js';
import { SEED_PCAP, seedIndexFromYaml } from '../replay/helpers.js';
import { cloneBatch, conntrackRows, firstDifference, requireAddon, rowsFromFlows } from './support.js';

const addon = requireAddon();
const SEEDS = Number(process.env['NETSIEVE_NATIVE_SEEDS'] ?? 40);
const FAMILIES = [4, 6, undefined] as const;
const OPTION_SETS: readonly EvalOptions[] = [
  DEFAULT_EVAL_OPTIONS,
  { ipBlockMatchesPods: false, allowLoopback: false, allowNodeTraffic: false },
];

type Pair<T> = { js: T; native: NativeModelHandle };

function ebpfPair(index: ClusterIndex, options: EvalOptions): Pair<LoadedEbpf> & { nativeLoaded: LoadedEbpf } {
  const program = compileEbpf(index, options);
  const nativeLoaded = loadEbpf(program);
  return { js: loadEbpf(program), native: nativeEbpf(addon!, nativeLoaded), nativeLoaded };
}

function iptablesPair(index: ClusterIndex, options: EvalOptions): Pair<IptablesMatcher> & { nativeMatcher: IptablesMatcher } {
  const program = compileIptables(index, options);
  const nativeMatcher = loadIptables(program);
  return { js: loadIptables(program), native: nativeIptables(addon!, nativeMatcher), nativeMatcher };
}

/** Row outputs equal, or a message naming the first differing row and column. */
function sameOutputs(js: FlowBatch, nat: FlowBatch, what: string): string | null {
  for (const col of ['ctState', 'verdict', 'cost', 'decidedBy'] as const) {
    const i = firstDifference(js[col], nat[col], js.count);
    if (i >= 0) return `${what}: row ${i} ${col}: js ${js[col][i]} native ${nat[col][i]}`;
  }
  return null;
}

function sameArrays(pairs: [string, ArrayLike<number>, ArrayLike<number>][], what: string): string | null {
  for (const [name, a, b] of pairs) {
    const i = firstDifference(a, b);
    if (i >= 0) return `${what}: ${name}[${i}]: js ${a[i]} native ${b[i]}`;
  }
  return null;
}

function sameConntrack(a: Conntrack, b: Conntrack, what: string): string | null {
  return sameArrays([
    ['counters', a.counters, b.counters], ['slots', a.table.slots, b.table.slots], ['tuples', a.table.tuples, b.table.tuples],
    ['meta', a.table.meta, b.table.meta], ['prev', a.table.prev, b.table.prev], ['next', a.table.next, b.table.next],
    ['state', a.state, b.state], ['status', a.status, b.status], ['expires', a.expires, b.expires],
    ['lastIndex', a.lastIndex, b.lastIndex], ['fragments', a.fragments.keys, b.fragments.keys],
    ['fragment verdicts', a.fragments.verdict, b.fragments.verdict],
  ], what);
}

const d = addon === null ? describe.skip : describe;

d('native and TypeScript classify opening packets identically (random clusters)', () => {
  for (const family of FAMILIES) {
    OPTION_SETS.forEach((options, k) => {
      const label = `${family === undefined ? 'dual-stack' : `IPv${family}`} clusters, option set ${k}`;
      it(`eBPF model: ${SEEDS} ${label}, 1000 rows each`, () => {
        let rows = 0;
        for (let seed = 1; seed <= SEEDS; seed++) {
          const s = randomScenario(seed + k * 1000, { family });
          const m = ebpfPair(indexCluster(s.cluster), options);
          const js = rowsFromFlows(s.flows, seed);
          const nat = cloneBatch(js);
          ebpfBatch(m.js, js);
          classifyNative(m.native, nat);
          const problem = sameOutputs(js, nat, `seed ${seed}`) ??
            sameArrays([['hits', m.js.hits, m.nativeLoaded.hits]], `seed ${seed}`);
          expect(problem, problem ?? '').toBeNull();
          expect(probesSoFar(m.nativeLoaded)).toBe(probesSoFar(m.js));
          rows += js.count;
        }
        expect(rows).toBe(SEEDS * 1000);
      });
      it(`iptables model: ${SEEDS} ${label}, 1000 rows each`, () => {
        let decided = 0;
        for (let seed = 1; seed <= SEEDS; seed++) {
          const s = randomScenario(seed + k * 1000, { family });
          const m = iptablesPair(indexCluster(s.cluster), options);
          const js = rowsFromFlows(s.flows, seed);
          const nat = cloneBatch(js);
          iptBatch(m.js, js);
          classifyNative(m.native, nat);
          const problem = sameOutputs(js, nat, `seed ${seed}`) ?? sameArrays([
            ['v4 packets', m.js.v4.packets, m.nativeMatcher.v4.packets], ['v4 bytes', m.js.v4.bytes, m.nativeMatcher.v4.bytes],
            ['v6 packets', m.js.v6.packets, m.nativeMatcher.v6.packets], ['v6 bytes', m.js.v6.bytes, m.nativeMatcher.v6.bytes],
          ], `seed ${seed}`);
          expect(problem, problem ?? '').toBeNull();
          for (let i = 0; i < js.count; i++) if (js.decidedBy[i]! >= 0) decided++;
        }
        // The comparison is only worth something if rules, not just the chain policy, decided rows.
        expect(decided).toBeGreaterThan(SEEDS * 100);
      });
    });
  }
});

interface SequenceResult {
  readonly problem: string | null;
  /** Rows per conntrack state, and the tracker's counters (both engines'), to show what was exercised. */
  readonly states: number[];
  readonly counters: Float64Array;
}

/**
 * TypeScript: runRow per row, as replay does; native: one runNative per batch. Same rows, fresh trackers.
 * Row outputs and counters are compared after every batch, the whole tracker (table, entries, fragments)
 * after the last.
 */
function compareSequences(
  index: ClusterIndex, batches: readonly FlowBatch[], capacity: number, model: 'ebpf' | 'iptables',
): SequenceResult {
  const jsCt = newConntrack({ capacity });
  const natCt = newConntrack({ capacity });
  const rowModel: RowModel = { name: model, conntrack: jsCt, orphanFragments: 0, classify: () => undefined };
  let native: NativeModelHandle;
  if (model === 'ebpf') {
    const m = ebpfPair(index, DEFAULT_EVAL_OPTIONS);
    rowModel.classify = (b, i) => ebpfRow(m.js, b, i);
    native = m.native;
  } else {
    const m = iptablesPair(index, DEFAULT_EVAL_OPTIONS);
    rowModel.classify = (b, i) => iptRow(m.js, b, i);
    native = m.native;
  }
  let orphans = 0;
  const states = [0, 0, 0, 0, 0];
  const done = (problem: string | null): SequenceResult => ({ problem, states, counters: jsCt.counters });
  for (const [k, batch] of batches.entries()) {
    const js = cloneBatch(batch);
    const nat = cloneBatch(batch);
    for (let i = 0; i < js.count; i++) runRow(rowModel, js, i);
    orphans += runNative(native, natCt, nat);
    for (let i = 0; i < js.count; i++) states[js.ctState[i]!]!++;
    const problem = sameOutputs(js, nat, `${model} batch ${k}`) ??
      sameArrays([['counters', jsCt.counters, natCt.counters], ['meta', jsCt.table.meta, natCt.table.meta]], `${model} batch ${k}`);
    if (problem) return done(problem);
  }
  if (orphans !== rowModel.orphanFragments) return done(`orphan fragments: js ${rowModel.orphanFragments} native ${orphans}`);
  return done(sameConntrack(jsCt, natCt, `${model} after the last batch`));
}

d('native and TypeScript track connections identically', () => {
  for (const family of FAMILIES) {
    for (const model of ['ebpf', 'iptables'] as const) {
      it(`${model}, ${family === undefined ? 'dual-stack' : `IPv${family}`}: ${SEEDS} random sequences of 5 x 1000 packets`, () => {
        const states = [0, 0, 0, 0, 0];
        const counters = new Float64Array(8);
        for (let seed = 1; seed <= SEEDS; seed++) {
          const s = randomScenario(seed, { family, flowsPerScenario: 40 });
          const batches = [0, 1, 2, 3, 4].map((b) => conntrackRows(s.flows, 1000, seed * 10 + b));
          const r = compareSequences(indexCluster(s.cluster), batches, 2048, model);
          expect(r.problem, `seed ${seed}: ${r.problem}`).toBeNull();
          r.states.forEach((n, k) => { states[k]! += n; });
          r.counters.forEach((n, k) => { counters[k]! += n; });
        }
        // Every state and every tracker event (but eviction, below) occurred, so each path was compared.
        for (const n of states) expect(n).toBeGreaterThan(0);
        for (const c of [Counter.INSERTS, Counter.EXPIRATIONS, Counter.INVALID, Counter.DELETES, Counter.ORPHAN_FRAGMENTS, Counter.RELATED]) {
          expect(counters[c], `counter ${c}`).toBeGreaterThan(0);
        }
      });
    }
  }
  it('with a full table (64 entries): early drop and eviction agree too', () => {
    let evictions = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const s = randomScenario(seed, { flowsPerScenario: 200 });
      const batches = [0, 1, 2].map((b) => conntrackRows(s.flows, 1000, seed * 10 + b));
      for (const model of ['ebpf', 'iptables'] as const) {
        const r = compareSequences(indexCluster(s.cluster), batches, 64, model);
        expect(r.problem, `seed ${seed}: ${r.problem}`).toBeNull();
        evictions += r.counters[Counter.EVICTIONS]!;
      }
    }
    expect(evictions).toBeGreaterThan(0);
  });
});

function captureBatches(path: string): FlowBatch[] {
  const reader = openCapture(path);
  const batches: FlowBatch[] = [];
  try {
    for (;;) {
      const b = new FlowBatch(2048);
      if (reader.fill(b) === 0) break;
      batches.push(b);
    }
  } finally {
    reader.close();
  }
  return batches;
}

function synthBatches(v6: boolean, packets: number, seed: number): { index: ClusterIndex; batches: FlowBatch[] } {
  const index = seedIndex(v6, true);
  const sink = memorySink();
  synthToSink(index, { packets, seed, size: parseSize('64') }, sink);
  const path = join(mkdtempSync(join(tmpdir(), 'ns-native-')), 'synth.pcap');
  writeFileSync(path, sink.result());
  return { index, batches: captureBatches(path) };
}

d('native and TypeScript agree on synth traffic read from a pcap', () => {
  for (const v6 of [false, true]) {
    for (const model of ['ebpf', 'iptables'] as const) {
      it(`${model}, IPv${v6 ? 6 : 4}: 20,000 packets of sessions`, () => {
        const { index, batches } = synthBatches(v6, 20_000, 7);
        expect(batches.reduce((n, b) => n + b.count, 0)).toBe(20_000);
        const r = compareSequences(index, batches, 65_536, model);
        expect(r.problem, r.problem ?? '').toBeNull();
        expect(r.counters[Counter.INSERTS]).toBeGreaterThan(100);
      });
    }
  }
});

d('native and TypeScript agree on the shipped captures', () => {
  const formats = readdirSync('captures/formats').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join('captures/formats', f));
  it(`the seed capture (real HTTP between namespaces) and ${formats.length} format captures, both models`, () => {
    const index = seedIndexFromYaml();
    let rows = 0;
    for (const path of [SEED_PCAP, ...formats]) {
      const batches = captureBatches(path);
      rows += batches.reduce((n, b) => n + b.count, 0);
      for (const model of ['ebpf', 'iptables'] as const) {
        const r = compareSequences(index, batches, 4096, model);
        expect(r.problem, `${path}: ${r.problem}`).toBeNull();
      }
    }
    expect(rows).toBeGreaterThan(100);
  });
});
