/**
 * The connection tracker's data: the entry table plus per-entry protocol state, counters, the fragment
 * table and per-row scratch. Plain typed arrays behind one record; the functions here are the entry
 * life cycle (find with lazy expiry, refresh, delete, make room) shared by the protocol handlers.
 */
import {
  type ConnTable, EMPTY_META, findTuple, hashTuple, initTable, newerEntry, oldestEntry, removeEntry, tableArrays, tableCount, TableMeta,
  touchEntry, TUPLE_WORDS,
} from './table.js';
import { carveArrays, type BufferAllocator } from './arena.js';
import { clearFragments, type FragmentTable, newFragmentTable } from './fragments.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from './timeouts.js';

/** Entry status bits, after the kernel's IPS_* bits that matter here. */
export const Status = {
  /** A packet in the reply direction was seen (IPS_SEEN_REPLY): original-direction packets are ESTABLISHED. */
  SEEN_REPLY: 1,
  /** IPS_ASSURED: a proper two-way exchange; early drop spares these. */
  ASSURED: 2,
  /** IP_CT_TCP_FLAG_CLOSE_INIT in either direction: a FIN started the close, so a new SYN may reopen. */
  CLOSE_INIT: 4,
} as const;

/** Indices into `Conntrack.counters`. */
export const Counter = {
  INSERTS: 0, EVICTIONS: 1, EXPIRATIONS: 2, INVALID: 3, DELETES: 4, ORPHAN_FRAGMENTS: 5, RELATED: 6, CLASHES: 7,
} as const;
const COUNTER_COUNT = 8;

/**
 * The table size of a Kubernetes node: kube-proxy sets nf_conntrack_max to 32,768 per core, and to at least
 * its --conntrack-min, 131,072 by default. (65,536 before: one million packets of the bench's traffic, 187k
 * connections, then evicted 46,641 entries that a node would have kept.)
 */
export const DEFAULT_CONNTRACK_CAPACITY = 131_072;

export interface ConntrackOptions {
  /** Most entries held at once (the kernel's nf_conntrack_max). Default DEFAULT_CONNTRACK_CAPACITY. */
  capacity?: number;
  timeouts?: Partial<Timeouts>;
  /** Slots of the first-fragment table. Default 1,024. */
  fragmentSlots?: number;
  /** The memory of the entry and slot arrays, all in one buffer (default: an ArrayBuffer; see arena.ts). */
  allocate?: BufferAllocator;
}

export interface Conntrack {
  readonly table: ConnTable;
  readonly timeouts: Timeouts;
  /** Per entry: protocol state (TcpState for TCP, SctpState for SCTP, 0 otherwise), Status bits, the last
   *  TCP flag class and its direction (the kernel's last_index / last_dir), expiry and UDP stream time. */
  readonly state: Uint8Array;
  readonly status: Uint8Array;
  readonly lastIndex: Uint8Array;
  readonly lastDir: Uint8Array;
  readonly expires: Float64Array;
  readonly streamAt: Float64Array;
  readonly counters: Float64Array;
  readonly fragments: FragmentTable;
  /** Scratch: the packet's tuple (words 0-9) and its reverse (10-19). */
  readonly key: Uint32Array;
  /** The current packet's capture time in seconds (a typed array so no double is boxed between calls). */
  readonly now: Float64Array;
  /** Per batch row, what confirm() must do: 0 nothing, else 1 + the state of the entry to create. */
  pending: Uint8Array;
  /** Per batch row of a later fragment: the verdict it follows (see laterFragmentVerdict). */
  fragmentVerdict: Uint8Array;
}

export function newConntrack(options: ConntrackOptions = {}): Conntrack {
  const capacity = options.capacity ?? DEFAULT_CONNTRACK_CAPACITY;
  const a = carveArrays({
    ...tableArrays(capacity), expires: [Float64Array, capacity], streamAt: [Float64Array, capacity], state: [Uint8Array, capacity],
    status: [Uint8Array, capacity], lastIndex: [Uint8Array, capacity], lastDir: [Uint8Array, capacity],
  } as const, options.allocate);
  const table = initTable(capacity, a);
  return {
    table, timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts }, state: a.state,
    status: a.status, lastIndex: a.lastIndex, lastDir: a.lastDir,
    expires: a.expires, streamAt: a.streamAt,
    counters: new Float64Array(COUNTER_COUNT), fragments: newFragmentTable(options.fragmentSlots ?? 1024),
    key: new Uint32Array(2 * TUPLE_WORDS), now: new Float64Array(1), pending: new Uint8Array(0),
    fragmentVerdict: new Uint8Array(0),
  };
}

/**
 * The tracker emptied, as newConntrack made it, in the memory it has: a fresh table's pages are the
 * kernel's to fault in as they are first touched, which on the VMs this runs on costs more than the
 * packets of a short pass (src/compare/models.ts passes). Only the entries ever taken (TableMeta.FRESH)
 * were written, so only those are cleared, and every slot.
 */
export function clearConntrack(ct: Conntrack): void {
  const t = ct.table;
  const taken = t.meta[TableMeta.FRESH]!;
  t.slots.fill(0);
  t.tuples.fill(0, 0, taken * 2 * TUPLE_WORDS);
  for (const a of [t.prev, t.next, t.free, ct.expires, ct.streamAt, ct.state, ct.status, ct.lastIndex, ct.lastDir]) a.fill(0, 0, taken);
  t.meta.set(EMPTY_META);
  ct.counters.fill(0);
  clearFragments(ct.fragments);
  ct.key.fill(0);
  ct.now[0] = 0;
}

/** Per-row scratch grows to the batch's capacity once (not per packet). */
export function ensureRows(ct: Conntrack, rows: number): void {
  if (ct.pending.length >= rows) return;
  ct.pending = new Uint8Array(rows);
  ct.fragmentVerdict = new Uint8Array(rows);
}

/**
 * Finds the packet's tuple (ct.key words 0-9): entry * 2 + direction, or -1. An entry found past its
 * expiry is removed first and counted, as the kernel's lookup skips and reaps expired entries.
 */
export function lookup(ct: Conntrack): number {
  const ref = findTuple(ct.table, ct.key, 0, hashTuple(ct.key, 0));
  if (ref < 0) return ref;
  const e = ref >> 1;
  if (ct.expires[e]! > ct.now[0]!) return ref;
  removeEntry(ct.table, e);
  ct.counters[Counter.EXPIRATIONS]! += 1;
  return -1;
}

export function refresh(ct: Conntrack, e: number, timeout: number): void {
  ct.expires[e] = ct.now[0]! + timeout;
  touchEntry(ct.table, e);
}

/** Deletes an entry the state machine is done with (RST before any reply, a reopened connection). */
export function deleteEntry(ct: Conntrack, e: number): void {
  removeEntry(ct.table, e);
  ct.counters[Counter.DELETES]! += 1;
}

/** How far from the oldest entry early drop looks for a non-assured victim (the kernel scans a few buckets). */
const EARLY_DROP_SCAN = 64;

/**
 * Frees one entry when the table is full: the oldest if it has expired; else, as the kernel's early_drop,
 * the least recently refreshed entry that is not assured among the oldest EARLY_DROP_SCAN; else the oldest.
 */
export function makeRoom(ct: Conntrack): void {
  const t = ct.table;
  if (tableCount(t) < t.capacity) return;
  const oldest = oldestEntry(t);
  if (ct.expires[oldest]! <= ct.now[0]!) {
    removeEntry(t, oldest);
    ct.counters[Counter.EXPIRATIONS]! += 1;
    return;
  }
  let victim = oldest;
  for (let e = oldest, n = 0; e >= 0 && n < EARLY_DROP_SCAN; e = newerEntry(t, e), n++) {
    if ((ct.status[e]! & Status.ASSURED) === 0) {
      victim = e;
      break;
    }
  }
  removeEntry(t, victim);
  ct.counters[Counter.EVICTIONS]! += 1;
}

export interface ConntrackStats {
  entries: number;
  /** The most entries held at once (peakEntries). */
  peakEntries: number;
  capacity: number;
  inserts: number;
  evictions: number;
  expirations: number;
  invalid: number;
  deletes: number;
  orphanFragments: number;
  related: number;
  clashes: number;
}

/** A snapshot of the counters (allocates: for reports, not for the hot path). */
export function conntrackStats(ct: Conntrack): ConntrackStats {
  const c = ct.counters;
  return {
    entries: tableCount(ct.table), peakEntries: peakEntries(ct), capacity: ct.table.capacity, inserts: c[Counter.INSERTS]!, evictions: c[Counter.EVICTIONS]!,
    expirations: c[Counter.EXPIRATIONS]!, invalid: c[Counter.INVALID]!, deletes: c[Counter.DELETES]!,
    orphanFragments: c[Counter.ORPHAN_FRAGMENTS]!, related: c[Counter.RELATED]!, clashes: c[Counter.CLASHES]!,
  };
}

/** The most entries the tracker has held at once (table.ts TableMeta.FRESH: nothing counts it per packet). */
export function peakEntries(ct: Conntrack): number {
  return ct.table.meta[TableMeta.FRESH]!;
}
