/**
 * A replay worker (`--threads N`, see ./shard.ts): builds its own models and trackers from the cluster,
 * then runs the slots the main thread publishes, in order, through the same stage one thread runs, and
 * posts its counts and connection table at the end. It reads no capture: rows arrive decoded and DNATed.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { indexCluster } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { Cluster } from '../model/types.js';
import type { ModelName } from '../match/dataplane.js';
import { nativeAddon } from '../native/load.js';
import type { ConnectionColumns } from './connections.js';
import { FlowBatch } from '../wire/flow-batch.js';
import { copySlot, Ctl, sharedSlot } from './slots.js';
import { buildStage, settleTrackers, setStageFile, stageBatch, type Stage, type StageCounts } from './stage.js';

export interface WorkerInit {
  readonly cluster: Cluster;
  readonly evalOptions: EvalOptions;
  readonly models: ModelName[];
  /** Run the native engine (the main thread chose it, so the addon loads). */
  readonly native: boolean;
  readonly paths: string[];
  readonly capacity: number;
  readonly keep: number;
  readonly maxConnections: number | undefined;
  readonly conntrackCapacity: number | undefined;
  readonly control: SharedArrayBuffer;
  readonly slots: SharedArrayBuffer[];
  readonly port: MessagePort;
  /** Copy the primary verdicts back into the slot (the main thread writes pcaps). */
  readonly wantVerdicts: boolean;
}

export type WorkerSummary = Omit<StageCounts, 'connections'> & { connections: ConnectionColumns };

function main(d: WorkerInit): void {
  const ctl = new Int32Array(d.control);
  try {
    const addon = d.native ? nativeAddon().addon : null;
    if (d.native && addon === null) throw new Error('the native addon does not load in this worker');
    const stage = buildStage(
      d.models, indexCluster(d.cluster), d.evalOptions, addon, d.capacity, d.keep, d.maxConnections, undefined, 0, d.conntrackCapacity,
    );
    const slots = d.slots.map((sab) => sharedSlot(d.capacity, sab));
    Atomics.store(ctl, Ctl.READY, 1);
    Atomics.notify(ctl, Ctl.READY);
    runSlots(d, ctl, stage, slots);
    settleTrackers(stage);
    const c = stage.connections.columns();
    const summary: WorkerSummary = {
      laterFragments: stage.laterFragments, icmpErrors: stage.icmpErrors, disagreements: stage.disagreements,
      disagreementList: stage.disagreementList, models: stage.models, connections: c,
    };
    // The table is done with: its columns move to the main thread without a copy.
    // `key` and `counts` view the same records: each buffer is transferred once.
    const moved = [...new Set(Object.values(c).flatMap((v) => (ArrayBuffer.isView(v) ? [v.buffer as ArrayBuffer] : [])))];
    d.port.postMessage(summary, moved);
  } catch (e) {
    d.port.postMessage({ error: (e as Error).stack ?? String(e) });
    Atomics.store(ctl, Ctl.ERROR, 1);
  }
  d.port.close();
  Atomics.store(ctl, Ctl.DONE, 1);
  Atomics.notify(ctl, Ctl.DONE);
}

function runSlots(d: WorkerInit, ctl: Int32Array, stage: Stage, slots: ReturnType<typeof sharedSlot>[]): void {
  const batch = new FlowBatch(d.capacity);
  for (let seq = 0; ; seq++) {
    while (Atomics.load(ctl, Ctl.HEAD) <= seq) Atomics.wait(ctl, Ctl.HEAD, seq);
    const k = seq % slots.length;
    const count = ctl[Ctl.SLOT + 2 * k]!;
    if (count < 0) return;
    const file = ctl[Ctl.SLOT + 2 * k + 1]!;
    if (file !== stage.fileIndex || stage.file === '') setStageFile(stage, d.paths[file]!, file);
    const slot = slots[k]!;
    copySlot(slot.batch, batch, count);
    stageBatch(stage, batch, slot.services);
    if (d.wantVerdicts) slot.primary.set(stage.verdicts[0]!.subarray(0, count));
    Atomics.store(ctl, Ctl.TAIL, seq + 1);
    Atomics.notify(ctl, Ctl.TAIL);
  }
}

main(workerData as WorkerInit);
