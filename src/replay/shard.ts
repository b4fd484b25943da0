/**
 * `replay --threads N`: the main thread reads, decodes, counts and DNATs the records (as with one
 * thread), then deals each IP row to one of N workers by its connection; each worker runs the models
 * and its own connection table over its rows in capture order; at the end their results are merged
 * into the one report one thread would have made.
 *
 * The shard of a row is a direction-independent hash of its address pair and protocol (after DNAT, so
 * both directions of a Service connection agree). Not the ports, on purpose: later IPv4/IPv6 fragments
 * carry none, and hashing without them sends every fragment to its first fragment's shard with no
 * routing table to keep (or to lose entries from); ICMP errors go by the flow they quote, so they meet
 * the conntrack entry they may be RELATED to. The price: one busy address pair cannot be spread.
 * Rows of one connection keep their capture order: the main thread deals rows in order into each
 * worker's ring, and a worker runs its ring in order.
 *
 * Equal to one thread as long as no conntrack table fills up (each shard has its own, with the full
 * capacity: evictions would pick other victims) and the connection table stays below its cap.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlowBatch, RowFlag, Verdict } from '../wire/flow-batch.js';
import { ConnectionTable, type ConnectionColumns } from './connections.js';
import { closeWriters, forEachBatch, newRun, startTimer, writeOuts, absorbStage, type ReplayOptions, type ReplayResult } from './replay.js';
import { Ctl, CTL_WORDS, copyRow, sharedSlot, SLOTS, type Slot } from './slots.js';
import type { Disagreement, ModelCounts, StageCounts } from './stage.js';
import type { WorkerInit, WorkerSummary } from './worker.js';
import { addTrackerSummary, emptyTrackerSummary } from './trackers.js';

interface Lane {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly ctl: Int32Array;
  readonly slots: Slot[];
  /** The slot being filled (sequence number), or -1. */
  open: number;
  fill: number;
  /** The last slot dealt rows of the current batch (sequence number), or -1. */
  last: number;
  file: number;
}

/** How long a worker may make no progress before the replay gives up on it. */
const STALL_MS = 300_000;

export function replaySharded(paths: readonly string[], opts: ReplayOptions): ReplayResult {
  const capacity = opts.batchSize ?? 4096;
  const lanes = startWorkers(paths, opts, capacity);
  try {
    for (const lane of lanes) waitFor(lane, Ctl.READY, 1);
    const shell: StageCounts = {
      laterFragments: 0, icmpErrors: 0, disagreements: 0, disagreementList: [],
      models: opts.models.map((name) => ({ name, accepted: 0, dropped: 0, orphanFragments: 0, mapEntryHits: null, tracker: emptyTrackerSummary() })),
      connections: new ConnectionTable(opts.maxConnections),
    };
    const run = newRun(opts, shell, capacity);
    const timer = startTimer();
    const writes = opts.writeAllowed !== undefined || opts.writeDropped !== undefined;
    const primary = new Uint8Array(capacity);
    const rowLane = new Int32Array(capacity);
    const rowPos = new Int32Array(capacity);
    try {
      forEachBatch(paths, opts, run, (batch, _path, k) => {
        deal(lanes, batch, run.services, k, rowLane, rowPos);
        if (writes) {
          collect(lanes, batch, rowLane, rowPos, primary);
          writeOuts(run, batch, primary);
        }
      });
      for (const lane of lanes) finish(lane);
    } finally {
      closeWriters(run);
    }
    merge(shell, lanes.map(summaryOf), opts.keepDisagreements ?? 10);
    timer.stop(run.result);
    return absorbStage(run.result, shell);
  } finally {
    for (const lane of lanes) void lane.worker.terminate();
  }
}

/** The compiled worker module `name` (worker.js) beside this one, or in dist/ when run from sources. */
export function workerUrl(name = 'worker.js'): URL {
  const here = new URL(`./${name}`, import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Run from TypeScript sources (tests): the compiled worker of the same tree.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  return new URL(`file://${join(root, 'dist', 'src', 'replay', name)}`);
}

/**
 * The Node options a replay worker starts with: the process's own, less those that describe the main
 * script's input (--input-type, --eval, --print). A worker inherits execArgv, and one started by
 * `node --input-type=module -e ...` refused to start ("--input-type can only be used with string
 * input"), which the main thread, blocked waiting for it, never heard of.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    // The option, and its value when that is the next word (`--input-type commonjs`, `-e <script>`).
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '--input-type') k++;
    else if (!a.startsWith('--input-type=') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}

function startWorkers(paths: readonly string[], opts: ReplayOptions, capacity: number): Lane[] {
  const lanes: Lane[] = [];
  for (let w = 0; w < opts.threads!; w++) {
    const slots = Array.from({ length: SLOTS }, () => sharedSlot(capacity));
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = {
      cluster: opts.index.cluster, evalOptions: opts.evalOptions, models: [...opts.models], native: Boolean(opts.addon),
      paths: [...paths], capacity, keep: opts.keepDisagreements ?? 10, maxConnections: opts.maxConnections,
      conntrackCapacity: opts.conntrackCapacity,
      control: ctl.buffer as SharedArrayBuffer, slots: slots.map((s) => s.sab), port: port2,
      wantVerdicts: opts.writeAllowed !== undefined || opts.writeDropped !== undefined,
    };
    const worker = new Worker(workerUrl(), { workerData: init, transferList: [port2], execArgv: workerExecArgv() });
    worker.unref();
    lanes.push({ worker, port: port1, ctl, slots, open: -1, fill: 0, last: -1, file: 0 });
  }
  return lanes;
}

/** Blocks until ctl[at] >= value; throws with the worker's own message when it failed or stalled. */
function waitFor(lane: Lane, at: number, value: number): void {
  let last = Atomics.load(lane.ctl, at);
  let since = Date.now();
  while (last < value) {
    if (Atomics.load(lane.ctl, Ctl.ERROR) !== 0) throw workerFailure(lane);
    Atomics.wait(lane.ctl, at, last, 200);
    const now = Atomics.load(lane.ctl, at);
    if (now !== last) since = Date.now();
    else if (Date.now() - since > STALL_MS) throw new Error(`replay worker ${lane.worker.threadId} made no progress for ${STALL_MS / 1000} s`);
    last = now;
  }
}

function workerFailure(lane: Lane): Error {
  const msg = receiveMessageOnPort(lane.port)?.message as { error?: string } | undefined;
  return new Error(`replay worker ${lane.worker.threadId} failed: ${msg?.error ?? 'no message'}`);
}

/** Every IP row of the batch to its connection's worker (non-IP rows have no connection and no verdict). */
function deal(lanes: Lane[], batch: FlowBatch, services: Int32Array, file: number, rowLane: Int32Array, rowPos: Int32Array): void {
  const n = lanes.length;
  for (const lane of lanes) {
    if (lane.open >= 0 && lane.file !== file) publish(lane);
    lane.last = -1;
  }
  for (let i = 0; i < batch.count; i++) {
    rowLane[i] = -1;
    if (batch.family[i] === 0) continue;
    const w = shardOf(batch, i, n);
    const lane = lanes[w]!;
    if (lane.open < 0) openSlot(lane, file);
    const slot = lane.slots[lane.open % SLOTS]!;
    const j = lane.fill++;
    copyRow(batch, i, slot.batch, j);
    slot.services[j] = services[i]!;
    rowLane[i] = w;
    rowPos[i] = (lane.open % SLOTS) * slot.batch.capacity + j;
    lane.last = lane.open;
    if (lane.fill === slot.batch.capacity) publish(lane);
  }
}

function openSlot(lane: Lane, file: number): void {
  const seq = Atomics.load(lane.ctl, Ctl.HEAD);
  waitFor(lane, Ctl.TAIL, seq - SLOTS + 1); // the ring has room
  lane.open = seq;
  lane.fill = 0;
  lane.file = file;
}

function publish(lane: Lane): void {
  const k = lane.open % SLOTS;
  lane.ctl[Ctl.SLOT + 2 * k] = lane.fill;
  lane.ctl[Ctl.SLOT + 2 * k + 1] = lane.file;
  Atomics.store(lane.ctl, Ctl.HEAD, lane.open + 1);
  Atomics.notify(lane.ctl, Ctl.HEAD);
  lane.open = -1;
}

/** Publishes the open slots, waits for the workers, and gathers the primary verdict of every row. */
function collect(lanes: Lane[], batch: FlowBatch, rowLane: Int32Array, rowPos: Int32Array, primary: Uint8Array): void {
  for (const lane of lanes) {
    if (lane.open >= 0) publish(lane);
    if (lane.last >= 0) waitFor(lane, Ctl.TAIL, lane.last + 1);
  }
  for (let i = 0; i < batch.count; i++) {
    const w = rowLane[i]!;
    if (w < 0) {
      primary[i] = Verdict.NONE;
      continue;
    }
    const slots = lanes[w]!.slots;
    const cap = slots[0]!.batch.capacity;
    const pos = rowPos[i]!;
    primary[i] = slots[(pos / cap) | 0]!.primary[pos % cap]!;
  }
}

/** Publishes what is left, then a finishing slot; waits for the worker's result. */
function finish(lane: Lane): void {
  if (lane.open >= 0) publish(lane);
  openSlot(lane, lane.file);
  lane.fill = -1;
  publish(lane);
  waitFor(lane, Ctl.DONE, 1);
}

function summaryOf(lane: Lane): WorkerSummary {
  const msg = receiveMessageOnPort(lane.port)?.message as WorkerSummary | { error: string } | undefined;
  if (msg === undefined || 'error' in msg) throw new Error(`replay worker ${lane.worker.threadId} failed: ${msg?.error ?? 'no result'}`);
  return msg;
}

/**
 * The direction-independent shard of row i: its address pair and protocol (ICMP errors: the quoted
 * flow's), hashed commutatively. Plain integer arithmetic on the row's words: no allocation.
 */
export function shardOf(batch: FlowBatch, i: number, n: number): number {
  const err = (batch.flags[i]! & RowFlag.ICMP_ERROR) !== 0;
  const a = err ? batch.innerSrc : batch.src;
  const b = err ? batch.innerDst : batch.dst;
  const proto = err ? batch.innerProto[i]! : batch.proto[i]!;
  const o = i * 4;
  const h = (mixWords(a[o]!, a[o + 1]!, a[o + 2]!, a[o + 3]!) + mixWords(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!)) | 0;
  let x = Math.imul(h ^ proto, 0x27d4eb2d);
  x = Math.imul(x ^ (x >>> 15), 0x85ebca6b);
  return ((x ^ (x >>> 13)) >>> 1) % n;
}

/**
 * An address's words, each multiplied by its own odd constant: four independent multiplies rather than a
 * chain of four rounds (the lanes hash every row on the one reading thread: the chain cost 64
 * instructions a row there, counted by bench:instructions). shardOf mixes the sum once more at the end.
 */
function mixWords(w0: number, w1: number, w2: number, w3: number): number {
  return Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(w1, 0xc2b2ae35) ^ Math.imul(w2, 0x27d4eb2d) ^ Math.imul(w3, 0x165667b1);
}

/** The workers' results into `into`: counts summed, connections in the order of their opening packets. */
function merge(into: StageCounts, parts: WorkerSummary[], keep: number): void {
  mergeCounts(into, parts, keep);
  mergeConnections(into.connections, parts.map((p) => p.connections));
}

/** The workers' counters, policy-map hits and first disagreements into `into` (not their connections). */
export function mergeCounts(into: StageCounts, parts: readonly Omit<WorkerSummary, 'connections'>[], keep: number): void {
  const s = into;
  for (const p of parts) {
    s.laterFragments += p.laterFragments;
    s.icmpErrors += p.icmpErrors;
    s.disagreements += p.disagreements;
    p.models.forEach((m: ModelCounts, k: number) => {
      into.models[k]!.accepted += m.accepted;
      into.models[k]!.dropped += m.dropped;
      into.models[k]!.orphanFragments += m.orphanFragments;
      addHits(into.models[k]!, m.mapEntryHits);
      addTrackerSummary(into.models[k]!.tracker, m.tracker);
    });
  }
  const all: Disagreement[] = parts.flatMap((p) => p.disagreementList);
  all.sort((x, y) => x.fileIndex - y.fileIndex || x.record - y.record);
  into.disagreementList.push(...all.slice(0, keep));
}

/** A k-way merge: each shard's table is already in the order of its opening packets. */
function mergeConnections(into: ConnectionTable, parts: ConnectionColumns[]): void {
  into.reserve(parts.reduce((n, p) => n + p.count, 0));
  const at = parts.map(() => 0);
  for (;;) {
    let best = -1;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k]!;
      const c = at[k]!;
      if (c >= p.count) continue;
      if (best < 0 || before(p, c, parts[best]!, at[best]!)) best = k;
    }
    if (best < 0) break;
    into.absorb(parts[best]!, at[best]!);
    at[best]!++;
  }
  for (const p of parts) into.overflow += p.overflow;
}

function before(p: ConnectionColumns, c: number, q: ConnectionColumns, d: number): boolean {
  return p.firstFile[c]! < q.firstFile[d]! || (p.firstFile[c] === q.firstFile[d] && p.firstRecord[c]! < q.firstRecord[d]!);
}

/**
 * Sums a worker's per-entry hit counters (every worker compiled the same program, so entries line up).
 * The first worker's array, a copy posted to this thread, becomes the sum: no third array of the same
 * size (40 MB on the real tier) to allocate and fault in.
 */
function addHits(into: ModelCounts, hits: Float64Array | null): void {
  if (hits === null) return;
  const mutable = into as { mapEntryHits: Float64Array | null };
  if (mutable.mapEntryHits === null) {
    mutable.mapEntryHits = hits;
    return;
  }
  for (let e = 0; e < hits.length; e++) mutable.mapEntryHits[e]! += hits[e]!;
}
