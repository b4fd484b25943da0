/**
 * `replay --threads N` for one compiled model on the native engine: N workers each read every capture
 * themselves and run the fused native replay (./fused.ts) over the rows of their shard (./shard.ts
 * shardOf, after DNAT; non-IP rows go to shard 0); the main thread only waits and merges. Walking and
 * decoding a record is cheap next to tracking and classifying it, so every worker walking every record
 * costs less than one thread dealing rows to the others (the staged sharded replay's bottleneck).
 *
 * The merge is shared out too (./shard-merge.ts): the main thread decides where each shard's connections
 * go in the merged table, from their opening packets alone; each worker then copies its own rows there,
 * straight from its C table, and sums a slice of the per-entry hit counters, which every worker counts into a SharedArrayBuffer (nothing large is copied to or
 * allocated by the main thread).
 *
 * Equal to one thread under the same condition as ./shard.ts (no conntrack table or connection cap
 * filling up). With --write-allowed/--write-dropped the staged sharded replay runs instead: its main
 * thread has every row's verdict in capture order to write.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ConnectionTable, DEFAULT_MAX_CONNECTIONS } from './connections.js';
import type { NativeAddon } from '../native/load.js';
import { columnsOf } from '../native/replay.js';
import { canFuse } from './fused.js';
import type { FusedMergeOrder, FusedWorkerInit, FusedWorkerResult } from './fused-worker.js';
import { fileSizes, newRun, startTimer, type ReplayOptions, type ReplayResult } from './replay.js';
import { mergeCounts, workerExecArgv, workerUrl } from './shard.js';
import { planMerge } from './shard-merge.js';
import type { ModelCounts, StageCounts } from './stage.js';

/** The Int32 slots of a worker's control buffer (FusedWorkerInit.control). */
export const FusedCtl = {
  /** Set by the worker: replayed and its FusedWorkerResult posted, or failed. */
  REPLAYED: 0,
  FAILED: 1,
  /** Set by the worker: compiled, waiting for GO. */
  READY: 2,
  /** Set by the main thread: start reading. */
  GO: 3,
  /** Set by the main thread: 1, a FusedMergeOrder posted; -1, stop without merging. */
  MERGE: 4,
  /** Set by the worker: its part of the merge done, or failed. */
  MERGED: 5,
  /** Set by the worker as its module starts: it runs (see waitFor). */
  STARTED: 6,
  WORDS: 7,
} as const;

/** The Float64 slots of a worker's progress buffer (FusedWorkerInit.progress). */
export const FusedProgress = { BYTES: 0, CUT: 1, WORDS: 2 } as const;

export function canFuseShards(opts: ReplayOptions): boolean {
  return (opts.threads ?? 1) > 1 && canFuse({ ...opts, threads: 1 }) && opts.writeAllowed === undefined && opts.writeDropped === undefined;
}

interface FusedLane {
  readonly worker: Worker;
  /** performance.now() when the worker was created. */
  readonly created: number;
  readonly port: MessagePort;
  readonly ctl: Int32Array;
  readonly progress: Float64Array;
}

export function replayFusedSharded(paths: readonly string[], opts: ReplayOptions): ReplayResult {
  const shell: StageCounts = {
    laterFragments: 0, icmpErrors: 0, disagreements: 0, disagreementList: [],
    models: [{ name: opts.models[0]!, accepted: 0, dropped: 0, orphanFragments: 0, mapEntryHits: null }],
    connections: new ConnectionTable(opts.maxConnections),
  };
  const run = newRun(opts, shell, opts.batchSize ?? 4096);
  const timer = startTimer();
  const lanes = Array.from({ length: opts.threads! }, (_, k) => startWorker(paths, opts, k));
  try {
    for (const lane of lanes) waitFor(lane, FusedCtl.READY);
    // As one thread's, the replay's time is the replay itself, not the workers' start-up and compiling
    // (each compiles its own model): from the go given to all at once to the merged result.
    const go = performance.timeOrigin + performance.now();
    const cpuAtGo = process.cpuUsage();
    for (const lane of lanes) signal(lane.ctl, FusedCtl.GO, 1);
    const parts = lanes.map((lane) => resultOf(lane, paths, opts));
    mergeParts(opts.addon!, run.result, shell, parts, lanes, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    timer.stop(run.result);
    run.result.seconds = (performance.timeOrigin + performance.now() - go) / 1000;
    const used = process.cpuUsage(cpuAtGo);
    run.result.cpuSeconds = (used.user + used.system) / 1e6;
  } finally {
    for (const lane of lanes) {
      if (Atomics.load(lane.ctl, FusedCtl.MERGE) === 0) signal(lane.ctl, FusedCtl.MERGE, -1);
      void lane.worker.terminate();
    }
  }
  return run.result;
}

function startWorker(paths: readonly string[], opts: ReplayOptions, shard: number): FusedLane {
  const { port1, port2 } = new MessageChannel();
  const control = new SharedArrayBuffer(FusedCtl.WORDS * 4);
  const progress = new SharedArrayBuffer(FusedProgress.WORDS * 8);
  const init: FusedWorkerInit = {
    cluster: opts.index.cluster, evalOptions: opts.evalOptions, model: opts.models[0]!, paths: [...paths],
    capacity: opts.batchSize ?? 4096, maxConnections: opts.maxConnections, shard, shards: opts.threads!, control, progress, port: port2,
  };
  const worker = new Worker(workerUrl('fused-worker.js'), { workerData: init, transferList: [port2], execArgv: workerExecArgv() });
  worker.unref();
  return { worker, created: performance.now(), port: port1, ctl: new Int32Array(control), progress: new Float64Array(progress) };
}

function signal(ctl: Int32Array, at: number, value: number): void {
  Atomics.store(ctl, at, value);
  Atomics.notify(ctl, at);
}

/**
 * A worker that never runs its module (it could not start: an option it inherited, too little memory)
 * cannot say so, and this thread, blocked below, would not hear its 'error' event: so it must have
 * started within this long of being created. Compiling the model comes after and is not limited.
 */
const START_MS = 60_000;

/** Blocks until the worker has set slot `at` (or failed); then `tick` may report progress. */
function waitFor(lane: FusedLane, at: number, tick?: () => void): void {
  while (Atomics.load(lane.ctl, at) === 0 && Atomics.load(lane.ctl, FusedCtl.FAILED) === 0) {
    Atomics.wait(lane.ctl, at, 0, 200);
    if (Atomics.load(lane.ctl, FusedCtl.STARTED) === 0 && performance.now() - lane.created > START_MS) {
      throw new Error(`replay worker ${lane.worker.threadId} did not start within ${START_MS / 1000} s`);
    }
    tick?.();
  }
  if (Atomics.load(lane.ctl, FusedCtl.FAILED) === 0) return;
  const msg = receiveMessageOnPort(lane.port)?.message as { error?: string } | undefined;
  throw new Error(`replay worker ${lane.worker.threadId} failed: ${msg?.error ?? 'no message'}`);
}

/** Blocks until the worker has replayed its shard (reporting progress meanwhile: the slowest worker's bytes); its result. */
function resultOf(lane: FusedLane, paths: readonly string[], opts: ReplayOptions): FusedWorkerResult {
  const total = fileSizes(paths);
  waitFor(lane, FusedCtl.REPLAYED, () => opts.progress?.(lane.progress[FusedProgress.BYTES]!, total, 0));
  const msg = receiveMessageOnPort(lane.port)?.message as FusedWorkerResult | undefined;
  if (msg === undefined) throw new Error(`replay worker ${lane.worker.threadId} failed: no result`);
  return msg;
}

/**
 * The shards' counters summed into the result; their connection tables merged in opening order and
 * their hit counters summed, both by the workers (./shard-merge.ts), into the first worker's array.
 */
function mergeParts(addon: NativeAddon, r: ReplayResult, shell: StageCounts, parts: FusedWorkerResult[], lanes: FusedLane[], max: number): void {
  sumCounters(r, shell, parts);
  const hits = parts.map((p) => p.model.mapEntryHits);
  (shell.models[0] as { mapEntryHits: ModelCounts['mapEntryHits'] }).mapEntryHits = hits[0]!;
  const plan = planMerge(addon, parts.map((p) => p.connections), max);
  lanes.forEach((lane, k) => {
    const order: FusedMergeOrder = { target: plan.target, positions: plan.positions[k]!, hits };
    lane.port.postMessage(order);
    signal(lane.ctl, FusedCtl.MERGE, 1);
  });
  for (const lane of lanes) waitFor(lane, FusedCtl.MERGED);
  const cut = lanes.reduce((n, lane) => n + lane.progress[FusedProgress.CUT]!, 0);
  shell.connections.adoptColumns(columnsOf({ ...plan.target, overflow: plan.target.overflow + cut }));
}

/** Every counter of the shards summed into the result (the hit counters aside: see mergeParts). */
function sumCounters(r: ReplayResult, shell: StageCounts, parts: readonly FusedWorkerResult[]): void {
  for (const p of parts) {
    r.packets += p.packets;
    r.ipPackets += p.ipPackets;
    r.nonIp += p.nonIp;
    r.malformed += p.malformed;
    if (p.damage && !r.damage) r.damage = p.damage;
  }
  mergeCounts(shell, parts.map((p) => ({
    laterFragments: p.laterFragments, icmpErrors: p.icmpErrors, disagreements: 0, disagreementList: [], models: [{ ...p.model, mapEntryHits: null }],
  })), 0);
  r.laterFragments = shell.laterFragments;
  r.icmpErrors = shell.icmpErrors;
}
