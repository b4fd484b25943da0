/**
 * The part of a replay that follows connections: every model (conntrack -> filter -> confirm) over the
 * IP rows of a batch, then each row into the connection table. One thread runs one Stage over all rows;
 * with `--threads N` each worker runs its own Stage over its shard of connections and the main thread
 * merges them (./shard.ts). Rows arrive decoded and already through Service DNAT (the main thread's job).
 *
 * Per batch, model by model (primary last, so the batch keeps the primary's verdict and state for the
 * connection table): the models are independent of one another (each its own tracker), so running one
 * over the whole batch and then the next gives the same verdicts as interleaving them row by row, and
 * lets the native engine take a whole batch in one call.
 */
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { ModelName } from '../match/dataplane.js';
import { nativeHandleOf, buildRowModel, runRow, type RowModel } from './models.js';
import type { DecisionMemo } from '../model/decision-memo.js';
import { runNative, type NativeModelHandle } from '../native/engine.js';
import { hugeAllocator, nativeTables, transferableHugeAllocator, type NativeAddon } from '../native/load.js';
import { type FlowBatch, RowFlag, Verdict } from '../wire/flow-batch.js';
import { ConnectionTable, Count, RECORD_DOUBLES } from './connections.js';
import { emptyTrackerSummary, summarizeTrackers, type TrackerSummary } from './trackers.js';

export interface Disagreement {
  readonly record: number;
  readonly file: string;
  /** Index of `file` among the replayed captures (orders disagreements across shards). */
  readonly fileIndex: number;
  /** Row fields as decided (after DNAT); verdicts per model, in model order. */
  readonly family: number;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly proto: number;
  readonly ctStates: readonly number[];
  readonly verdicts: readonly number[];
}

export interface ModelCounts {
  readonly name: ModelName;
  accepted: number;
  dropped: number;
  orphanFragments: number;
  /**
   * eBPF model only: packets decided by each policy-map entry (entry order of the compiled program, as
   * `cilium bpf policy get` shows hit counts); null for the other models.
   */
  readonly mapEntryHits: Float64Array | null;
  /** The model's connection trackers at the end of the replay (./trackers.ts). */
  tracker: TrackerSummary;
}

/** What a Stage counts (summed over shards). */
export interface StageCounts {
  laterFragments: number;
  icmpErrors: number;
  disagreements: number;
  readonly disagreementList: Disagreement[];
  readonly models: ModelCounts[];
  readonly connections: ConnectionTable;
}

export interface Stage extends StageCounts {
  readonly rowModels: RowModel[];
  /** Per model: its native handle (iptables and eBPF on the native engine), or null (per row in TypeScript). */
  readonly natives: (NativeModelHandle | null)[];
  /** Per model, per row of the current batch: verdict and conntrack state. */
  readonly verdicts: Uint8Array[];
  readonly ctStates: Uint8Array[];
  readonly keep: number;
  file: string;
  fileIndex: number;
}

export function buildStage(
  models: readonly ModelName[], index: ClusterIndex, evalOptions: EvalOptions, addon: NativeAddon | null,
  capacity: number, keep: number, maxConnections?: number, prebuilt?: (name: ModelName) => RowModel, expected = 0,
  trackerCapacity?: number, decisions?: DecisionMemo,
): Stage {
  const allocate = addon === null ? undefined : hugeAllocator(addon);
  const tables = addon === null ? {} : nativeTables(addon);
  const rowModels = models.map((m) => prebuilt?.(m) ?? buildRowModel(m, index, evalOptions, { allocate, capacity: trackerCapacity }, decisions, tables));
  return {
    rowModels, natives: rowModels.map((m) => (addon === null ? null : nativeHandleOf(addon, m))),
    verdicts: rowModels.map(() => new Uint8Array(capacity)), ctStates: rowModels.map(() => new Uint8Array(capacity)),
    keep, file: '', fileIndex: 0, laterFragments: 0, icmpErrors: 0, disagreements: 0, disagreementList: [],
    models: rowModels.map((m) => ({ name: m.name, accepted: 0, dropped: 0, orphanFragments: 0, mapEntryHits: mapEntryHitsOf(m), tracker: emptyTrackerSummary() })),
    // A worker's stage hands its table to the main thread at the end (./worker.ts): transferable memory.
    connections: new ConnectionTable(maxConnections, expected, addon === null ? undefined : transferableHugeAllocator(addon)),
  };
}

/** The capture the next rows come from (for disagreements and the connections' opening packets). */
export function setStageFile(s: Stage, path: string, fileIndex: number): void {
  s.file = path;
  s.fileIndex = fileIndex;
  s.connections.fileIndex = fileIndex;
}

/** Each model's tracker summary, once the stage has run its last batch. */
export function settleTrackers(s: Stage): void {
  s.rowModels.forEach((m, k) => { s.models[k]!.tracker = summarizeTrackers([m.conntrack]); });
}

/** Every model over the batch (primary last), verdicts counted and compared; then rows into connections. */
export function stageBatch(s: Stage, batch: FlowBatch, services: Int32Array): void {
  for (let k = s.rowModels.length - 1; k >= 0; k--) runModel(s, k, batch);
  if (s.rowModels.length > 1) compareModels(s, batch);
  const v = s.verdicts[0]!;
  for (let i = 0; i < batch.count; i++) {
    if (batch.family[i] !== 0) groupRow(s, batch, i, services[i]!, v[i]!);
  }
}

/**
 * One model over the batch's IP rows. Native: one call for the whole batch (non-IP rows come out
 * UNTRACKED with no verdict and leave the tracker as it was). H10's fused walk-and-run call would replace
 * the reader's fill, decodeNative and this call for a single native model; the counting below stays.
 */
function runModel(s: Stage, k: number, batch: FlowBatch): void {
  const m = s.rowModels[k]!;
  const nm = s.natives[k];
  const verdicts = s.verdicts[k]!;
  const states = s.ctStates[k]!;
  if (nm) m.orphanFragments += runNative(nm, m.conntrack, batch);
  let accepted = 0;
  let dropped = 0;
  for (let i = 0; i < batch.count; i++) {
    if (batch.family[i] === 0) {
      verdicts[i] = Verdict.NONE;
      continue;
    }
    const v = nm ? batch.verdict[i]! : runRow(m, batch, i);
    verdicts[i] = v;
    states[i] = batch.ctState[i]!;
    if (v === Verdict.ACCEPT) accepted++;
    else if (v === Verdict.DROP) dropped++;
  }
  const counts = s.models[k]!;
  counts.accepted += accepted;
  counts.dropped += dropped;
  counts.orphanFragments = m.orphanFragments;
}

function compareModels(s: Stage, batch: FlowBatch): void {
  const n = s.rowModels.length;
  const primary = s.verdicts[0]!;
  for (let i = 0; i < batch.count; i++) {
    for (let k = 1; k < n; k++) {
      if (s.verdicts[k]![i] !== primary[i]) {
        noteDisagreement(s, batch, i);
        break;
      }
    }
  }
}

function noteDisagreement(s: Stage, batch: FlowBatch, i: number): void {
  s.disagreements++;
  if (s.disagreementList.length >= s.keep) return;
  s.disagreementList.push({
    record: batch.recordIndex[i]!, file: s.file, fileIndex: s.fileIndex, family: batch.family[i]!,
    src: batch.src.slice(i * 4, i * 4 + 4), dst: batch.dst.slice(i * 4, i * 4 + 4),
    srcPort: batch.srcPort[i]!, dstPort: batch.dstPort[i]!, proto: batch.proto[i]!,
    ctStates: s.ctStates.map((a) => a[i]!), verdicts: s.verdicts.map((a) => a[i]!),
  });
}

/** Row i (an IP row, the primary's verdict and state in the batch) into its connection. */
function groupRow(s: Stage, batch: FlowBatch, i: number, service: number, primary: number): void {
  const conn = connectionOf(s, batch, i, batch.flags[i]!);
  if (conn < 0) return;
  const c = s.connections;
  const n = c.counts;
  const at = conn * RECORD_DOUBLES;
  if (n[at + Count.PACKETS] === 0 && service >= 0) c.service[conn] = service;
  n[at + Count.PACKETS]! += 1;
  n[at + Count.BYTES]! += batch.wireLength[i]!;
  if (primary === Verdict.DROP) n[at + Count.DROPPED]! += 1;
}

/**
 * The connection a row belongs to. Later fragments carry no ports: counted, not attributed. ICMP errors
 * belong to the connection whose packet they quote, when it is known.
 */
function connectionOf(s: Stage, batch: FlowBatch, i: number, flags: number): number {
  const t = s.connections;
  if ((flags & RowFlag.LATER_FRAGMENT) !== 0) {
    s.laterFragments++;
    return -1;
  }
  if ((flags & RowFlag.ICMP_ERROR) !== 0) {
    s.icmpErrors++;
    const quoted = t.find(batch.family[i]!, batch.innerSrc, i * 4, batch.innerDst, i * 4, batch.innerSrcPort[i]!, batch.innerDstPort[i]!, batch.innerProto[i]!);
    if (quoted >= 0) return quoted;
  }
  return t.lookupOrAdd(batch, i, batch.src, batch.dst, batch.srcPort[i]!, batch.dstPort[i]!, batch.proto[i]!);
}

/** The eBPF matcher's own per-entry counters (the native engine counts into the same array). */
export function mapEntryHitsOf(m: RowModel): Float64Array | null {
  return (m as RowModel & { loaded?: { hits: Float64Array } }).loaded?.hits ?? null;
}
