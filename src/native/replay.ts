/**
 * The native replay of one model: DNAT, conntrack, the model and connection grouping in C, one call per
 * batch (native/src/replay.cc), with the connection table in C memory until the end, when it is copied
 * out once into a ConnectionTable's columns. src/replay/fused.ts drives it; the rows, verdicts and
 * counters equal what src/replay/replay.ts + stage.ts produce for the same model (test/native/replay.test.ts).
 */
import type { Conntrack } from '../conntrack/state.js';
import { RECORD_BYTES, RECORD_DOUBLES, RECORD_WORDS, type ConnectionColumns } from '../replay/connections.js';
import type { ServiceNat } from '../replay/nat.js';
import type { FlowBatch } from '../wire/flow-batch.js';
import { batchHandle, conntrackHandle, type NativeModelHandle } from './engine.js';
import { Group, NAT_FIELDS, NatParam, PrefaultMode, ReplayStat } from './layout.js';
import type { NativeAddon, NativeHandle } from './load.js';

export interface NativeReplay {
  readonly addon: NativeAddon;
  readonly handle: NativeHandle;
  /** ReplayStat slots, added to by every call. */
  readonly stats: Float64Array;
  readonly model: NativeModelHandle;
  /** Lanes (bindNativeLanes): the replays of the shards, run on threads of their own; else null. */
  readonly lanes: readonly NativeReplay[] | null;
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
 * per-row Service port scratch (the batch's capacity), `maxConnections` the connection table's cap.
 * `prefault` (PrefaultMode bits): with ON, a helper thread faults in the tables' pages ahead of the replay
 * (native/src/prefault.h) until takeNativeConnections; for a replay on one thread with a core to spare.
 */
export function bindNativeReplay(
  nm: NativeModelHandle, ct: Conntrack, nat: ServiceNat, batch: FlowBatch, services: Int32Array, maxConnections: number,
  prefault: number = PrefaultMode.OFF,
): NativeReplay {
  const a = nm.addon;
  const stats = new Float64Array(ReplayStat.COUNT);
  const handle = a.bindReplay(nm.model, nm.handle, conntrackHandle(a, ct, batch.capacity), natHandle(a, nat), batchHandle(a, batch), stats, services, maxConnections, prefault);
  return { addon: a, handle, stats, model: nm, lanes: null };
}

/**
 * Replays 0..N-1 of one batch as one replay on N threads of the addon, replay k the lane of shard k
 * (native/src/addon-lanes.cc). Classic pcap records are walked by every lane, each decoding only its own
 * rows (`split`, the default; not with `sync`); else each record is walked and decoded once, on this
 * thread, and handed to its lane. Its `stats` count the packets handed over until finishNativeLanes, then
 * hold the lanes' sums; its `model` is lane 0's (each lane counts into its own model handle). `sync`:
 * every row's verdict is in the batch after each call (else none is).
 */
export function bindNativeLanes(lanes: readonly NativeReplay[], sync: boolean, split = true): NativeReplay {
  const a = lanes[0]!.addon;
  const stats = new Float64Array(ReplayStat.COUNT);
  const handle = a.bindLanes(lanes.map((r) => r.handle), stats, sync, split);
  return { addon: a, handle, stats, model: lanes[0]!.model, lanes };
}

/** Waits for the lanes to run all they were handed (their counters and tables are then complete). */
export function finishNativeLanes(r: NativeReplay): void {
  r.addon.finishLanes(r.handle);
}

/**
 * At the end: the lanes' connection tables merged, in opening order, into lane 0's memory, and handed
 * over as one table (takeNativeConnections of lane 0); the cap applies to the merged table.
 */
export function takeLanesConnections(r: NativeReplay): ConnectionColumns {
  r.addon.mergeLanes(r.handle);
  return takeNativeConnections(r.lanes![0]!);
}

/** Rows [0, batch.count) of the bound batch, already decoded (pcapng), through the replay. */
export function replayRowsNative(r: NativeReplay, batch: FlowBatch, fileIndex: number): void {
  if (r.lanes !== null) r.addon.replayRowsLanes(r.handle, batch.count, fileIndex);
  else r.addon.replayRows(r.handle, batch.count, fileIndex);
}

/**
 * The connection table's columns in native/src/replay.h CONN_* order, with their bytes per row
 * (`records`: connections.ts RECORD_BYTES, seen as `key` and `counts`). The C side checks the row sizes
 * (ConnectionColumnBytes) against its own: test/native/replay.test.ts.
 */
export const CONNECTION_COLUMNS = [
  ['records', RECORD_BYTES], ['firstRecord', 8], ['firstFile', 4], ['service', 4], ['hashes', 4], ['verdict', 1], ['ctState', 1],
] as const;

/** Typed-array views of `rows` rows of each column, given where each starts (buffer, byte offset). */
function viewColumns(at: (k: number) => [ArrayBufferLike, number], rows: number, count: number, overflow: number): ConnectionColumns {
  const [records, r] = at(0);
  const view = <T>(k: number, make: (b: ArrayBuffer, o: number, n: number) => T): T => {
    const [buffer, o] = at(k);
    return make(buffer as ArrayBuffer, o, rows);
  };
  return {
    count, overflow,
    key: new Uint32Array(records as ArrayBuffer, r, rows * RECORD_WORDS),
    counts: new Float64Array(records as ArrayBuffer, r, rows * RECORD_DOUBLES),
    firstRecord: view(1, (b, o, n) => new Float64Array(b, o, n)),
    firstFile: view(2, (b, o, n) => new Int32Array(b, o, n)),
    service: view(3, (b, o, n) => new Int32Array(b, o, n)),
    hashes: view(4, (b, o, n) => new Int32Array(b, o, n)),
    verdict: view(5, (b, o, n) => new Uint8Array(b, o, n)),
    ctState: view(6, (b, o, n) => new Uint8Array(b, o, n)),
  };
}

/**
 * The native connection table itself, no copy: the C table's column mappings become the typed arrays'
 * memory (the replay's table is empty afterwards; call once, at the end).
 */
export function takeNativeConnections(r: NativeReplay): ConnectionColumns {
  const buffers = r.addon.takeConnections(r.handle);
  const rows = buffers[0]!.byteLength / RECORD_BYTES;
  return viewColumns((k) => [buffers[k]!, 0], rows, r.stats[ReplayStat.CONNECTIONS]!, r.stats[ReplayStat.OVERFLOW]!);
}

