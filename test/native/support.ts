/** Helpers for the native tests: the addon (or a clear failure), seeded batches, batch copies, connection tables as plain arrays. */
import { loadNative, type NativeAddon } from '../../src/native/load.js';
import { type ConnectionTable, Count, RECORD_DOUBLES, RECORD_WORDS } from '../../src/replay/connections.js';
import type { ReplayResult } from '../../src/replay/replay.js';
import type { Flow } from '../../src/model/evaluate.js';
import { ipToWords } from '../../src/model/ip.js';
import { CtState, FlowBatch, RowFlag } from '../../src/wire/flow-batch.js';
import { makeRng, type Rng } from '../support/rng.js';

/** The addon; the native suites skip only when NETSIEVE_NATIVE=off says to, and fail when it is missing. */
export function requireAddon(): NativeAddon | null {
  const r = loadNative();
  if (r.addon !== null) return r.addon;
  if (process.env['NETSIEVE_NATIVE'] === 'off') return null;
  throw new Error(`the native addon is not built (${r.reason}); run npm install (or node native/install.mjs)`);
}

const CONNECTION_COLUMNS = ['verdict', 'ctState', 'firstRecord', 'firstFile', 'service', 'hashes'] as const;

/** A connection table as plain arrays of its `count` rows: every column, and per record its key words and three counters (the rest of a record is nobody's). */
export function connectionRows(t: ConnectionTable): Record<string, unknown> {
  const table: Record<string, unknown> = { count: t.count, overflow: t.overflow };
  for (const col of CONNECTION_COLUMNS) table[col] = Array.from((t[col] as Uint8Array).subarray(0, t.count));
  table.records = Array.from({ length: t.count }, (_, c) => [
    ...t.key.subarray(c * RECORD_WORDS, c * RECORD_WORDS + 10),
    ...[Count.PACKETS, Count.BYTES, Count.DROPPED].map((w) => t.counts[c * RECORD_DOUBLES + w]!),
  ]);
  return table;
}

/**
 * A replay's result without its timings, to compare two engines or thread counts by: the connection table
 * as plain arrays of its `count` rows, and of each tracker its capacity and evictions (its peak and count
 * are per shard with --threads).
 */
export function comparableReplay(r: ReplayResult): Record<string, unknown> {
  const { seconds: _s, cpuSeconds: _c, connections: t, nat: _n, models, ...rest } = r;
  const tracked = models.map((m) => ({ ...m, mapEntryHits: m.mapEntryHits ? Array.from(m.mapEntryHits) : null, tracker: { capacity: m.tracker.capacity, evictions: m.tracker.evictions } }));
  return { ...rest, models: tracked, table: connectionRows(t) };
}

const INPUTS = [
  'family', 'src', 'dst', 'proto', 'srcPort', 'dstPort', 'tcpFlags', 'icmpType', 'icmpCode', 'flags', 'fragmentId',
  'innerSrc', 'innerDst', 'innerProto', 'innerSrcPort', 'innerDstPort', 'sctpChunk', 'wireLength', 'tsSec', 'tsNsec', 'ctState',
] as const;

export function cloneBatch(b: FlowBatch): FlowBatch {
  const out = new FlowBatch(b.capacity);
  for (const name of INPUTS) (out[name] as Uint8Array).set(b[name] as Uint8Array);
  out.count = b.count;
  return out;
}

/** Opening-packet rows from flows, with some rows in other conntrack states, non-IP and ICMP. */
export function rowsFromFlows(flows: readonly Flow[], seed: number): FlowBatch {
  const rng = makeRng(seed);
  const b = new FlowBatch(flows.length);
  flows.forEach((f, i) => {
    b.family[i] = rng.chance(0.02) ? 0 : f.src.family;
    ipToWords(f.src, b.src, i * 4);
    ipToWords(f.dst, b.dst, i * 4);
    b.proto[i] = rng.chance(0.05) ? (f.src.family === 4 ? 1 : 58) : f.protocol;
    b.srcPort[i] = 1024 + below(rng, 60000);
    b.dstPort[i] = f.dstPort;
    b.ctState[i] = rng.chance(0.8) ? CtState.NEW : below(rng, 5);
    b.wireLength[i] = 60 + below(rng, 1400);
  });
  b.count = flows.length;
  return b;
}

/**
 * A packet sequence for connection tracking: a small pool of endpoints (so connections meet again),
 * every TCP flag class (valid and not), UDP, ICMP echo and other types, SCTP, GRE, ICMP errors quoting
 * earlier packets, first and later fragments, malformed rows, and time steps from microseconds to
 * minutes (so entries expire).
 */
export function conntrackRows(pool: readonly Flow[], count: number, seed: number): FlowBatch {
  const rng = makeRng(seed);
  const b = new FlowBatch(count);
  let t = 1_767_225_600;
  for (let i = 0; i < count; i++) {
    const f = pool[below(rng, pool.length)]!;
    const reverse = rng.chance(0.45);
    const o = i * 4;
    ipToWords(reverse ? f.dst : f.src, b.src, o);
    ipToWords(reverse ? f.src : f.dst, b.dst, o);
    b.family[i] = rng.chance(0.01) ? 0 : f.src.family;
    const client = 40000 + below(rng, 4);
    b.srcPort[i] = reverse ? f.dstPort : client;
    b.dstPort[i] = reverse ? client : f.dstPort;
    b.proto[i] = pickProto(rng, f);
    b.tcpFlags[i] = rng.chance(0.9) ? pick(rng, [0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x02, 0x10, 0x10]) : below(rng, 64);
    const v6 = f.src.family === 6;
    b.icmpType[i] = pick(rng, v6 ? [128, 129, 128, 135, 139, 140] : [8, 0, 8, 13, 14, 5]);
    if (b.proto[i] === 1 || b.proto[i] === 58) { b.srcPort[i] = 7 + below(rng, 3); b.dstPort[i] = b.srcPort[i]!; }
    b.flags[i] = pickFlags(rng);
    b.fragmentId[i] = below(rng, 4);
    // SCTP first-chunk type + 1 (0: not decoded): INIT, INIT-ACK, DATA, HEARTBEAT, ABORT, SHUTDOWN-ACK.
    b.sctpChunk[i] = b.proto[i] === 132 ? pick(rng, [0, 2, 3, 1, 5, 7, 9]) : 0;
    if ((b.flags[i]! & RowFlag.ICMP_ERROR) !== 0) quoteEarlier(b, i, rng);
    b.wireLength[i] = 60 + below(rng, 1400);
    t += rng.chance(0.02) ? 30 + below(rng, 700) : below(rng, 3) * 0.25 + below(rng, 1000) * 1e-6;
    b.tsSec[i] = Math.floor(t);
    b.tsNsec[i] = Math.floor((t - Math.floor(t)) * 1e9);
  }
  b.count = count;
  return b;
}

function pick(rng: Rng, values: readonly number[]): number {
  return rng.pick(values);
}

function pickProto(rng: Rng, f: Flow): number {
  const r = below(rng, 100);
  if (r < 70) return f.protocol;
  if (r < 80) return 17;
  if (r < 92) return f.src.family === 4 ? 1 : 58;
  if (r < 96) return 132;
  return 47;
}

function pickFlags(rng: Rng): number {
  const r = below(rng, 100);
  if (r < 3) return RowFlag.FIRST_FRAGMENT;
  if (r < 6) return RowFlag.LATER_FRAGMENT;
  if (r < 9) return RowFlag.ICMP_ERROR;
  if (r < 10) return RowFlag.MALFORMED;
  return 0;
}

/** An ICMP error about an earlier row, sent back to that row's source (or, sometimes, elsewhere). */
function quoteEarlier(b: FlowBatch, i: number, rng: Rng): void {
  const j = i === 0 ? 0 : below(rng, i);
  const o = i * 4;
  const q = j * 4;
  for (let w = 0; w < 4; w++) {
    b.innerSrc[o + w] = b.src[q + w]!;
    b.innerDst[o + w] = b.dst[q + w]!;
    if (rng.chance(0.9)) { b.dst[o + w] = b.src[q + w]!; b.src[o + w] = b.dst[q + w]!; }
  }
  b.innerProto[i] = b.proto[j]!;
  b.innerSrcPort[i] = b.srcPort[j]!;
  b.innerDstPort[i] = b.dstPort[j]!;
  b.proto[i] = b.family[i] === 6 ? 58 : 1;
  b.icmpType[i] = b.family[i] === 6 ? 1 : 3;
}

/** The first index where two arrays differ, or -1. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>, n = Math.max(a.length, b.length)): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

/** Uniform integer in [0, n). */
function below(rng: Rng, n: number): number {
  return rng.int(0, n - 1);
}
