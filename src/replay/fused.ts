/**
 * The replay of one model on the native engine, fused: the reader's record walk, decoding,
 * Service DNAT, conntrack, the model and connection grouping run in C in one call per batch
 * (src/native/replay.ts), and TypeScript only refills the reader's chunk, writes the requested pcaps and
 * reports progress. Same result as the staged pipeline (./stage.ts) for that model: the test
 * test/native/replay.test.ts replays seeded captures both ways and compares every counter and connection.
 *
 * Taken when the addon is loaded and one model is replayed, on one thread (with --threads, on lanes:
 * ./fused-lanes.ts). The reference model runs in C too (native/src/reference.cc), its evaluator asked back
 * in TypeScript once per flow; beside other models (--model all) it runs on the staged pipeline in
 * TypeScript, so that the compiled models' conntrack in C is checked against TypeScript's on every replay.
 */
import { availableParallelism } from 'node:os';
import { bindNativeReplay, takeNativeConnections, type NativeReplay } from '../native/replay.js';
import { settleProbes, type NativeModelHandle } from '../native/engine.js';
import { PrefaultMode, ReplayStat } from '../native/layout.js';
import { openNativeCapture } from '../native/walk.js';
import { hugeAllocator, nativeTables } from '../native/load.js';
import { FlowBatch } from '../wire/flow-batch.js';
import { ConnectionTable, DEFAULT_MAX_CONNECTIONS } from './connections.js';
import { buildRowModel, nativeHandleOf, type RowModel } from './models.js';
import { closeWriters, newRun, startTimer, writeOuts, fileSizes, type ReplayOptions, type ReplayResult, type Run } from './replay.js';
import { mapEntryHitsOf, type ModelCounts } from './stage.js';
import { emptyTrackerSummary, summarizeTrackers } from './trackers.js';

/** Whether `replay` can run fused (see the file comment); with --threads, see ./fused-lanes.ts. */
export function canFuse(opts: ReplayOptions): boolean {
  return opts.fuse !== false && !!opts.addon && opts.models.length === 1 && (opts.threads ?? 1) <= 1;
}

/** What a fused replay sets up before reading: the compiled model and its native handle, the result's shell, the batch. */
export interface FusedSetup {
  readonly rowModel: RowModel;
  readonly nm: NativeModelHandle;
  readonly model: ModelCounts;
  readonly connections: ConnectionTable;
  readonly run: Run;
  readonly batch: FlowBatch;
  readonly maxConnections: number;
}

export function fusedSetup(opts: ReplayOptions): FusedSetup {
  const capacity = opts.batchSize ?? 4096;
  const rowModel = opts.rowModels?.(opts.models[0]!) ?? buildRowModel(opts.models[0]!, opts.index, opts.evalOptions, {
    allocate: hugeAllocator(opts.addon!), capacity: opts.conntrackCapacity,
  }, opts.decisions, nativeTables(opts.addon!));
  const batch = new FlowBatch(capacity);
  const nm = nativeHandleOf(opts.addon!, rowModel, batch)!;
  const model: ModelCounts = { name: rowModel.name, accepted: 0, dropped: 0, orphanFragments: 0, mapEntryHits: mapEntryHitsOf(rowModel), tracker: emptyTrackerSummary() };
  const connections = new ConnectionTable(opts.maxConnections);
  const run = newRun(opts, { models: [model], connections, laterFragments: 0, icmpErrors: 0, disagreements: 0, disagreementList: [] }, capacity);
  return { rowModel, nm, model, connections, run, batch, maxConnections: opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS };
}

/**
 * Captures smaller than this replay before a prefault helper's first page is in (a 4 MiB capture is about
 * 50k 64-byte packets, 5 ms of replay): for them the helper only adds its stop, up to one cold huge
 * page's fault (measured: the seed capture's replay took 8-11 ms instead of 4 in 3 runs of 15).
 */
const PREFAULT_MIN_BYTES = 4 << 20;

/**
 * Whether a one-thread replay of `paths` runs the prefault helper (native/src/prefault.h): as asked, else
 * when a core is free for it and the captures are big enough, or their size is unknown (a pipe).
 */
export function wantsPrefault(paths: readonly string[], opts: ReplayOptions): boolean {
  if (opts.prefault !== undefined) return opts.prefault;
  const bytes = fileSizes(paths);
  return availableParallelism() > 1 && (bytes === 0 || bytes >= PREFAULT_MIN_BYTES);
}

export function replayFused(paths: readonly string[], opts: ReplayOptions): ReplayResult {
  const { rowModel, nm, model, connections, run, batch, maxConnections } = fusedSetup(opts);
  const prefault = wantsPrefault(paths, opts) ? PrefaultMode.ON : PrefaultMode.OFF;
  const replay = bindNativeReplay(nm, rowModel.conntrack, run.result.nat, batch, run.services, maxConnections, prefault);
  const timer = startTimer();
  try {
    readAll(paths, run, replay, batch);
  } finally {
    closeWriters(run);
  }
  settleProbes(nm);
  absorbStats(run.result, model, replay);
  model.tracker = summarizeTrackers([rowModel.conntrack]);
  connections.adoptColumns(takeNativeConnections(replay));
  timer.stop(run.result);
  return run.result;
}

/** Every capture in order, batch by batch through the native replay; the requested pcaps written. */
export function readAll(paths: readonly string[], run: Run, replay: NativeReplay, batch: FlowBatch): void {
  const total = fileSizes(paths);
  let before = 0;
  paths.forEach((path, k) => {
    const reader = openNativeCapture(run.opts.addon!, path);
    try {
      while (reader.fillReplay(replay, batch, k) > 0) {
        run.chunk = reader.chunk;
        writeOuts(run, batch, batch.verdict);
        run.opts.progress?.(before + reader.bytesRead, total, replay.stats[ReplayStat.PACKETS]!);
      }
      if (reader.damage && !run.result.damage) run.result.damage = { ...reader.damage, file: path };
      before += reader.bytesRead;
    } finally {
      reader.close();
    }
  });
}

export function absorbStats(r: ReplayResult, m: ModelCounts, replay: NativeReplay): void {
  const s = replay.stats;
  r.packets = s[ReplayStat.PACKETS]!;
  r.ipPackets = s[ReplayStat.IP]!;
  r.nonIp = s[ReplayStat.NON_IP]!;
  r.malformed = s[ReplayStat.MALFORMED]!;
  r.laterFragments = s[ReplayStat.LATER_FRAGMENTS]!;
  r.icmpErrors = s[ReplayStat.ICMP_ERRORS]!;
  m.accepted = s[ReplayStat.ACCEPTED]!;
  m.dropped = s[ReplayStat.DROPPED]!;
  m.orphanFragments = s[ReplayStat.ORPHANS]!;
}

