/**
 * The fused native call (walk + decode + conntrack + model per record, `fillRun`) equals the TypeScript
 * path (openCapture's reader, then runRow per row as replay does): every row's ctState, verdict, cost and
 * decidedBy after every batch, the model's counters (eBPF entry hits and probes, iptables rule packets
 * and bytes), the whole connection tracker and the orphan fragments at the end, for both models, on the
 * seed and format captures (pcapng goes through the TS block walk, then native decode and run) and on
 * synth sessions whose records straddle chunk boundaries, clean and damaged.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { newConntrack, type Conntrack } from '../../src/conntrack/index.js';
import { Counter } from '../../src/conntrack/state.js';
import { classifyRow as ebpfRow, loadEbpf, probesSoFar } from '../../src/match/ebpf.js';
import { classifyRow as iptRow, loadIptables } from '../../src/match/iptables.js';
import type { ClusterIndex } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { nativeEbpf, nativeIptables, type NativeModelHandle } from '../../src/native/engine.js';
import { openNativeCapture } from '../../src/native/walk.js';
import { runRow, type RowModel } from '../../src/replay/models.js';
import { MIN_CHUNK } from '../../src/traffic/pcap/capture.js';
import { openCapture } from '../../src/traffic/pcap/reader.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { seedIndex } from '../replay/seed-model.js';
import { SEED_PCAP, seedIndexFromYaml } from '../replay/helpers.js';
import { firstDifference, requireAddon } from './support.js';
import { damaged, synthBytes, writeTemp } from './walk-support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;
type Model = 'ebpf' | 'iptables';

interface Engines { js: RowModel; native: NativeModelHandle; counters: () => [string, ArrayLike<number>, ArrayLike<number>][] }

function engines(index: ClusterIndex, model: Model, jsCt: Conntrack): Engines {
  if (model === 'ebpf') {
    const program = compileEbpf(index, DEFAULT_EVAL_OPTIONS);
    const a = loadEbpf(program), b = loadEbpf(program);
    return {
      js: { name: model, conntrack: jsCt, orphanFragments: 0, classify: (batch, i) => ebpfRow(a, batch, i) },
      native: nativeEbpf(addon!, b),
      counters: () => [['hits', a.hits, b.hits], ['probes', [probesSoFar(a)], [probesSoFar(b)]]],
    };
  }
  const program = compileIptables(index, DEFAULT_EVAL_OPTIONS);
  const a = loadIptables(program), b = loadIptables(program);
  return {
    js: { name: model, conntrack: jsCt, orphanFragments: 0, classify: (batch, i) => iptRow(a, batch, i) },
    native: nativeIptables(addon!, b),
    counters: () => [['v4 packets', a.v4.packets, b.v4.packets], ['v4 bytes', a.v4.bytes, b.v4.bytes],
      ['v6 packets', a.v6.packets, b.v6.packets], ['v6 bytes', a.v6.bytes, b.v6.bytes]],
  };
}

function differ(pairs: [string, ArrayLike<number>, ArrayLike<number>][], what: string): string | null {
  for (const [name, x, y] of pairs) {
    const i = firstDifference(x, y);
    if (i >= 0) return `${what}: ${name}[${i}]: js ${x[i]} native ${y[i]}`;
  }
  return null;
}

function trackerArrays(a: Conntrack, b: Conntrack): [string, ArrayLike<number>, ArrayLike<number>][] {
  return [['counters', a.counters, b.counters], ['slots', a.table.slots, b.table.slots], ['tuples', a.table.tuples, b.table.tuples],
    ['meta', a.table.meta, b.table.meta], ['state', a.state, b.state], ['status', a.status, b.status], ['expires', a.expires, b.expires],
    ['fragments', a.fragments.keys, b.fragments.keys], ['fragment verdicts', a.fragments.verdict, b.fragments.verdict]];
}

interface Result { problem: string | null; rows: number; accepted: number; inserts: number }

/** The TypeScript path and fillRun over `path`, batch by batch. */
function compareRun(path: string, index: ClusterIndex, model: Model, chunkSize = MIN_CHUNK, capacity = 2048, prefetch?: number): Result {
  const jsCt = newConntrack(), natCt = newConntrack();
  const e = engines(index, model, jsCt);
  const js = openCapture(path, { chunkSize }), nat = openNativeCapture(addon!, path, { chunkSize, prefetch });
  const a = new FlowBatch(capacity), b = new FlowBatch(capacity);
  let rows = 0, accepted = 0;
  const result = (problem: string | null): Result => ({ problem, rows, accepted, inserts: jsCt.counters[Counter.INSERTS]! });
  try {
    for (let k = 0; ; k++) {
      const n = js.fill(a);
      for (let i = 0; i < n; i++) runRow(e.js, a, i);
      const m = nat.fillRun(e.native, natCt, b);
      const what = `${path} ${model} batch ${k}`;
      if (n !== m) return result(`${what}: rows js ${n} native ${m}`);
      for (const col of ['ctState', 'verdict', 'cost', 'decidedBy', 'recordIndex', 'dataOffset'] as const) {
        const i = firstDifference(a[col], b[col], n);
        if (i >= 0) return result(`${what}: row ${i} ${col}: js ${a[col][i]} native ${b[col][i]}`);
      }
      for (let i = 0; i < n; i++) accepted += a.verdict[i] === 1 ? 1 : 0;
      rows += n;
      const problem = differ(e.counters(), what);
      if (problem) return result(problem);
      if (n === 0) break;
    }
    if (JSON.stringify(js.damage) !== JSON.stringify(nat.damage)) return result(`damage ${JSON.stringify(js.damage)} vs ${JSON.stringify(nat.damage)}`);
    if (e.js.orphanFragments !== nat.orphans) return result(`orphans js ${e.js.orphanFragments} native ${nat.orphans}`);
    return result(differ(trackerArrays(jsCt, natCt), `${path} ${model} tracker at the end`));
  } finally {
    js.close();
    nat.close();
  }
}

const formats = readdirSync('captures/formats').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join('captures/formats', f));

d('the fused native walk+decode+conntrack+model equals the reader and runRow', () => {
  for (const model of ['ebpf', 'iptables'] as const) {
    it(`${model}: the seed capture and ${formats.length} format captures (pcap and pcapng)`, () => {
      const index = seedIndexFromYaml();
      let rows = 0, accepted = 0;
      for (const path of [SEED_PCAP, ...formats]) {
        const r = compareRun(path, index, model);
        expect(r.problem, r.problem ?? '').toBeNull();
        rows += r.rows;
        accepted += r.accepted;
      }
      expect(rows).toBeGreaterThan(100);
      expect(accepted).toBeGreaterThan(0);
    });

    for (const [v6, size] of [[false, '64'], [true, '64'], [false, 'imix']] as const) {
      it(`${model}: synth ${size} IPv${v6 ? 6 : 4} sessions straddling chunks, batches of 4096 and 100, with and without prefetching, then damaged`, () => {
        const index = seedIndex(v6, true);
        const bytes = synthBytes(index, size === '64' ? 30_000 : 3_000, size, 9);
        const path = writeTemp(bytes, 'run.pcap');
        // Prefetch 0: one pass (walk, decode, run per record); 8 and 63: decode the batch, then run it.
        for (const [chunk, capacity, prefetch] of [[MIN_CHUNK + 37, 4096, 8], [MIN_CHUNK, 100, 0], [MIN_CHUNK + 1001, 1000, 63]] as const) {
          const r = compareRun(path, index, model, chunk, capacity, prefetch);
          expect(r.problem, r.problem ?? '').toBeNull();
          expect(r.rows).toBe(size === '64' ? 30_000 : 3_000);
          expect(r.inserts).toBeGreaterThan(50);
          expect(r.accepted).toBeGreaterThan(0);
        }
        for (const bad of damaged(bytes, true, 4)) {
          const r = compareRun(writeTemp(bad.bytes, `${bad.name}.pcap`), index, model, MIN_CHUNK + 1001, 1000);
          expect(r.problem, `${bad.name}: ${r.problem}`).toBeNull();
        }
      });
    }
  }
});
