/**
 * The two compiled dataplane models side by side: compile (timed, retained memory measured), output size,
 * and timed passes of the decoded traffic through conntrack -> filter -> confirm, in TypeScript and, when
 * the addon is loaded, in native code. Each pass starts from an empty connection table, as a fresh node
 * would; the verdicts of the first pass are kept for the agreement check. The table is one per model and
 * engine, emptied between passes (clearConntrack): a new one per pass had its pages faulted in inside
 * the timed region, which at a few thousand packets cost more than the packets (2,000 packets: native
 * 175k pps, TypeScript 280k).
 */
import { compileEbpf } from '../compile/ebpf/compile.js';
import { compileIptables, summarize } from '../compile/iptables/index.js';
import { clearConntrack, newConntrack, type Conntrack } from '../conntrack/index.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import { classifyRow as classifyEbpf, loadEbpf } from '../match/ebpf.js';
import { classifyRow as classifyIptables, loadIptables } from '../match/iptables.js';
import { nativeEbpf, nativeIptables, runNative, type NativeModelHandle } from '../native/engine.js';
import { nativeTables, type NativeAddon } from '../native/load.js';
import { runRow, type RowModel } from '../replay/models.js';
import { CtState, Verdict, type FlowBatch } from '../wire/flow-batch.js';
import { summarizeTrackers, type TrackerSummary } from '../replay/trackers.js';
import { liveBytes } from './memory.js';
import type { DecodedTraffic } from './traffic.js';

export type CompareModel = 'iptables' | 'ebpf';
export type EngineName = 'js' | 'native';

export interface CompiledModel {
  readonly name: CompareModel;
  /** Compiling the model and packing it into the matcher's typed arrays (not loading manifests). */
  readonly compileSeconds: number;
  /** Bytes the compiled and packed model keeps alive (after GC when it can be forced). */
  readonly memoryBytes: number;
  /** iptables: rules, chains, sets, members; eBPF: mapEntries, ipcacheEntries, identities, endpoints. */
  readonly size: Readonly<Record<string, number>>;
  readonly classify: (batch: FlowBatch, i: number) => void;
  /** Bound lazily, once, on the first native pass. */
  native: NativeModelHandle | null;
  readonly bindNative: (addon: NativeAddon) => NativeModelHandle;
}

/**
 * `addon`: when loaded, the eBPF policy table's rows are placed in C (nativeTables' `place`; the table
 * is the same word for word), as a replay on the native engine packs them. Its memory stays ordinary
 * ArrayBuffers, which memoryBytes counts.
 */
export function compileModel(name: CompareModel, index: ClusterIndex, options: EvalOptions, addon: NativeAddon | null = null): CompiledModel {
  const before = liveBytes();
  const started = process.hrtime.bigint();
  const model = name === 'iptables' ? buildIptables(index, options) : buildEbpf(index, options, addon);
  const compileSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const memoryBytes = Math.max(0, liveBytes() - before);
  return { name, compileSeconds, memoryBytes, native: null, ...model };
}

type Built = Pick<CompiledModel, 'size' | 'classify' | 'bindNative'>;

function buildIptables(index: ClusterIndex, options: EvalOptions): Built {
  const program = compileIptables(index, options);
  const m = loadIptables(program);
  const s = summarize(program);
  return {
    size: { rules: s.rules.v4 + s.rules.v6, chains: s.chains.v4 + s.chains.v6, sets: s.sets, members: s.members },
    classify: (b, i) => classifyIptables(m, b, i),
    // No decision cache: compare times each model's own walk or lookups (nativeEbpf below).
    bindNative: (addon) => nativeIptables(addon, m, { decisions: 0 }),
  };
}

function buildEbpf(index: ClusterIndex, options: EvalOptions, addon: NativeAddon | null): Built {
  const program = compileEbpf(index, options);
  const p = loadEbpf(program, addon ? { place: nativeTables(addon).place } : {});
  return {
    size: { mapEntries: program.policyMap.count, ipcacheEntries: program.ipcache.length, identities: program.identities.length, endpoints: program.endpoints.length },
    classify: (b, i) => classifyEbpf(p, b, i),
    // No decision cache: compare times each model's own lookups or walk, like for like.
    bindNative: (addon) => nativeEbpf(addon, p, { decisions: 0 }),
  };
}

/** Nanoseconds a packet at `pps` packets a second (0 when nothing was timed). */
export function nsPerPacket(pps: number): number {
  return pps > 0 ? 1e9 / pps : 0;
}

export interface PassStats {
  readonly engine: EngineName;
  readonly passes: number;
  /** IP rows decided per pass. */
  readonly packets: number;
  readonly seconds: number;
  readonly pps: number;
  /** Rules walked (iptables) or probes (eBPF) per IP packet, and per connection-opening (NEW) packet. */
  readonly costPerPacket: number;
  readonly costPerNewPacket: number;
  readonly newPackets: number;
  /** Verdict per record of the first pass (Verdict codes; NONE for non-IP records). */
  readonly verdicts: Uint8Array;
  /** The first pass's conntrack table at its end (every pass starts empty and tracks the same packets). */
  readonly tracker: TrackerSummary;
}

export interface PassOptions {
  readonly engine: EngineName;
  readonly addon?: NativeAddon | null;
  /** Repeat passes until this much time was measured (default 0.25 s), at most maxPasses (default 50). */
  readonly minSeconds?: number;
  readonly maxPasses?: number;
  /** Entries each pass's conntrack table holds (the node's nf_conntrack_max); absent: the default. */
  readonly conntrackCapacity?: number;
}

/** Timed passes of the traffic through one model with one engine. */
export function timePasses(model: CompiledModel, traffic: DecodedTraffic, opts: PassOptions): PassStats {
  const verdicts = new Uint8Array(traffic.packets);
  const acc = { seconds: 0, cost: 0, newPackets: 0, newCost: 0, packets: 0 };
  let passes = 0;
  let tracker: TrackerSummary | null = null;
  const conntrack = newConntrack({ capacity: opts.conntrackCapacity });
  // One untimed pass first when timing matters, so the figures are of optimised code, not of the JIT.
  if ((opts.minSeconds ?? 0.25) > 0) onePass(model, traffic, opts, conntrack, { seconds: 0, cost: 0, newPackets: 0, newCost: 0, packets: 0 }, null);
  do {
    onePass(model, traffic, opts, conntrack, acc, passes === 0 ? verdicts : null);
    tracker ??= summarizeTrackers([conntrack]);
    passes++;
  } while (acc.seconds < (opts.minSeconds ?? 0.25) && passes < (opts.maxPasses ?? 50));
  const packets = acc.packets / passes;
  return {
    engine: opts.engine, passes, packets, seconds: acc.seconds, pps: acc.seconds > 0 ? acc.packets / acc.seconds : 0,
    costPerPacket: acc.packets > 0 ? acc.cost / acc.packets : 0, costPerNewPacket: acc.newPackets > 0 ? acc.newCost / acc.newPackets : 0,
    newPackets: acc.newPackets / passes, verdicts, tracker: tracker!,
  };
}

interface Acc { seconds: number; cost: number; newPackets: number; newCost: number; packets: number }

/** One pass from `conntrack` emptied; only the model's work on each batch is timed. */
function onePass(model: CompiledModel, traffic: DecodedTraffic, opts: PassOptions, conntrack: Conntrack, acc: Acc, verdicts: Uint8Array | null): void {
  clearConntrack(conntrack);
  const row: RowModel = { name: model.name, conntrack, classify: model.classify, orphanFragments: 0 };
  const native = opts.engine === 'native' ? nativeHandle(model, opts.addon) : null;
  let record = 0;
  for (const batch of traffic.batches) {
    const started = process.hrtime.bigint();
    if (native !== null) runNative(native, conntrack, batch);
    else for (let i = 0; i < batch.count; i++) if (batch.family[i] !== 0) runRow(row, batch, i);
    acc.seconds += Number(process.hrtime.bigint() - started) / 1e9;
    account(batch, acc, verdicts, record);
    record += batch.count;
  }
}

function nativeHandle(model: CompiledModel, addon: NativeAddon | null | undefined): NativeModelHandle {
  if (!addon) throw new Error('native pass requested without the addon');
  model.native ??= model.bindNative(addon);
  return model.native;
}

/** Outside the timed region: counts, costs and verdicts of the batch just decided. */
function account(batch: FlowBatch, acc: Acc, verdicts: Uint8Array | null, record: number): void {
  for (let i = 0; i < batch.count; i++) {
    const ip = batch.family[i] !== 0;
    if (verdicts !== null) verdicts[record + i] = ip ? batch.verdict[i]! : Verdict.NONE;
    if (!ip) continue;
    acc.packets++;
    acc.cost += batch.cost[i]!;
    if (batch.ctState[i] === CtState.NEW) {
      acc.newPackets++;
      acc.newCost += batch.cost[i]!;
    }
  }
}

/**
 * The policy decision alone: every IP row classified as a connection opening (ctState NEW), no
 * conntrack. Mutates the rows' ctState. Returns nanoseconds per packet (after untimed warm-up passes).
 */
export function timeClassify(model: CompiledModel, traffic: DecodedTraffic, minSeconds: number): number {
  for (const b of traffic.batches) b.ctState.fill(CtState.NEW, 0, b.count);
  const pass = (): void => {
    for (const b of traffic.batches) for (let i = 0; i < b.count; i++) if (b.family[i] !== 0) model.classify(b, i);
  };
  // Warm up until the optimising compiler has had its turn (a few passes, at most ~0.1 s).
  const warm = process.hrtime.bigint();
  for (let w = 0; w < 20 && (w < 3 || Number(process.hrtime.bigint() - warm) < 1e8); w++) pass();
  let elapsed = 0;
  let passes = 0;
  do {
    const started = process.hrtime.bigint();
    pass();
    elapsed += Number(process.hrtime.bigint() - started);
    passes++;
  } while (elapsed < minSeconds * 1e9 && passes < 50);
  return traffic.ipPackets > 0 ? elapsed / passes / traffic.ipPackets : 0;
}

/** Records of which the verdicts differ (non-IP records carry NONE in both). */
export function countDisagreements(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}
