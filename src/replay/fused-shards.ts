/**
 * `replay --threads N` for one compiled model on the native engine: N workers each read every capture
 * themselves and run the fused native replay (./fused.ts) over the rows of their shard (./shard.ts
 * shardOf, after DNAT; non-IP rows go to shard 0); the main thread only waits and merges. Walking and
 * decoding a record is cheap next to tracking and classifying it, so every worker walking every record
 * costs less than one thread dealing rows to the others (the staged sharded replay's bottleneck).
 *
 * Equal to one thread under the same condition as ./shard.ts (no conntrack table or connection cap
 * filling up). With --write-allowed/--write-dropped the staged sharded replay runs instead: its main
 * thread has every row's verdict in capture order to write.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ConnectionTable, DEFAULT_MAX_CONNECTIONS } from './connections.js';
import { columnsOf, concatNativeConnections, type PackedConnections } from '../native/replay.js';
import type { NativeAddon } from '../native/load.js';
import { Count, RECORD_DOUBLES, type ConnectionColumns } from './connections.js';
import { canFuse } from './fused.js';
import type { FusedWorkerInit, FusedWorkerResult } from './fused-worker.js';
import { fileSizes, newRun, startTimer, type ReplayOptions, type ReplayResult } from './replay.js';
import { mergeCounts, workerUrl } from './shard.js';
import type { StageCounts } from './stage.js';

export function canFuseShards(opts: ReplayOptions): boolean {
  return (opts.threads ?? 1) > 1 && canFuse({ ...opts, threads: 1 }) && opts.writeAllowed === undefined && opts.writeDropped === undefined;
}

interface FusedLane {
  readonly worker: Worker;
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
    for (const lane of lanes) waitReady(lane);
    // As one thread's, the replay's time is the replay itself, not the workers' start-up and compiling
    // (each compiles its own model): from the go given to all at once to the merged result.
    const go = performance.timeOrigin + performance.now();
    const cpuAtGo = process.cpuUsage();
    for (const lane of lanes) {
      Atomics.store(lane.ctl, 3, 1);
      Atomics.notify(lane.ctl, 3);
    }
    const parts = lanes.map((lane) => waitForLane(lane, paths, opts));
    mergeParts(opts.addon!, run.result, shell, parts, opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    timer.stop(run.result);
    run.result.seconds = (performance.timeOrigin + performance.now() - go) / 1000;
    const used = process.cpuUsage(cpuAtGo);
    run.result.cpuSeconds = (used.user + used.system) / 1e6;
  } finally {
    for (const lane of lanes) void lane.worker.terminate();
  }
  return run.result;
}

function startWorker(paths: readonly string[], opts: ReplayOptions, shard: number): FusedLane {
  const { port1, port2 } = new MessageChannel();
  const control = new SharedArrayBuffer(16);
  const progress = new SharedArrayBuffer(8);
  const init: FusedWorkerInit = {
    cluster: opts.index.cluster, evalOptions: opts.evalOptions, model: opts.models[0]!, paths: [...paths],
    capacity: opts.batchSize ?? 4096, maxConnections: opts.maxConnections, shard, shards: opts.threads!, control, progress, port: port2,
  };
  const worker = new Worker(workerUrl('fused-worker.js'), { workerData: init, transferList: [port2] });
  worker.unref();
  return { worker, port: port1, ctl: new Int32Array(control), progress: new Float64Array(progress) };
}

/** Blocks until the worker has compiled its model (or failed). */
function waitReady(lane: FusedLane): void {
  while (Atomics.load(lane.ctl, 2) === 0 && Atomics.load(lane.ctl, 0) === 0) Atomics.wait(lane.ctl, 2, 0, 200);
}

/** Blocks until the worker is done (reporting progress meanwhile: the slowest worker's bytes); its result. */
function waitForLane(lane: FusedLane, paths: readonly string[], opts: ReplayOptions): FusedWorkerResult {
  const total = fileSizes(paths);
  while (Atomics.load(lane.ctl, 0) === 0) {
    Atomics.wait(lane.ctl, 0, 0, 200);
    opts.progress?.(lane.progress[0]!, total, 0);
  }
  const msg = receiveMessageOnPort(lane.port)?.message as FusedWorkerResult | { error: string } | undefined;
  if (msg === undefined || 'error' in msg) throw new Error(`replay worker ${lane.worker.threadId} failed: ${msg?.error ?? 'no result'}`);
  return msg;
}

/** The shards' counters summed into the result, their connection tables merged in opening order. */
function mergeParts(addon: NativeAddon, r: ReplayResult, shell: StageCounts, parts: FusedWorkerResult[], max: number): void {
  for (const p of parts) {
    r.packets += p.packets;
    r.ipPackets += p.ipPackets;
    r.nonIp += p.nonIp;
    r.malformed += p.malformed;
    if (p.damage && !r.damage) r.damage = p.damage;
  }
  mergeCounts(shell, parts.map((p) => ({
    laterFragments: p.laterFragments, icmpErrors: p.icmpErrors, disagreements: 0, disagreementList: [], models: [p.model],
  })), 0);
  shell.connections.adoptColumns(concatShards(addon, parts.map((p) => p.connections), max));
  r.laterFragments = shell.laterFragments;
  r.icmpErrors = shell.icmpErrors;
}

/**
 * The shards' tables into one, in the order of their opening packets. Sharding is by address pair and
 * protocol, so a connection (a 5-tuple, either direction) lives in exactly one shard: no lookup is
 * needed, a k-way merge by opening packet gives the order (one copy loop in C). The cap applies to the
 * merged table as to one thread's: the first `max` connections in opening order are kept, the packets of
 * the others counted as overflow.
 */
function concatShards(addon: NativeAddon, parts: readonly PackedConnections[], max: number): ConnectionColumns {
  const { packed, taken } = concatNativeConnections(addon, parts, max);
  let overflow = 0;
  parts.forEach((p, k) => {
    overflow += p.overflow;
    const counts = columnsOf(p).counts;
    for (let c = taken[k]!; c < p.count; c++) overflow += counts[c * RECORD_DOUBLES + Count.PACKETS]!;
  });
  return columnsOf({ ...packed, overflow });
}
