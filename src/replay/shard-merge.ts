/**
 * The merge of the fused sharded replay (./fused-shards.ts), done by the workers in parallel instead of
 * by the main thread alone: the main thread only decides where each shard's connections go in the
 * merged table (`planMerge`: a merge of the shards' opening-packet columns, no copying) and allocates
 * that table; then every worker copies its own rows to their places (`scatterRows`) and sums its slice
 * of the per-entry hit counters (`sumHitsSlice`).
 *
 * Why: the merged table is as large as one thread's, tens of megabytes on a real capture, and memory
 * written for the first time costs a page fault per page (on this VM, clearing and mapping were most of
 * the single-threaded merge's time). Split between the workers, each writes half of it at once.
 */
import { columnOffsets, columnsOf, type PackedConnections } from '../native/replay.js';
import { COUNT_WORDS } from './connections.js';

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
export function planMerge(parts: readonly PackedConnections[], max: number): MergePlan {
  const cols = parts.map(columnsOf);
  const total = parts.reduce((n, p) => n + p.count, 0);
  const kept = Math.min(total, max);
  const positions = parts.map((p) => new Int32Array(new SharedArrayBuffer(Math.max(4, p.count * 4))));
  const at = new Int32Array(parts.length);
  let overflow = parts.reduce((n, p) => n + p.overflow, 0);
  for (let row = 0; row < total; row++) {
    const k = earliest(cols, at);
    const c = at[k]!++;
    positions[k]![c] = row < kept ? row : -1;
    if (row >= kept) overflow += cols[k]!.counts[c * COUNT_WORDS]!;
  }
  const { offsets, total: bytes } = columnOffsets(kept);
  return { target: { buffer: new SharedArrayBuffer(Math.max(bytes, 8)), offsets, count: kept, overflow }, positions };
}

/** The shard whose next connection opened first (by capture, then record). */
function earliest(cols: readonly { count: number; firstFile: Int32Array; firstRecord: Float64Array }[], at: Int32Array): number {
  let best = -1;
  for (let k = 0; k < cols.length; k++) {
    const p = cols[k]!;
    const c = at[k]!;
    if (c >= p.count) continue;
    if (best < 0) {
      best = k;
      continue;
    }
    const q = cols[best]!;
    const d = at[best]!;
    if (p.firstFile[c]! < q.firstFile[d]! || (p.firstFile[c] === q.firstFile[d] && p.firstRecord[c]! < q.firstRecord[d]!)) best = k;
  }
  return best;
}

/**
 * Each connection of `from` (one shard's table) copied to its row `positions[c]` of `into`, column by
 * column; rows at -1 (past the cap) are left out. Every column is copied as 32-bit words, 16-bit halves
 * or bytes, whichever its row width allows, so that the copy loop sees three array types, not seven.
 */
export function scatterRows(from: PackedConnections, into: PackedConnections, positions: Int32Array): void {
  if (from.count === 0 || into.count === 0) return;
  const src = columnsOf(from) as unknown as Record<string, unknown>;
  const dst = columnsOf(into) as unknown as Record<string, unknown>;
  for (const name of Object.keys(src)) {
    const s = src[name];
    if (!ArrayBuffer.isView(s)) continue; // count, overflow
    const rowBytes = s.byteLength / from.count;
    const t = dst[name] as ArrayBufferView;
    const unit = rowBytes % 4 === 0 ? 4 : rowBytes % 2 === 0 ? 2 : 1;
    scatterColumn(viewOf(s, unit), viewOf(t, unit), rowBytes / unit, positions, from.count);
  }
}

function viewOf(a: ArrayBufferView, unit: number): Int32Array | Uint16Array | Uint8Array {
  const Type = unit === 4 ? Int32Array : unit === 2 ? Uint16Array : Uint8Array;
  return new Type(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength / unit);
}

function scatterColumn(src: Int32Array | Uint16Array | Uint8Array, dst: typeof src, per: number, positions: Int32Array, count: number): void {
  if (per === 1) {
    for (let c = 0; c < count; c++) {
      const row = positions[c]!;
      if (row >= 0) dst[row] = src[c]!;
    }
    return;
  }
  for (let c = 0; c < count; c++) {
    const row = positions[c]!;
    if (row < 0) continue;
    const from = c * per;
    const to = row * per;
    for (let w = 0; w < per; w++) dst[to + w] = src[from + w]!;
  }
}

/**
 * Slice `slice` of `slices` of the per-entry hit counters: every other worker's counts added into the
 * first worker's array (all SharedArrayBuffers, one per worker; every worker compiled the same program,
 * so entries line up). Each worker sums its own slice: no thread reads the whole 40 MB of the real tier.
 * Zero counts are skipped, so that pages no packet touched in the first array stay untouched.
 */
export function sumHitsSlice(hits: readonly (Float64Array | null)[], slice: number, slices: number): void {
  const into = hits[0];
  if (!into) return;
  const lo = Math.floor((into.length * slice) / slices);
  const hi = Math.floor((into.length * (slice + 1)) / slices);
  for (let k = 1; k < hits.length; k++) {
    const h = hits[k]!;
    for (let e = lo; e < hi; e++) {
      const v = h[e]!;
      if (v !== 0) into[e]! += v;
    }
  }
}
