/**
 * `replay --threads N` for one model on the native engine: the fused replay (./fused.ts) on N
 * lanes, threads of the addon in this process (native/src/addon-lanes.cc). The model is compiled once and
 * its tables are shared; each lane has its own conntrack, model counters and connection table and takes
 * the rows of its shard (./shard.ts shardOf, after DNAT; non-IP rows to lane 0). This thread reads each
 * chunk of the capture; for a classic pcap every lane walks the chunk and decodes its own rows (the split
 * walk), and otherwise (pcapng, or pcaps of allowed or dropped packets to write) this thread decodes each
 * record once and hands the row to its lane (`laneWalk` picks, for comparisons).
 *
 * It replaced N worker threads that each compiled the model and read, walked and decoded every record to
 * keep 1/N of them: measured side by side (2M packets, 2 threads, wall seconds, medians of 5), the small
 * tier 0.450 s (workers) against 0.389 s, the real tier 0.373 s against 0.249 s.
 *
 * The reference model runs on lanes too: each lane keeps its own flow cache, and asks the evaluator, which
 * is JavaScript, through this thread (native/src/desk.h): this thread answers while it waits for the lanes
 * and between the rows it runs itself.
 *
 * The eBPF lanes count their per-entry hits into the model's own array, atomically; the iptables lanes
 * after the first count rule packets and bytes apart, added into the model's own at the end; then the
 * lanes' connection tables are merged in opening order into lane 0's (native/src/conns-merge.cc). Equal
 * to one thread under the condition of ./shard.ts (no conntrack table filling up):
 * test/native/replay.test.ts.
 */
import { newConntrack } from '../conntrack/index.js';
import { settleProbes } from '../native/engine.js';
import { hugeAllocator } from '../native/load.js';
import { bindNativeLanes, bindNativeReplay, finishNativeLanes, takeLanesConnections } from '../native/replay.js';
import { absorbStats, canFuse, fusedSetup, readAll } from './fused.js';
import { summarizeTrackers } from './trackers.js';
import { closeWriters, startTimer, type ReplayOptions, type ReplayResult } from './replay.js';

/** Whether `replay` runs on lanes: what ./fused.ts runs, with --threads above 1. */
export function canFuseLanes(opts: ReplayOptions): boolean {
  return (opts.threads ?? 1) > 1 && canFuse({ ...opts, threads: 1 });
}

export function replayFusedLanes(paths: readonly string[], opts: ReplayOptions): ReplayResult {
  const addon = opts.addon!;
  const n = opts.threads!;
  const { rowModel, nm, model, connections, run, batch, maxConnections } = fusedSetup(opts);
  // Every lane's tracker is made like the first (a caller's own, through rowModels, may differ from the
  // defaults): with default timeouts the other lanes' connections would expire as one thread's do not.
  const first = rowModel.conntrack;
  const like = { capacity: first.table.capacity, timeouts: first.timeouts, fragmentSlots: first.fragments.mask + 1, allocate: hugeAllocator(addon) };
  const trackers = Array.from({ length: n }, (_, k) => (k === 0 ? first : newConntrack(like)));
  const lanes = trackers.map((ct, k) => bindNativeReplay(
    nm.lane(k), ct, run.result.nat, batch, run.services, maxConnections, // a lane keeps its rows' Services in its own batch
  ));
  // Every row's verdict is needed back in the batch only to write the pcaps of allowed or dropped packets.
  const replay = bindNativeLanes(lanes, opts.writeAllowed !== undefined || opts.writeDropped !== undefined, opts.laneWalk !== 'handover');
  const timer = startTimer();
  try {
    readAll(paths, run, replay, batch);
    finishNativeLanes(replay);
  } finally {
    closeWriters(run);
  }
  for (const lane of lanes) {
    settleProbes(lane.model);
    lane.model.foldCounters?.();
  }
  absorbStats(run.result, model, replay);
  model.tracker = summarizeTrackers(trackers);
  connections.adoptColumns(takeLanesConnections(replay));
  timer.stop(run.result);
  return run.result;
}
