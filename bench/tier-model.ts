/**
 * One tier with one model, in its own process (so that its peak RSS is its own): load the tier's cluster,
 * compile (timed, peak memory), output size, then on seeded 64-byte traffic: classification of
 * connection-opening packets (every row NEW: the policy decision alone) and end-to-end `replay()` (read,
 * decode, DNAT, conntrack, model, connections) in TypeScript and, when the addon loads, native: staged,
 * fused, and fused on two threads; then the replays again on traffic of longer connections (LONG_FLOW_EXCHANGES
 * request/response exchanges each). Prints one JSON document on stdout.
 *
 *   node dist/bench/tier-model.js <tier> <iptables|ebpf> <workdir> <packets> [no-threads]
 *
 * `no-threads` leaves out the two-thread replay (nativeThreads2: null), to measure the rest alone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compileEbpf } from '../src/compile/ebpf/compile.js';
import { writeIptablesFiles } from '../src/cli/compile.js';
import { compileIptables, summarize } from '../src/compile/iptables/index.js';
import { newConntrack } from '../src/conntrack/index.js';
import type { BufferAllocator } from '../src/conntrack/arena.js';
import { decodeCaptures, type DecodedTraffic } from '../src/compare/traffic.js';
import { loadCluster } from '../src/manifests/load.js';
import { indexCluster, type ClusterIndex } from '../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../src/model/evaluate.js';
import { classifyBatch as classifyEbpf, classifyRow as classifyEbpfRow, loadEbpf, newHitCounters, type LoadedEbpf } from '../src/match/ebpf.js';
import { classifyBatch as classifyIptables, classifyRow as classifyIptablesRow, loadIptables, type IptablesMatcher } from '../src/match/iptables.js';
import { withOwnCounters } from '../src/match/iptables-pack.js';
import { classifyNative, DEFAULT_DECISION_SLOTS, nativeEbpf, nativeIptables, type NativeModelHandle } from '../src/native/engine.js';
import { hugeAllocator, nativeAddon, nativeTables, type NativeAddon } from '../src/native/load.js';
import { replay, type ReplayOptions, type ReplayResult } from '../src/replay/replay.js';
import type { RowModel } from '../src/replay/models.js';
import { fileSink } from '../src/traffic/pcap/writer.js';
import { synthToSink } from '../src/traffic/synth/index.js';
import { CtState, FlowBatch } from '../src/wire/flow-batch.js';
import { stageLadder } from './ladder.js';
import { type Ladder, measure, quantile, seconds, settleForReplay, type Measured } from './lib.js';
import { clusterFile, tierByName } from './tiers.js';

const options = DEFAULT_EVAL_OPTIONS;

/**
 * The bench's traffic is short connections: an allowed TCP connection is a handshake, one exchange and
 * the FIN exchange (8 packets), a denied one three SYNs; about five packets a connection in all. Every
 * connection's first packet costs a policy decision and a tracker entry, so a replay's rate depends on
 * packets per connection. This many exchanges per allowed TCP connection (38 packets each) gives the
 * second traffic of each tier, for the rate on longer connections.
 */
export const LONG_FLOW_EXCHANGES = 16;
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

interface Compiled {
  readonly compileSeconds: number;
  readonly packSeconds: number;
  readonly size: Record<string, number>;
  readonly classifyTs: (b: FlowBatch) => void;
  readonly classifyRow: (b: FlowBatch, i: number) => void;
  /**
   * The native model. `cached`: with its decision cache, as replay() binds it (for the ladder, whose
   * rungs must nest); without, for classification alone, so that what is timed is the model's lookups
   * or walk (the bench's traffic meets about 3,200 flows again and again).
   */
  readonly bindNative: (cached: boolean) => NativeModelHandle | null;
  /**
   * A fresh RowModel over the tables compiled above, for replay()'s `rowModels`: its own tracker (its
   * arrays from `allocate`) and its own zeroed hit (eBPF) or rule (iptables) counters, as a CLI replay
   * has them.
   */
  readonly rowModel: (allocate?: BufferAllocator) => RowModel;
}

function compileIpt(index: ClusterIndex, outDir: string): Compiled {
  const t = process.hrtime.bigint();
  const program = compileIptables(index, options);
  // Streamed into the files as `netsieve compile -o` writes them: the stress tier's ipset text (3.7 GB)
  // is longer than one V8 string. So this time includes writing them (to the page cache).
  const textBytes = writeIptablesFiles(outDir, program);
  const compileSeconds = seconds(t);
  const p = process.hrtime.bigint();
  const m = loadIptables(program);
  const packSeconds = seconds(p);
  const s = summarize(program);
  const addon = nativeAddon().addon;
  return {
    compileSeconds, packSeconds, size: { rules: s.rules.v4 + s.rules.v6, chains: s.chains.v4 + s.chains.v6, sets: s.sets, members: s.members, textBytes },
    classifyTs: (b) => classifyIptables(m, b), classifyRow: (b, i) => classifyIptablesRow(m, b, i), bindNative: (cached) => (addon ? nativeIptables(addon, m, { decisions: cached ? DEFAULT_DECISION_SLOTS : 0 }) : null),
    rowModel: (allocate) => {
      // As loadIptables takes them: from the addon on the native engine (allocate given), else ordinary memory.
      const fresh = withFreshCounters(m, addon && allocate ? nativeTables(addon).allocateSparse : undefined);
      return { name: 'iptables', matcher: fresh, conntrack: newConntrack({ allocate }), orphanFragments: 0, classify: (b, i) => classifyIptablesRow(fresh, b, i) } as RowModel;
    },
  };
}

function compileBpf(index: ClusterIndex): Compiled {
  const t = process.hrtime.bigint();
  const program = compileEbpf(index, options);
  const compileSeconds = seconds(t);
  const addon = nativeAddon().addon;
  // Loaded as a replay on the native engine loads it (src/replay/fused.ts), the rows placed in C.
  const p = process.hrtime.bigint();
  const loaded = loadEbpf(program, addon ? nativeTables(addon) : {});
  const packSeconds = seconds(p);
  return {
    compileSeconds, packSeconds,
    size: { mapEntries: program.policyMap.count, ipcacheEntries: program.ipcache.length, identities: program.identities.length, endpoints: program.endpoints.length },
    classifyTs: (b) => classifyEbpf(loaded, b), classifyRow: (b, i) => classifyEbpfRow(loaded, b, i), bindNative: (cached) => (addon ? nativeEbpf(addon, loaded, { decisions: cached ? DEFAULT_DECISION_SLOTS : 0 }) : null),
    rowModel: (allocate) => {
      // As loadEbpf takes them: from the addon on the native engine (allocate given), else ordinary memory.
      const fresh: LoadedEbpf = { ...loaded, hits: newHitCounters(loaded.hits.length, addon && allocate ? nativeTables(addon) : {}) };
      return { name: 'ebpf', loaded: fresh, conntrack: newConntrack({ allocate }), orphanFragments: 0, classify: (b, i) => classifyEbpfRow(fresh, b, i) } as RowModel;
    },
  };
}

/**
 * The matcher with zeroed rule counters of its own (a replay's row model): each replay counts from zero
 * into fresh memory, as `netsieve replay` does, not into pages the classification runs already touched.
 */
function withFreshCounters(m: IptablesMatcher, allocate?: BufferAllocator): IptablesMatcher {
  return { ...m, v4: withOwnCounters(m.v4, allocate), v6: withOwnCounters(m.v6, allocate) };
}

/** Every row a connection opening: what is timed is the policy decision alone. */
function classification(c: Compiled, traffic: DecodedTraffic): { cases: Measured[]; costPerPacket: number } {
  for (const b of traffic.batches) b.ctState.fill(CtState.NEW, 0, b.count);
  const n = traffic.packets;
  let cost = 0;
  for (const b of traffic.batches) {
    c.classifyTs(b);
    for (let i = 0; i < b.count; i++) cost += b.cost[i]!;
  }
  const specs = [{ name: 'classify, TypeScript', packetsPerOp: n, fn: () => { for (const b of traffic.batches) c.classifyTs(b); } }];
  const nm = c.bindNative(false);
  if (nm) specs.push({ name: 'classify, native', packetsPerOp: n, fn: () => { for (const b of traffic.batches) classifyNative(nm, b); } });
  return { cases: measure(specs), costPerPacket: cost / n };
}

export interface EndToEnd {
  /** `replay()` as `netsieve replay --model <model>` runs it, best of three, packets per wall second. */
  readonly ts: number;
  readonly nativeStaged: number | null;
  readonly native: number | null;
  readonly nativeThreads2: number | null;
  /**
   * Two threads over one, fused, as the ratio of the medians of runs taken in turn: only in the results
   * of 2026-11-27 00:38 and 00:48, which measured it that way (and showed it biased: see bench/README.md).
   */
  readonly threads2Ratio?: number | null;
  /**
   * What a second thread gave busy, cache-resident code on this machine right before each two-thread
   * run: the addon's wide loop (native/src/calibrate.cc) on two threads over one, in throughput, median.
   * 2 on two free cores; less when the two vCPUs share a core, or a neighbour on the host is busy.
   */
  readonly machineThreads2?: number | null;
  /** The same runs' packets per CPU second (the process's, all threads): the per-core figure on a shared machine. */
  readonly tsPerCpu: number;
  readonly nativePerCpu: number | null;
  /** The traffic's packets per connection (the replay's packets over its connections). */
  readonly packetsPerConnection?: number;
}

/** The replays of endToEnd (TypeScript, native fused, fused on two threads) on the tier's long-flow traffic. */
export interface LongFlows {
  /** Request/response exchanges per allowed TCP connection (LONG_FLOW_EXCHANGES). */
  readonly exchanges: number;
  readonly packetsPerConnection: number;
  readonly ts: number;
  readonly native: number | null;
  readonly nativeThreads2: number | null;
  readonly machineThreads2: number | null;
}

/**
 * End-to-end: `replay()` itself (read, decode, DNAT, conntrack, the model, connection grouping, from an
 * empty connection table, tracker and counters each run) on the model compiled above (`rowModels`:
 * compiling again per run would time the compiler, and at the real tier the garbage collector), best of
 * three: TypeScript, the
 * native engine staged (the model in C per batch, the rest in TypeScript), fused (all of it in C), and
 * fused on two threads (two lanes sharing the compiled model: src/replay/fused-lanes.ts).
 */
async function endToEnd(c: Compiled, model: 'iptables' | 'ebpf', index: ClusterIndex, pcap: string, threads: boolean): Promise<EndToEnd> {
  const r = await replayRuns(c, model, index, pcap, { staged: true, threads });
  return {
    ts: r.ts.pps, tsPerCpu: r.ts.perCpu, nativeStaged: r.staged?.pps ?? null, native: r.fused?.pps ?? null, nativePerCpu: r.fused?.perCpu ?? null,
    nativeThreads2: r.threads2?.pps ?? null, machineThreads2: r.machineThreads2, packetsPerConnection: r.ts.packetsPerConnection,
  };
}

/** endToEnd's TypeScript, fused and two-thread replays on the long-flow traffic `pcap`. */
async function longFlows(c: Compiled, model: 'iptables' | 'ebpf', index: ClusterIndex, pcap: string, threads: boolean): Promise<LongFlows> {
  const r = await replayRuns(c, model, index, pcap, { staged: false, threads });
  return {
    exchanges: LONG_FLOW_EXCHANGES, packetsPerConnection: r.ts.packetsPerConnection, ts: r.ts.pps, native: r.fused?.pps ?? null,
    nativeThreads2: r.threads2?.pps ?? null, machineThreads2: r.machineThreads2,
  };
}

interface ReplayRuns {
  readonly ts: Runs;
  /** null without the addon, and `staged` when not asked for; `threads2` when not asked for either. */
  readonly fused: Runs | null;
  readonly staged: Runs | null;
  readonly threads2: Runs | null;
  /** Median of machineThreads2 before each two-thread run. */
  readonly machineThreads2: number | null;
}

/** The replays of one traffic, in this order: TypeScript, native fused, native staged, fused on two threads. */
async function replayRuns(
  c: Compiled, model: 'iptables' | 'ebpf', index: ClusterIndex, pcap: string, want: { staged: boolean; threads: boolean },
): Promise<ReplayRuns> {
  const addon = nativeAddon().addon;
  const base: ReplayOptions = { index, evalOptions: options, models: [model], rowModels: () => c.rowModel() };
  const ts = await bestOfThree(pcap, { ...base, addon: null });
  if (!addon) return { ts, fused: null, staged: null, threads2: null, machineThreads2: null };
  // As replay() builds them with the addon loaded: the tracker's arrays in huge pages.
  const native = { ...base, addon, rowModels: () => c.rowModel(hugeAllocator(addon)) };
  const fused = await bestOfThree(pcap, native);
  const staged = want.staged ? await bestOfThree(pcap, { ...native, fuse: false }) : null;
  const ceilings: number[] = [];
  const calibrate = (): void => { ceilings.push(machineThreads2(addon)); };
  const threads2 = want.threads ? await bestOfThree(pcap, { ...native, threads: 2 }, calibrate) : null;
  return { ts, fused, staged, threads2, machineThreads2: ceilings.length ? quantile(ceilings, 0.5) : null };
}

/** bench/ladder.ts on the model compiled above, when the addon loads; null otherwise. */
async function nativeLadder(c: Compiled, model: 'iptables' | 'ebpf', index: ClusterIndex, pcap: string): Promise<Ladder | null> {
  const addon = nativeAddon().addon;
  const nm = c.bindNative(true);
  if (!addon || !nm) return null;
  return stageLadder(addon, nm, pcap, { index, evalOptions: options, models: [model], rowModels: () => c.rowModel(hugeAllocator(addon)) });
}

interface Runs {
  /** Best of the runs, packets per wall second and per CPU second. */
  readonly pps: number;
  readonly perCpu: number;
  /** The traffic's packets per connection (the same in every run). */
  readonly packetsPerConnection: number;
}

/** The wide loop's throughput on two threads over one (about 0.07 s each at this machine's speed). */
function machineThreads2(addon: NativeAddon): number {
  const rounds = 1e8;
  return (2 * addon.machineCeiling('wide', 1, rounds)) / addon.machineCeiling('wide', 2, rounds);
}

/** What the bench keeps of a replay: its result itself would hold the run's tables (below). */
interface Timed {
  readonly packets: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly connections: number;
}

/**
 * Before each run the heap is settled (lib.ts settleForReplay), so that the collection the previous run's
 * tables started is not timed with this run, and the event loop turns: Node frees the native tables of a
 * finished replay (external ArrayBuffers) only in a finalizer it runs on a later turn, and a synchronous
 * loop kept every run's tables mapped (RSS grew by a table per run and later runs slowed). Freed, the
 * tables go back to the addon's pool for the next run (native/src/table-pool.cc). Only the
 * figures leave this function: a result kept in the caller's loop stayed reachable (an async function's
 * locals live in its frame) while the next run ran, with its connection table and, on two threads, its
 * lanes' tables, so the next run took fresh memory instead (real tier, two threads: 23 fresh mappings,
 * 726 MiB, against 0-7 when the result was dropped).
 */
async function replayOnce(pcap: string, opts: ReplayOptions): Promise<Timed> {
  await settleForReplay(opts.addon);
  const r: ReplayResult = replay([pcap], opts);
  return { packets: r.packets, seconds: r.seconds, cpuSeconds: r.cpuSeconds, connections: r.connections.count };
}

/**
 * Best of three runs of one configuration, one after another (`each` before each run). Taking one thread
 * and two in turn instead (2026-11-26 21:52, 2026-11-27 00:38 and 00:48) favoured one thread: a run
 * after a two-thread run reuses the memory the lanes freed, which the host had backed, and fresh memory
 * is most of a replay's cost on these VMs (bench/README.md).
 */
async function bestOfThree(pcap: string, opts: ReplayOptions, each?: () => void): Promise<Runs> {
  let pps = 0, perCpu = 0, packetsPerConnection = 0;
  for (let k = 0; k < 3; k++) {
    each?.();
    const r = await replayOnce(pcap, opts);
    pps = Math.max(pps, r.packets / r.seconds);
    perCpu = Math.max(perCpu, r.packets / r.cpuSeconds);
    packetsPerConnection = r.packets / Math.max(1, r.connections);
  }
  return { pps, perCpu, packetsPerConnection };
}

async function main(): Promise<void> {
  const [tierName, model, dir, packetsText, skip] = process.argv.slice(2);
  if (skip !== undefined && skip !== 'no-threads') throw new Error(`fifth argument: no-threads or nothing, not ${skip}`);
  if (model !== 'iptables' && model !== 'ebpf') throw new Error(`model: iptables or ebpf, not ${model}`);
  const tier = tierByName(tierName!);
  const t0 = process.hrtime.bigint();
  const index = indexCluster(loadCluster([clusterFile(tier, dir!)]).cluster);
  const loadSeconds = seconds(t0);
  const rssBeforeCompile = peakRss();
  const c = model === 'iptables' ? compileIpt(index, join(dir!, `iptables-${tier.name}`)) : compileBpf(index);
  const rssAfterCompile = peakRss();
  const pcap = join(dir!, `traffic-${tier.name}.pcap`);
  const size = { kind: 'fixed', bytes: 64 } as const;
  if (!existsSync(pcap)) synthToSink(index, { packets: Number(packetsText), seed: 1, size }, fileSink(pcap));
  const longPcap = join(dir!, `traffic-${tier.name}-x${LONG_FLOW_EXCHANGES}.pcap`);
  if (!existsSync(longPcap)) synthToSink(index, { packets: Number(packetsText), seed: 1, size, exchanges: LONG_FLOW_EXCHANGES }, fileSink(longPcap));
  const traffic = decodeCaptures([pcap], index);
  const e2e = await endToEnd(c, model, index, pcap, skip !== 'no-threads');
  const long = await longFlows(c, model, index, longPcap, skip !== 'no-threads');
  const ladder = await nativeLadder(c, model, index, pcap);
  const cls = classification(c, traffic);
  const load = nativeAddon();
  process.stdout.write(`${JSON.stringify({
    tier: tier.name, model, loadSeconds, compileSeconds: c.compileSeconds, packSeconds: c.packSeconds, size: c.size,
    rssBeforeCompile, rssAfterCompile, packets: traffic.packets, classify: cls.cases, costPerPacket: cls.costPerPacket,
    replayPps: e2e.ts, replayNativePps: e2e.native, replay: e2e, longFlows: long, ladder, native: load.addon ? 'loaded' : `not loaded: ${load.reason}`, seconds: seconds(t0),
  })}\n`);
}

await main();
