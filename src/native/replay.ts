/**
 * The native replay of one model: DNAT, conntrack, the model and connection grouping in C, one call per
 * batch (native/src/replay.cc), with the connection table in C memory until the end, when it is copied
 * out once into a ConnectionTable's columns. src/replay/fused.ts drives it; the rows, verdicts and
 * counters equal what src/replay/replay.ts + stage.ts produce for the same model (test/native/replay.test.ts).
 */
import type { Conntrack } from '../conntrack/state.js';
import type { ConnectionColumns } from '../replay/connections.js';
import type { ServiceNat } from '../replay/nat.js';
import type { FlowBatch } from '../wire/flow-batch.js';
import { batchHandle, conntrackHandle, type NativeModelHandle } from './engine.js';
import { Group, NAT_FIELDS, NatParam, ReplayStat } from './layout.js';
import type { NativeAddon, NativeHandle } from './load.js';

export interface NativeReplay {
  readonly addon: NativeAddon;
  readonly handle: NativeHandle;
  /** ReplayStat slots, added to by every call. */
  readonly stats: Float64Array;
  readonly model: NativeModelHandle;
}

/** The addon's handle of the Service NAT tables. */
export function natHandle(addon: NativeAddon, nat: ServiceNat): NativeHandle {
  const params = new Int32Array(NatParam.SLOTS);
  params[NatParam.MASK] = nat.mask;
  params[NatParam.COUNT] = nat.count;
  const source: Record<string, ArrayBufferView> = {
    addr: nat.addr, family: nat.family, port: nat.port, proto: nat.proto, backendStart: nat.backendStart,
    backendCount: nat.backendCount, backendAddr: nat.backendAddr, backendPort: nat.backendPort, slots: nat.slots, params,
  };
  return addon.bind(Group.NAT, NAT_FIELDS.map((f) => source[f.name]!));
}

/**
 * A replay handle: the model, its tracker, the NAT tables and `batch` bound once; `services` is the
 * per-row Service port scratch (the batch's capacity), `maxConnections` the connection table's cap;
 * `shard`: take only the rows of shard `index` of `count` (src/replay/shard.ts shardOf; non-IP rows go to 0).
 */
export function bindNativeReplay(
  nm: NativeModelHandle, ct: Conntrack, nat: ServiceNat, batch: FlowBatch, services: Int32Array, maxConnections: number,
  shard = { index: 0, count: 1 },
): NativeReplay {
  const a = nm.addon;
  const stats = new Float64Array(ReplayStat.COUNT);
  const handle = a.bindReplay(nm.model, nm.handle, conntrackHandle(a, ct, batch.capacity), natHandle(a, nat), batchHandle(a, batch), stats, services, maxConnections, shard.index, shard.count);
  return { addon: a, handle, stats, model: nm };
}

/** Rows [0, batch.count) of the bound batch, already decoded (pcapng), through the replay. */
export function replayRowsNative(r: NativeReplay, batch: FlowBatch, fileIndex: number): void {
  r.addon.replayRows(r.handle, batch.count, fileIndex);
}

/** The connections.ts columns the native table is copied into, in native/src/addon-replay.cc COLUMNS order. */
const CONNECTION_COLUMNS = [
  ['family', Uint8Array, 1], ['src', Uint32Array, 4], ['dst', Uint32Array, 4], ['srcPort', Uint16Array, 1],
  ['dstPort', Uint16Array, 1], ['proto', Uint8Array, 1], ['verdict', Uint8Array, 1], ['ctState', Uint8Array, 1],
  ['firstRecord', Float64Array, 1], ['firstFile', Int32Array, 1], ['service', Int32Array, 1], ['key', Uint32Array, 10],
  ['counts', Float64Array, 4], ['hashes', Int32Array, 1],
] as const;

/** A connection table as one buffer of columns (possibly shared between threads). */
export interface PackedConnections {
  readonly buffer: ArrayBufferLike;
  readonly offsets: Float64Array;
  readonly count: number;
  readonly overflow: number;
}

/** Where each column of `count` rows starts, each 8-aligned (as the addon lays out its own buffers). */
export function columnOffsets(count: number): { offsets: Float64Array; total: number } {
  const offsets = new Float64Array(CONNECTION_COLUMNS.length);
  let total = 0;
  CONNECTION_COLUMNS.forEach(([, Type, per], k) => {
    offsets[k] = total;
    total += Math.ceil((Type.BYTES_PER_ELEMENT * per * count) / 8) * 8;
  });
  return { offsets, total };
}

/** Typed-array views of the columns (ConnectionTable.adoptColumns takes them). */
export function columnsOf(p: PackedConnections): ConnectionColumns {
  const cols: Record<string, ArrayBufferView> = {};
  CONNECTION_COLUMNS.forEach(([name, Type, per], k) => {
    cols[name] = new Type(p.buffer as ArrayBuffer, p.offsets[k]!, p.count * per);
  });
  return { ...(cols as unknown as Omit<ConnectionColumns, 'count' | 'overflow'>), count: p.count, overflow: p.overflow };
}

/** The connection table, copied out of C into one fresh buffer of columns. */
export function exportNativeConnections(r: NativeReplay): ConnectionColumns {
  const offsets = new Float64Array(CONNECTION_COLUMNS.length);
  const buffer = r.addon.exportConnections(r.handle, offsets);
  return columnsOf({ buffer, offsets, count: r.stats[ReplayStat.CONNECTIONS]!, overflow: r.stats[ReplayStat.OVERFLOW]! });
}

/** The same into a SharedArrayBuffer: a --threads worker posts it to the main thread without a copy. */
export function exportNativeConnectionsShared(r: NativeReplay): PackedConnections {
  const count = r.stats[ReplayStat.CONNECTIONS]!;
  const { offsets, total } = columnOffsets(count);
  const buffer = new SharedArrayBuffer(Math.max(total, 8));
  const bytes = new Uint8Array(buffer);
  r.addon.adviseHugePages(bytes); // fresh 4 KiB pages: a fault each (load.ts adviseHugePages)
  r.addon.exportConnections(r.handle, offsets, bytes);
  return { buffer, offsets, count, overflow: r.stats[ReplayStat.OVERFLOW]! };
}

/**
 * Disjoint tables (each in the order of its opening packets) merged in that order, at most `max` rows:
 * one copy loop in C. `taken[k]`: the rows of part k kept (the rest are beyond the cap).
 */
export function concatNativeConnections(addon: NativeAddon, parts: readonly PackedConnections[], max: number): { packed: PackedConnections; taken: Float64Array } {
  const offsets = new Float64Array(parts.length * CONNECTION_COLUMNS.length);
  parts.forEach((p, k) => offsets.set(p.offsets, k * CONNECTION_COLUMNS.length));
  const out = new Float64Array(CONNECTION_COLUMNS.length);
  const taken = new Float64Array(parts.length);
  const buffers = parts.map((p) => (p.buffer instanceof SharedArrayBuffer ? new Uint8Array(p.buffer) : p.buffer));
  const buffer = addon.concatConnections(buffers, offsets, Float64Array.from(parts, (p) => p.count), max, out, taken);
  const count = taken.reduce((n, t) => n + t, 0);
  return { packed: { buffer, offsets: out, count, overflow: 0 }, taken };
}
