/**
 * A worker of the fused sharded replay (./fused-shards.ts): reads every capture itself and runs the
 * fused native replay over the rows of its shard, posts its counters and its connections' opening
 * packets, then, told where its connections go, copies them from its own C table into the merged table
 * and sums its slice of the per-entry hit counters (./shard-merge.ts).
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { indexCluster } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { Cluster } from '../model/types.js';
import type { ModelName } from '../match/dataplane.js';
import { hugeAllocator, nativeAddon, type NativeAddon } from '../native/load.js';
import type { Damage } from '../traffic/pcap/reader.js';
import type { PackedConnections, ShardColumns } from '../native/replay.js';
import { replayFusedShard } from './fused.js';
import { FusedCtl, FusedProgress } from './fused-shards.js';
import { buildRowModel, withSharedHits } from './models.js';
import { mergeKeysOf, scatterShard, sumHitsSlice, type MergeKeys } from './shard-merge.js';
import type { ModelCounts } from './stage.js';

export interface FusedWorkerInit {
  readonly cluster: Cluster;
  readonly evalOptions: EvalOptions;
  readonly model: ModelName;
  readonly paths: string[];
  readonly capacity: number;
  readonly maxConnections: number | undefined;
  readonly shard: number;
  readonly shards: number;
  /**
   * FusedCtl.WORDS Int32 slots; Float64 slots in `progress`: the worker's bytes read so far, then (when
   * MERGED) the packets of its connections the merged table's cap left out (overflow).
   */
  readonly control: SharedArrayBuffer;
  readonly progress: SharedArrayBuffer;
  readonly port: MessagePort;
}

export interface FusedWorkerResult {
  readonly packets: number;
  readonly ipPackets: number;
  readonly nonIp: number;
  readonly malformed: number;
  readonly laterFragments: number;
  readonly icmpErrors: number;
  readonly damage: (Damage & { file: string }) | null;
  /** Its mapEntryHits in a SharedArrayBuffer (posted without a copy), or null (iptables). */
  readonly model: ModelCounts;
  /** The shard's opening packets (SharedArrayBuffers), for the merge plan; its rows stay in the worker. */
  readonly connections: MergeKeys;
}

/** What the main thread posts with FusedCtl.MERGE = 1. */
export interface FusedMergeOrder {
  /** The merged table, and where this shard's connections go in it (./shard-merge.ts planMerge). */
  readonly target: PackedConnections;
  readonly positions: Int32Array;
  /** Every worker's hit counters, in shard order (summed into the first). */
  readonly hits: (Float64Array | null)[];
}

function main(d: FusedWorkerInit): void {
  const ctl = new Int32Array(d.control);
  signal(ctl, FusedCtl.STARTED);
  try {
    const addon = nativeAddon().addon;
    if (addon === null) throw new Error('the native addon does not load in this worker');
    const shared = replayShard(d, ctl, addon);
    signal(ctl, FusedCtl.REPLAYED);
    const order = awaitOrder(ctl, d.port);
    if (order !== null) {
      new Float64Array(d.progress)[FusedProgress.CUT] = scatterShard(addon, shared, order.target, order.positions);
      sumHitsSlice(addon, order.hits, d.shard, d.shards);
    }
  } catch (e) {
    d.port.postMessage({ error: (e as Error).stack ?? String(e) });
    Atomics.store(ctl, FusedCtl.FAILED, 1);
    signal(ctl, FusedCtl.REPLAYED); // a failed replay never reaches the merge: end both waits
  }
  d.port.close();
  signal(ctl, FusedCtl.MERGED);
}

/** Compiles, waits for the go, replays this shard; posts the result; returns the shard's table (in place). */
function replayShard(d: FusedWorkerInit, ctl: Int32Array, addon: NativeAddon): ShardColumns {
  const progress = new Float64Array(d.progress);
  const index = indexCluster(d.cluster);
  const { result: r, shared } = replayFusedShard(d.paths, {
    index, evalOptions: d.evalOptions, models: [d.model], addon, batchSize: d.capacity, maxConnections: d.maxConnections,
    rowModels: (name) => withSharedHits(buildRowModel(name, index, d.evalOptions, hugeAllocator(addon)), addon), progress: (bytes) => { progress[FusedProgress.BYTES] = bytes; },
  }, { index: d.shard, count: d.shards }, () => {
    // Every worker starts reading together, after all have compiled: the replay's time is then theirs alone.
    signal(ctl, FusedCtl.READY);
    while (Atomics.load(ctl, FusedCtl.GO) === 0) Atomics.wait(ctl, FusedCtl.GO, 0);
  }, true);
  const out: FusedWorkerResult = {
    packets: r.packets, ipPackets: r.ipPackets, nonIp: r.nonIp, malformed: r.malformed, laterFragments: r.laterFragments,
    icmpErrors: r.icmpErrors, damage: r.damage, model: r.models[0]!, connections: mergeKeysOf(shared!),
  };
  d.port.postMessage(out);
  return shared!;
}

/** Blocks until the main thread orders the merge (its order) or calls it off (null). */
function awaitOrder(ctl: Int32Array, port: MessagePort): FusedMergeOrder | null {
  while (Atomics.load(ctl, FusedCtl.MERGE) === 0) Atomics.wait(ctl, FusedCtl.MERGE, 0);
  if (Atomics.load(ctl, FusedCtl.MERGE) < 0) return null;
  const msg = receiveMessageOnPort(port)?.message as FusedMergeOrder | undefined;
  if (msg === undefined) throw new Error('merge ordered without its order');
  return msg;
}

function signal(ctl: Int32Array, at: number): void {
  Atomics.store(ctl, at, 1);
  Atomics.notify(ctl, at);
}

main(workerData as FusedWorkerInit);
