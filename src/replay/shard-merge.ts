/**
 * The merge of the fused sharded replay (./fused-shards.ts), done by the workers in parallel instead of
 * by the main thread alone: the main thread only decides where each shard's connections go in the
 * merged table (`planMerge`: a merge of the shards' opening-packet columns, `mergeKeysOf`) and
 * allocates that table; then every worker copies its own rows there from its own C table, taken in
 * place (`scatterShard`), and sums its slice of the per-entry hit counters (`sumHitsSlice`). The merge
 * and the copy loops are C (native/src/addon-shards.cc): each worker is a fresh isolate, where a
 * JavaScript loop over a hundred thousand rows would run cold (measured 30-60 ms per worker against a
 * few ms in C).
 *
 * Why: the merged table is as large as one thread's, tens of megabytes on a real capture, and memory
 * written for the first time costs a page fault per page: clearing and mapping fresh pages were most of
 * the single-threaded merge's time. Split between the workers, each writes half of it at once, and the
 * large shared buffers ask for huge pages (a fault per 2 MiB instead of per 4 KiB: on the VMs this runs
 * on, a 4 KiB fault costs tens of microseconds).
 */
import type { NativeAddon } from '../native/load.js';
import { columnOffsets, CONNECTION_COLUMNS, type PackedConnections, type ShardColumns } from '../native/replay.js';
import { Count, RECORD_DOUBLES } from './connections.js';

/** Each column's index in CONNECTION_COLUMNS (and in a ShardColumns), by name. */
const COLUMN = Object.fromEntries(CONNECTION_COLUMNS.map(([name], k) => [name, k])) as Record<(typeof CONNECTION_COLUMNS)[number][0], number>;

/** What the main thread needs of a shard to plan the merge: its opening packets, in SharedArrayBuffers. */
export interface MergeKeys {
  readonly firstFile: Int32Array;
  readonly firstRecord: Float64Array;
  readonly count: number;
  readonly overflow: number;
}

export interface MergePlan {
  /** The merged table's columns (a SharedArrayBuffer the workers write into); overflow: the shards' own. */
  readonly target: PackedConnections;
  /** Per shard, per connection of that shard: its row in the merged table, or -1 past the cap. */
  readonly positions: Int32Array[];
}

/**
 * A shard's opening-packet columns copied into shared memory (12 bytes a connection), for the main
 * thread's plan. The rest of the table stays where the shard's replay wrote it: each worker scatters its
 * rows from there (`scatterShard`), so the table is copied once, into the merged table, not twice.
 */
export function mergeKeysOf(s: ShardColumns): MergeKeys {
  const firstFile = new Int32Array(new SharedArrayBuffer(Math.max(4, s.count * 4)), 0, s.count);
  const firstRecord = new Float64Array(new SharedArrayBuffer(Math.max(8, s.count * 8)), 0, s.count);
  firstFile.set(new Int32Array(s.columns[COLUMN.firstFile]!.buffer, s.columns[COLUMN.firstFile]!.byteOffset, s.count));
  firstRecord.set(new Float64Array(s.columns[COLUMN.firstRecord]!.buffer, s.columns[COLUMN.firstRecord]!.byteOffset, s.count));
  return { firstFile, firstRecord, count: s.count, overflow: s.overflow };
}

/**
 * The shards' tables merged in the order of their opening packets. Sharding is by address pair and
 * protocol, so a connection (a 5-tuple, either direction) lives in exactly one shard and no lookup is
 * needed: each shard's table is already in opening order, a k-way merge of them gives the order. The cap
 * applies to the merged table as to one thread's: the first `max` connections in opening order are kept;
 * the packets of the others are overflow, which `scatterShard` returns per shard (with those each shard
 * already counted past its own cap, in the target's overflow here).
 */
export function planMerge(addon: NativeAddon, parts: readonly MergeKeys[], max: number): MergePlan {
  const kept = Math.min(parts.reduce((n, p) => n + p.count, 0), max);
  const positions = parts.map((p) => new Int32Array(new SharedArrayBuffer(Math.max(4, p.count * 4)), 0, p.count));
  addon.mergePositions(parts.map((p) => p.firstFile), parts.map((p) => p.firstRecord), positions, max);
  const overflow = parts.reduce((n, p) => n + p.overflow, 0);
  const { offsets, total: bytes } = columnOffsets(kept);
  const buffer = new SharedArrayBuffer(Math.max(bytes, 8));
  addon.adviseHugePages(new Uint8Array(buffer));
  return { target: { buffer, offsets, count: kept, overflow }, positions };
}

/**
 * Each connection of shard `from` copied to its row `positions[c]` of `into`, column by column, in C;
 * rows at -1 (past the cap) are left out. Returns the packets of those rows left out: overflow.
 */
export function scatterShard(addon: NativeAddon, from: ShardColumns, into: PackedConnections, positions: Int32Array): number {
  if (from.count === 0) return 0;
  const target = new Uint8Array(into.buffer as ArrayBuffer);
  if (into.count > 0) {
    CONNECTION_COLUMNS.forEach(([, bytes], k) => {
      addon.scatterRows(from.columns[k]!, target, Float64Array.of(0, into.offsets[k]!, bytes), positions, from.count, into.count);
    });
  }
  // A shard's merged rows grow with its own order, so the ones past the cap are its last ones.
  const records = from.columns[COLUMN.records]!;
  const counts = new Float64Array(records.buffer, records.byteOffset, from.count * RECORD_DOUBLES);
  let cut = 0;
  for (let c = from.count - 1; c >= 0 && positions[c]! < 0; c--) cut += counts[c * RECORD_DOUBLES + Count.PACKETS]!;
  return cut;
}

/**
 * Slice `slice` of `slices` of the per-entry hit counters: every other worker's counts added into the
 * first worker's array (all SharedArrayBuffers, one per worker; every worker compiled the same program,
 * so entries line up). Each worker sums its own slice, in C: no thread walks the whole 40 MB of the
 * real tier, and none in a cold isolate's loop.
 */
export function sumHitsSlice(addon: NativeAddon, hits: readonly (Float64Array | null)[], slice: number, slices: number): void {
  const into = hits[0];
  if (!into) return;
  const lo = Math.floor((into.length * slice) / slices);
  const hi = Math.floor((into.length * (slice + 1)) / slices);
  for (let k = 1; k < hits.length; k++) addon.addSlice(into, hits[k]!, lo, hi);
}
