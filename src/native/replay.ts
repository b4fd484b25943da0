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

/** The connection table, copied out of C into one buffer of columns (ConnectionTable.adoptColumns takes them). */
export function exportNativeConnections(r: NativeReplay): ConnectionColumns {
  const count = r.stats[ReplayStat.CONNECTIONS]!;
  const offsets = new Float64Array(CONNECTION_COLUMNS.length);
  const buffer = r.addon.exportConnections(r.handle, offsets);
  const cols: Record<string, ArrayBufferView> = {};
  CONNECTION_COLUMNS.forEach(([name, Type, per], k) => {
    cols[name] = new Type(buffer, offsets[k]!, count * per);
  });
  return { ...(cols as unknown as Omit<ConnectionColumns, 'count' | 'overflow'>), count, overflow: r.stats[ReplayStat.OVERFLOW]! };
}
