/**
 * A worker of the fused sharded replay (./fused-shards.ts): reads every capture itself and runs the
 * fused native replay over the rows of its shard, then posts its counters and connection table.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { indexCluster } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { Cluster } from '../model/types.js';
import type { ModelName } from '../match/dataplane.js';
import { nativeAddon } from '../native/load.js';
import type { Damage } from '../traffic/pcap/reader.js';
import type { PackedConnections } from '../native/replay.js';
import { replayFusedShard } from './fused.js';
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
  /** Int32 slots: [0] done, [1] failed, [2] compiled and ready to read, [3] go (set by the main thread); the
   *  worker's bytes read so far in `progress` (Float64, one slot). */
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
  readonly model: ModelCounts;
  /** The shard's connection table (columns in a SharedArrayBuffer: posted without a copy). */
  readonly connections: PackedConnections;
}

function main(d: FusedWorkerInit): void {
  const ctl = new Int32Array(d.control);
  const progress = new Float64Array(d.progress);
  try {
    const addon = nativeAddon().addon;
    if (addon === null) throw new Error('the native addon does not load in this worker');
    const { result: r, shared } = replayFusedShard(d.paths, {
      index: indexCluster(d.cluster), evalOptions: d.evalOptions, models: [d.model], addon, batchSize: d.capacity,
      maxConnections: d.maxConnections, progress: (bytes) => { progress[0] = bytes; },
    }, { index: d.shard, count: d.shards }, () => {
      // Every worker starts reading together, after all have compiled: the replay's time is then theirs alone.
      Atomics.store(ctl, 2, 1);
      Atomics.notify(ctl, 2);
      while (Atomics.load(ctl, 3) === 0) Atomics.wait(ctl, 3, 0);
    }, true);
    const out: FusedWorkerResult = {
      packets: r.packets, ipPackets: r.ipPackets, nonIp: r.nonIp, malformed: r.malformed, laterFragments: r.laterFragments,
      icmpErrors: r.icmpErrors, damage: r.damage, model: r.models[0]!, connections: shared!,
    };
    d.port.postMessage(out);
  } catch (e) {
    d.port.postMessage({ error: (e as Error).stack ?? String(e) });
    Atomics.store(ctl, 1, 1);
  }
  d.port.close();
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
}

main(workerData as FusedWorkerInit);
