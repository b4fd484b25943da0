/**
 * The merge of the fused sharded replay (./fused-shards.ts), done by the workers in parallel instead of
 * by the main thread alone: the main thread only decides where each shard's connections go in the
 * merged table (`planMerge`: a merge of the shards' opening-packet columns, no copying) and allocates
 * that table; then every worker copies its own rows to their places (`scatterRows`) and sums its slice
 * of the per-entry hit counters (`sumHitsSlice`). The merge and the copy loops are C
 * (native/src/addon-shards.cc): each worker is a fresh isolate, where a JavaScript loop over a hundred
 * thousand rows would run cold (measured 30-60 ms per worker against a few ms in C).
 *
 * Why: the merged table is as large as one thread's, tens of megabytes on a real capture, and memory
 * written for the first time costs a page fault per page: clearing and mapping fresh pages were most of
 * the single-threaded merge's time. Split between the workers, each writes half of it at once, and the
 * large shared buffers ask for huge pages (a fault per 2 MiB instead of per 4 KiB: on the VMs this runs
 * on, a 4 KiB fault costs tens of microseconds).
 */
import type { NativeAddon } from '../native/load.js';
import { columnOffsets, columnsOf, CONNECTION_COLUMNS, type PackedConnections } from '../native/replay.js';
import { Count, RECORD_DOUBLES } from './connections.js';

export interface MergePlan {
  /** The merged table's columns (a SharedArrayBuffer the workers write into), its overflow included. */
  readonly target: PackedConnections;
  /** Per shard, per connection of that shard: its row in the merged table, or -1 past the cap. */
  readonly positions: Int32Array[];
}

/**
 * The shards' tables merged in the order of their opening packets. Sharding is by address pair and
 * protocol, so a connection (a 5-tuple, either direction) lives in exactly one shard and no lookup is
 * needed: each shard's table is already in opening order, a k-way merge of them gives the order. The cap
 * applies to the merged table as to one thread's: the first `max` connections in opening order are kept,
 * the packets of the others counted as overflow (with those each shard already counted past its own cap).
 */
export function planMerge(addon: NativeAddon, parts: readonly PackedConnections[], max: number): MergePlan {
  const cols = parts.map(columnsOf);
  const kept = Math.min(parts.reduce((n, p) => n + p.count, 0), max);
  const positions = parts.map((p) => new Int32Array(new SharedArrayBuffer(Math.max(4, p.count * 4)), 0, p.count));
  addon.mergePositions(cols.map((c) => c.firstFile), cols.map((c) => c.firstRecord), positions, max);
  let overflow = parts.reduce((n, p) => n + p.overflow, 0);
  // A part's merged rows grow with its own order, so the ones past the cap are its last ones.
  positions.forEach((at, k) => {
    for (let c = at.length - 1; c >= 0 && at[c]! < 0; c--) overflow += cols[k]!.counts[c * RECORD_DOUBLES + Count.PACKETS]!;
  });
  const { offsets, total: bytes } = columnOffsets(kept);
  const buffer = new SharedArrayBuffer(Math.max(bytes, 8));
  addon.adviseHugePages(new Uint8Array(buffer));
  return { target: { buffer, offsets, count: kept, overflow }, positions };
}

/**
 * Each connection of `from` (one shard's table) copied to its row `positions[c]` of `into`, column by
 * column (CONNECTION_COLUMNS, at each table's own offsets), in C; rows at -1 (past the cap) are left out.
 */
export function scatterRows(addon: NativeAddon, from: PackedConnections, into: PackedConnections, positions: Int32Array): void {
  if (from.count === 0 || into.count === 0) return;
  const columns: number[] = [];
  CONNECTION_COLUMNS.forEach(([, bytes], k) => columns.push(from.offsets[k]!, into.offsets[k]!, bytes));
  const buffer = (p: PackedConnections): Uint8Array => new Uint8Array(p.buffer as ArrayBuffer);
  addon.scatterRows(buffer(from), buffer(into), Float64Array.from(columns), positions, from.count, into.count);
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
