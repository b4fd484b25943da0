/**
 * Native versus TypeScript on the same batches in the same run: classification alone (every row an
 * opening packet, so every row does the full lookup or walk) and the whole model stage of a replay
 * (conntrack track -> model -> confirm). Plain functions over prepared batches, so a benchmark suite can
 * call them; native/measure.mjs is the command-line wrapper. Each figure is the best of `repeats` runs
 * over fresh models and trackers (compilation and binding excluded), in CPU time of this process.
 */
import { compileEbpf } from '../compile/ebpf/compile.js';
import { compileIptables } from '../compile/iptables/index.js';
import { newConntrack } from '../conntrack/state.js';
import { classifyBatch as ebpfBatch, classifyRow as ebpfRow, loadEbpf } from '../match/ebpf.js';
import { classifyBatch as iptBatch, classifyRow as iptRow, loadIptables } from '../match/iptables.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import { runRow, type RowModel } from '../replay/models.js';
import { openCapture } from '../traffic/pcap/reader.js';
import { CtState, FlowBatch } from '../wire/flow-batch.js';
import { classifyNative, decodeNative, nativeEbpf, nativeIptables, runNative, type NativeModelHandle } from './engine.js';
import type { NativeAddon } from './load.js';
import { openNativeCapture } from './walk.js';

export type MeasuredModel = 'ebpf' | 'iptables';
export type Stage = 'classify' | 'conntrack+classify' | 'read+decode+conntrack+classify';

export interface Figure {
  readonly model: MeasuredModel;
  readonly stage: Stage;
  readonly rows: number;
  readonly jsMpps: number;
  readonly nativeMpps: number;
  /** nativeMpps / jsMpps. */
  readonly ratio: number;
  /** Mean cost per row (rules walked or probes), equal for both engines (checked). */
  readonly costPerRow: number;
}

interface Engines {
  js(): { perRow: (b: FlowBatch, i: number) => void; perBatch: (b: FlowBatch) => void };
  native(): NativeModelHandle;
}

function engines(addon: NativeAddon, model: MeasuredModel, index: ClusterIndex, options: EvalOptions): Engines {
  if (model === 'ebpf') {
    const program = compileEbpf(index, options);
    return {
      js: () => { const p = loadEbpf(program); return { perRow: (b, i) => ebpfRow(p, b, i), perBatch: (b) => ebpfBatch(p, b) }; },
      native: () => nativeEbpf(addon, loadEbpf(program)),
    };
  }
  const program = compileIptables(index, options);
  return {
    js: () => { const m = loadIptables(program); return { perRow: (b, i) => iptRow(m, b, i), perBatch: (b) => iptBatch(m, b) }; },
    native: () => nativeIptables(addon, loadIptables(program)),
  };
}

/**
 * CPU seconds (user + system) of this process while `fn` runs: on a shared, loaded machine wall time
 * measures the scheduler; CPU time measures the work (GC threads included, as they work for the loop).
 */
function seconds(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1e6;
}

function costSum(batches: readonly FlowBatch[]): number {
  let sum = 0;
  for (const b of batches) for (let i = 0; i < b.count; i++) sum += b.cost[i]!;
  return sum;
}

function timeStage(e: Engines, stage: Stage, batches: readonly FlowBatch[], native: boolean): number {
  if (stage === 'classify') {
    for (const b of batches) b.ctState.fill(CtState.NEW, 0, b.count);
    if (native) { const nm = e.native(); return seconds(() => { for (const b of batches) classifyNative(nm, b); }); }
    const js = e.js();
    return seconds(() => { for (const b of batches) js.perBatch(b); });
  }
  const ct = newConntrack();
  if (native) { const nm = e.native(); return seconds(() => { for (const b of batches) runNative(nm, ct, b); }); }
  const js = e.js();
  const model: RowModel = { name: 'ebpf', conntrack: ct, orphanFragments: 0, classify: js.perRow };
  return seconds(() => { for (const b of batches) for (let i = 0; i < b.count; i++) runRow(model, b, i); });
}

/**
 * Both engines on `batches` (rows decoded, Service DNAT already applied if wanted). The batches' output
 * columns are overwritten. Throws if the two engines' total cost differs (they must agree).
 */
export function sideBySide(
  addon: NativeAddon, index: ClusterIndex, options: EvalOptions, batches: readonly FlowBatch[], repeats = 3,
  models: readonly MeasuredModel[] = ['ebpf', 'iptables'], stages: readonly Stage[] = ['classify', 'conntrack+classify'],
): Figure[] {
  const rows = batches.reduce((n, b) => n + b.count, 0);
  const out: Figure[] = [];
  for (const model of models) {
    const e = engines(addon, model, index, options);
    for (const stage of stages) {
      let js = Infinity;
      let nat = Infinity;
      let jsCost = 0;
      let natCost = 0;
      for (let r = 0; r < repeats; r++) {
        js = Math.min(js, timeStage(e, stage, batches, false));
        jsCost = costSum(batches);
        nat = Math.min(nat, timeStage(e, stage, batches, true));
        natCost = costSum(batches);
      }
      if (jsCost !== natCost) throw new Error(`${model} ${stage}: total cost differs (js ${jsCost}, native ${natCost})`);
      out.push({ model, stage, rows, jsMpps: rows / js / 1e6, nativeMpps: rows / nat / 1e6, ratio: js / nat, costPerRow: jsCost / rows });
    }
  }
  return out;
}

/** One pass over the capture: the reader's walk, decoding, conntrack and the model; returns CPU seconds and cost. */
function timePipeline(e: Engines, path: string, native: NativeAddon | null, batchSize: number): { s: number; cost: number; rows: number } {
  const reader = openCapture(path, { decode: native === null });
  const batch = new FlowBatch(batchSize);
  const ct = newConntrack();
  let cost = 0;
  let rows = 0;
  try {
    if (native !== null) {
      const nm = e.native();
      const s = seconds(() => {
        while (reader.fill(batch) > 0) {
          decodeNative(native, reader.chunk, batch);
          runNative(nm, ct, batch);
          rows += batch.count;
          for (let i = 0; i < batch.count; i++) cost += batch.cost[i]!;
        }
      });
      return { s, cost, rows };
    }
    const js = e.js();
    const model: RowModel = { name: 'ebpf', conntrack: ct, orphanFragments: 0, classify: js.perRow };
    const s = seconds(() => {
      while (reader.fill(batch) > 0) {
        for (let i = 0; i < batch.count; i++) { runRow(model, batch, i); cost += batch.cost[i]!; }
        rows += batch.count;
      }
    });
    return { s, cost, rows };
  } finally {
    reader.close();
  }
}

/**
 * The whole per-packet path of a replay from a capture file (Service DNAT and the report's connection
 * table aside): TypeScript (reader decoding, runRow per row) versus native (reader walking records only,
 * decodeNative and runNative per batch). Best of `repeats`, CPU time; the file should be in the page cache.
 */
export function pipelineSideBySide(
  addon: NativeAddon, index: ClusterIndex, options: EvalOptions, path: string, repeats = 3,
  models: readonly MeasuredModel[] = ['ebpf', 'iptables'], batchSize = 4096,
): Figure[] {
  const out: Figure[] = [];
  for (const model of models) {
    const e = engines(addon, model, index, options);
    let js = Infinity;
    let nat = Infinity;
    let rows = 0;
    let cost = 0;
    for (let r = 0; r < repeats; r++) {
      const a = timePipeline(e, path, null, batchSize);
      const b = timePipeline(e, path, addon, batchSize);
      if (a.cost !== b.cost || a.rows !== b.rows) throw new Error(`${model} pipeline: engines differ (cost ${a.cost} vs ${b.cost})`);
      js = Math.min(js, a.s);
      nat = Math.min(nat, b.s);
      rows = a.rows;
      cost = a.cost;
    }
    out.push({ model, stage: 'read+decode+conntrack+classify', rows, jsMpps: rows / js / 1e6, nativeMpps: rows / nat / 1e6, ratio: js / nat, costPerRow: cost / rows });
  }
  return out;
}

/** The whole file path three ways, same file, same run: Mpps of each and the ratios. */
export interface WalkFigure {
  readonly model: MeasuredModel;
  readonly rows: number;
  /** TypeScript reader (walk + decode) and runRow per row. */
  readonly tsMpps: number;
  /** TypeScript reader walking records only, decodeNative and runNative per batch (two calls per batch). */
  readonly todayMpps: number;
  /** The native walk fused with decode, conntrack and the model: one fillRun call per batch. */
  readonly fusedMpps: number;
  readonly fusedVsTs: number;
  readonly fusedVsToday: number;
  readonly costPerRow: number;
}

/** One pass of the fused native path (openNativeCapture + fillRun); CPU seconds, cost and rows. */
function timeFused(e: Engines, path: string, addon: NativeAddon, batchSize: number): { s: number; cost: number; rows: number } {
  const reader = openNativeCapture(addon, path);
  const batch = new FlowBatch(batchSize);
  const ct = newConntrack();
  const nm = e.native();
  let cost = 0;
  let rows = 0;
  try {
    const s = seconds(() => {
      while (reader.fillRun(nm, ct, batch) > 0) {
        rows += batch.count;
        for (let i = 0; i < batch.count; i++) cost += batch.cost[i]!;
      }
    });
    return { s, cost, rows };
  } finally {
    reader.close();
  }
}

/**
 * TypeScript path vs today's native path vs the fused native walk over the capture at `path` (in the
 * page cache), best of `repeats` each, interleaved so load changes hit all three alike. Throws if the
 * three disagree on rows or total cost.
 */
export function walkSideBySide(
  addon: NativeAddon, index: ClusterIndex, options: EvalOptions, path: string, repeats = 3,
  models: readonly MeasuredModel[] = ['ebpf', 'iptables'], batchSize = 4096,
): WalkFigure[] {
  return models.map((model) => {
    const e = engines(addon, model, index, options);
    const best = [Infinity, Infinity, Infinity];
    let rows = 0;
    let cost = 0;
    for (let r = 0; r < repeats; r++) {
      const runs = [timePipeline(e, path, null, batchSize), timePipeline(e, path, addon, batchSize), timeFused(e, path, addon, batchSize)];
      for (const [k, x] of runs.entries()) {
        if (x.cost !== runs[0]!.cost || x.rows !== runs[0]!.rows) throw new Error(`${model}: path ${k} differs (rows ${x.rows}, cost ${x.cost} vs ${runs[0]!.cost})`);
        best[k] = Math.min(best[k]!, x.s);
      }
      rows = runs[0]!.rows;
      cost = runs[0]!.cost;
    }
    const [ts, today, fused] = best.map((s) => rows / s! / 1e6) as [number, number, number];
    return { model, rows, tsMpps: ts, todayMpps: today, fusedMpps: fused, fusedVsTs: fused / ts, fusedVsToday: fused / today, costPerRow: cost / rows };
  });
}

/** Walking records only (no decode), TypeScript reader vs the native walk: Mpps of each, best of `repeats`. */
export function walkOnly(addon: NativeAddon, path: string, repeats = 3, batchSize = 4096): { rows: number; tsMpps: number; nativeMpps: number } {
  let ts = Infinity;
  let nat = Infinity;
  let rows = 0;
  for (let r = 0; r < repeats; r++) {
    for (const native of [false, true]) {
      const reader = native ? openNativeCapture(addon, path, { decode: false }) : openCapture(path, { decode: false });
      const batch = new FlowBatch(batchSize);
      let n = 0;
      const s = seconds(() => { while (reader.fill(batch) > 0) n += batch.count; });
      reader.close();
      rows = n;
      if (native) nat = Math.min(nat, s); else ts = Math.min(ts, s);
    }
  }
  return { rows, tsMpps: rows / ts / 1e6, nativeMpps: rows / nat / 1e6 };
}
