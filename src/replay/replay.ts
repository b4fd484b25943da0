/**
 * The replay pipeline: stream captures through one or more dataplane models and gather what the report
 * needs. Per row: Service DNAT, then each model's conntrack -> filter -> confirm (runRow), then the
 * connection the row belongs to, the counters, and the write-outs. The first model named is the primary:
 * its verdicts make the connection verdicts and the written pcaps; the others are compared with it.
 *
 * Memory stays bounded: one batch, the reader's one chunk, the connection table (capped) and the
 * conntrack tables (capped). Nothing is allocated per packet except on rare events (a disagreement
 * recorded for the report). On the native engine a replay's tables go back to the addon through finalizers
 * Node runs a turn of the event loop later: a caller running replays in a synchronous loop holds them all
 * until it yields, so await between replays (native/README.md "Table memory").
 */
import { statSync } from 'node:fs';
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { DecisionMemo } from '../model/decision-memo.js';
import type { ModelName } from '../match/dataplane.js';
import { openCapture, type Damage } from '../traffic/pcap/reader.js';
import { openPcapWriter, type PcapWriter } from '../traffic/pcap/writer.js';
import { FlowBatch, RowFlag, Verdict } from '../wire/flow-batch.js';
import { decodeNative } from '../native/engine.js';
import type { NativeAddon } from '../native/load.js';
import { releaseTablesWhenIdle } from '../native/table-pool.js';
import { expectedConnections, type ConnectionTable } from './connections.js';
import type { RowModel } from './models.js';
import { applyNat, buildServiceNat, type ServiceNat } from './nat.js';
import { buildStage, settleTrackers, setStageFile, stageBatch, type Disagreement, type ModelCounts, type StageCounts } from './stage.js';
import { replaySharded } from './shard.js';
import { canFuse, replayFused } from './fused.js';
import { canFuseLanes, replayFusedLanes } from './fused-lanes.js';

export interface ReplayOptions {
  readonly index: ClusterIndex;
  readonly evalOptions: EvalOptions;
  /** Models to run; the first is the primary. */
  readonly models: readonly ModelName[];
  readonly writeAllowed?: string | undefined;
  readonly writeDropped?: string | undefined;
  /** Disagreements kept for the report. */
  readonly keepDisagreements?: number;
  readonly batchSize?: number;
  readonly maxConnections?: number;
  /** Entries each model's conntrack table holds (the node's nf_conntrack_max); absent: src/conntrack/state.ts's default. */
  readonly conntrackCapacity?: number;
  /** Called after each batch with the bytes read so far of all captures and their total size. */
  readonly progress?: ((bytesRead: number, totalBytes: number, packets: number) => void) | undefined;
  /** The native addon (`--engine native`): decoding and the compiled models run in C. Absent: TypeScript. */
  readonly addon?: NativeAddon | null;
  /** Worker threads, sharded by connection (./shard.ts); 1 or absent: this thread alone. */
  readonly threads?: number;
  /** false: keep a single native model on the staged pipeline (./fused.ts explains when it fuses); for comparisons. */
  readonly fuse?: boolean;
  /**
   * How lanes (./fused-lanes.ts) read classic pcaps: 'split' (the default), each lane walks every record
   * and decodes its own; 'handover', this thread decodes each record once and hands the row to its lane
   * (always so for pcapng, and when pcaps of allowed or dropped packets are written). For comparisons.
   */
  readonly laneWalk?: 'split' | 'handover';
  /**
   * A native replay on one thread: whether a helper thread faults in the tables' fresh pages ahead of it
   * (native/src/prefault.h). Absent: when this machine has a core to spare and the captures are not tiny
   * (./fused.ts wantsPrefault). For comparisons.
   */
  readonly prefault?: boolean;
  /**
   * Models the caller compiled once (benchmarks: a real-tier compile is too costly to repeat per run):
   * called once per model per replay, for a fresh RowModel with its own tracker. Absent: compiled here.
   * With --threads, lanes (one native model) run the first lane on it and give every other lane a tracker
   * like its tracker (capacity, timeouts, fragment slots); the staged workers (several models, or no
   * addon) do not get it: they compile their own, with default trackers.
   */
  readonly rowModels?: (name: ModelName) => RowModel;
  /**
   * Where the reference model keeps the Decisions it makes (of `index` and `evalOptions`), for the report
   * (src/report/replay-report.ts) to find made. Not filled on the staged workers (--threads without the addon).
   */
  readonly decisions?: DecisionMemo;
}

export type { Disagreement, ModelCounts } from './stage.js';

export interface ReplayResult {
  packets: number;
  ipPackets: number;
  nonIp: number;
  malformed: number;
  laterFragments: number;
  icmpErrors: number;
  /** Records not written to --write-allowed/--write-dropped because their link type differs from the file's. */
  writeSkipped: number;
  disagreements: number;
  readonly disagreementList: Disagreement[];
  readonly models: ModelCounts[];
  readonly connections: ConnectionTable;
  readonly nat: ServiceNat;
  damage: (Damage & { file: string }) | null;
  seconds: number;
  /** CPU time (user + system) of the replay: the fair figure on a shared machine. */
  cpuSeconds: number;
}

export interface Run {
  readonly opts: ReplayOptions;
  readonly result: ReplayResult;
  readonly services: Int32Array;
  allowedWriter: PcapWriter | null;
  droppedWriter: PcapWriter | null;
  chunk: Uint8Array;
}

/** The most threads a replay takes (the CLI's --threads range; the lanes' native limit). */
export const MAX_THREADS = 64;

export function replay(paths: readonly string[], opts: ReplayOptions): ReplayResult {
  try {
    return replayOn(paths, opts);
  } finally {
    // The replay's tables, quiet until now (src/native/load.ts hugeAllocator), told to V8.
    opts.addon?.tellExternalMemory();
    // The table memory the addon keeps for the next replay, given back if none comes (../native/table-pool.ts).
    if (opts.addon) releaseTablesWhenIdle(opts.addon);
  }
}

function replayOn(paths: readonly string[], opts: ReplayOptions): ReplayResult {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`replay: threads must be a whole number from 1 to ${MAX_THREADS}, not ${threads}`);
  }
  // A caller's own models bring their own trackers and evaluator: these two options would not reach them.
  if (opts.rowModels && (opts.conntrackCapacity !== undefined || opts.decisions !== undefined)) {
    throw new Error('replay: rowModels build their own trackers and reference model; conntrackCapacity and decisions go to buildRowModel instead');
  }
  if (canFuseLanes(opts)) return replayFusedLanes(paths, opts);
  if ((opts.threads ?? 1) > 1) return replaySharded(paths, opts);
  if (canFuse(opts)) return replayFused(paths, opts);
  const capacity = opts.batchSize ?? 4096;
  const stage = buildStage(
    opts.models, opts.index, opts.evalOptions, opts.addon ?? null, capacity, opts.keepDisagreements ?? 10, opts.maxConnections, opts.rowModels,
    expectedConnections(fileSizes(paths)), opts.conntrackCapacity, opts.decisions,
  );
  const run = newRun(opts, stage, capacity);
  const timer = startTimer();
  try {
    forEachBatch(paths, opts, run, (batch, path, k) => {
      setStageFile(stage, path, k);
      stageBatch(stage, batch, run.services);
      writeOuts(run, batch, stage.verdicts[0]!);
    });
  } finally {
    closeWriters(run);
  }
  settleTrackers(stage);
  timer.stop(run.result);
  return absorbStage(run.result, stage);
}

export function newRun(opts: ReplayOptions, counts: StageCounts, capacity: number): Run {
  const result: ReplayResult = {
    packets: 0, ipPackets: 0, nonIp: 0, malformed: 0, laterFragments: 0, icmpErrors: 0, writeSkipped: 0,
    disagreements: 0, disagreementList: [], models: counts.models, connections: counts.connections,
    nat: buildServiceNat(opts.index), damage: null, seconds: 0, cpuSeconds: 0,
  };
  return { opts, result, services: new Int32Array(capacity), allowedWriter: null, droppedWriter: null, chunk: new Uint8Array(0) };
}

/** Wall and CPU time of the replay into the result. */
export function startTimer(): { stop(r: ReplayResult): void } {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return {
    stop(r) {
      r.seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const used = process.cpuUsage(cpu);
      r.cpuSeconds = (used.user + used.system) / 1e6;
    },
  };
}

/** A stage's counters into the result (one thread: the stage's own; several: already merged). */
export function absorbStage(r: ReplayResult, s: StageCounts): ReplayResult {
  r.laterFragments = s.laterFragments;
  r.icmpErrors = s.icmpErrors;
  r.disagreements = s.disagreements;
  r.disagreementList.push(...s.disagreementList);
  return r;
}

/** The captures' sizes summed (for progress); a missing file counts 0 (openCapture reports it). */
export function fileSizes(paths: readonly string[]): number {
  return paths.reduce((n, p) => n + fileSize(p), 0);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // openCapture reports the missing file with its name
  }
}

export type BatchSink = (batch: FlowBatch, path: string, fileIndex: number) => void;

/**
 * Reads every capture in order, batch by batch: decoded (by the addon when there is one), counted, and
 * through Service DNAT (services[i] per row), then handed to `sink` while the reader's chunk is valid.
 */
export function forEachBatch(paths: readonly string[], opts: ReplayOptions, run: Run, sink: BatchSink): void {
  const total = fileSizes(paths);
  const batch = new FlowBatch(run.services.length);
  let before = 0;
  paths.forEach((path, k) => {
    const reader = openCapture(path, { decode: !opts.addon });
    run.chunk = reader.chunk;
    try {
      while (reader.fill(batch) > 0) {
        if (opts.addon) decodeNative(opts.addon, reader.chunk, batch);
        prepareRows(run.result, batch, run.services);
        sink(batch, path, k);
        opts.progress?.(before + reader.bytesRead, total, run.result.packets);
      }
      if (reader.damage && !run.result.damage) run.result.damage = { ...reader.damage, file: path };
      before += reader.bytesRead;
    } finally {
      reader.close();
    }
  });
}

/** Per row: the record counters and Service DNAT (services[i]: the service port, or -1). */
function prepareRows(r: ReplayResult, batch: FlowBatch, services: Int32Array): void {
  r.packets += batch.count;
  for (let i = 0; i < batch.count; i++) {
    services[i] = -1;
    if (batch.family[i] === 0) {
      r.nonIp++;
      batch.verdict[i] = Verdict.NONE;
      continue;
    }
    r.ipPackets++;
    if ((batch.flags[i]! & RowFlag.MALFORMED) !== 0) r.malformed++;
    services[i] = applyNat(r.nat, batch, i);
  }
}

/** The rows the primary model accepted or dropped into the requested pcaps. */
export function writeOuts(run: Run, batch: FlowBatch, primary: Uint8Array): void {
  const { writeAllowed, writeDropped } = run.opts;
  if (writeAllowed === undefined && writeDropped === undefined) return;
  for (let i = 0; i < batch.count; i++) {
    const v = primary[i];
    if (batch.family[i] === 0) continue;
    if (v === Verdict.ACCEPT ? writeAllowed !== undefined : v === Verdict.DROP && writeDropped !== undefined) {
      writeOut(run, batch, i, v === Verdict.ACCEPT);
    }
  }
}

/** Copies the record out of the reader's chunk into the verdict's pcap (before the next fill). */
function writeOut(run: Run, batch: FlowBatch, i: number, allowed: boolean): void {
  let w = allowed ? run.allowedWriter : run.droppedWriter;
  if (w === null) {
    const path = (allowed ? run.opts.writeAllowed : run.opts.writeDropped)!;
    // Nanosecond timestamps keep every capture's clock exact; the first record decides the link type.
    w = openPcapWriter(path, { linkType: batch.linkType[i]!, nanosecond: true, snapLength: 262144 });
    if (allowed) run.allowedWriter = w;
    else run.droppedWriter = w;
  }
  if (w.linkType !== batch.linkType[i]) {
    run.result.writeSkipped++;
    return;
  }
  w.write(batch.tsSec[i]!, batch.tsNsec[i]!, run.chunk, batch.dataOffset[i]!, batch.capturedLength[i]!, batch.wireLength[i]!);
}

/** Closes the written pcaps; a requested file that got no packet is still written, empty. */
export function closeWriters(run: Run): void {
  const { writeAllowed, writeDropped } = run.opts;
  if (writeAllowed !== undefined && run.allowedWriter === null) run.allowedWriter = openPcapWriter(writeAllowed, { nanosecond: true });
  if (writeDropped !== undefined && run.droppedWriter === null) run.droppedWriter = openPcapWriter(writeDropped, { nanosecond: true });
  run.allowedWriter?.close();
  run.droppedWriter?.close();
}
