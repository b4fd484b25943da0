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
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { ConnectionTable } from './connections.js';
import { canFuse } from './fused.js';
import type { FusedWorkerInit, FusedWorkerResult } from './fused-worker.js';
import { fileSizes, newRun, startTimer, type ReplayOptions, type ReplayResult } from './replay.js';
import { merge, workerUrl } from './shard.js';
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

type MessagePort = import('node:worker_threads').MessagePort;

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
    const parts = lanes.map((lane) => waitForLane(lane, paths, opts));
    mergeParts(run.result, shell, parts);
  } finally {
    for (const lane of lanes) void lane.worker.terminate();
  }
  timer.stop(run.result);
  return run.result;
}

function startWorker(paths: readonly string[], opts: ReplayOptions, shard: number): FusedLane {
  const { port1, port2 } = new MessageChannel();
  const control = new SharedArrayBuffer(8);
  const progress = new SharedArrayBuffer(8);
  const init: FusedWorkerInit = {
    cluster: opts.index.cluster, evalOptions: opts.evalOptions, model: opts.models[0]!, paths: [...paths],
    capacity: opts.batchSize ?? 4096, maxConnections: opts.maxConnections, shard, shards: opts.threads!, control, progress, port: port2,
  };
  const worker = new Worker(workerUrl('fused-worker.js'), { workerData: init, transferList: [port2] });
  worker.unref();
  return { worker, port: port1, ctl: new Int32Array(control), progress: new Float64Array(progress) };
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
function mergeParts(r: ReplayResult, shell: StageCounts, parts: FusedWorkerResult[]): void {
  for (const p of parts) {
    r.packets += p.packets;
    r.ipPackets += p.ipPackets;
    r.nonIp += p.nonIp;
    r.malformed += p.malformed;
    if (p.damage && !r.damage) r.damage = p.damage;
  }
  merge(shell, parts.map((p) => ({
    laterFragments: p.laterFragments, icmpErrors: p.icmpErrors, disagreements: 0, disagreementList: [], models: [p.model], connections: p.connections,
  })), 0);
  r.laterFragments = shell.laterFragments;
  r.icmpErrors = shell.icmpErrors;
}
