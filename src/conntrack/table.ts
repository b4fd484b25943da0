/**
 * The connection table's storage: a bounded pool of entries, each with two fixed-width tuples (original
 * and reply direction, as the kernel's two tuplehash nodes per nf_conn), indexed by one open-addressing
 * hash (linear probing, backward-shift deletion so no tombstones accumulate), plus a recency list used
 * to find eviction victims. Typed arrays only; nothing here allocates after `newTable`.
 *
 * A tuple is TUPLE_WORDS 32-bit words: source address (4), destination address (4), family and protocol,
 * then the two 16-bit "ports" (TCP/UDP/SCTP ports; for ICMP the echo id and the type/code, as the
 * kernel's tuple carries id, type and code).
 *
 * Why 30-bit hashes and no 32-bit value crossing a function boundary: V8 boxes an integer above 2^30
 * passed to or returned from a function it did not inline, which would be an allocation per packet.
 */

import { carveArrays } from './arena.js';

export const TUPLE_WORDS = 10;
/** The largest table: 16,777,216 entries, whose slots alone (4 per entry) take 512 MiB. */
export const MAX_CONNTRACK_CAPACITY = 1 << 24;
/** The tuple word holding family << 8 | protocol. */
const FAMILY_PROTO_WORD = 8;
const ENTRY_WORDS = 2 * TUPLE_WORDS;
const EMPTY = 0;
const NIL = -1;

export interface ConnTable {
  readonly capacity: number;
  readonly mask: number;
  /**
   * Per slot s, a pair: [2s] 0 empty, else 1 + (entry * 2 + direction); [2s + 1] that tuple's hash. One
   * cache line holds both halves of a slot (two arrays cost a packet's lookup two lines, and the native
   * replay's prefetching ran out of line-fill buffers: perf samples stalled on its prefetches).
   */
  readonly slots: Int32Array;
  /** Per entry: original tuple then reply tuple. */
  readonly tuples: Uint32Array;
  /** Recency list, least recently refreshed first. */
  readonly prev: Int32Array;
  readonly next: Int32Array;
  /** Entries freed since they were taken, a stack: taken again before any never-used entry. */
  readonly free: Int32Array;
  /** TableMeta slots. */
  readonly meta: Int32Array;
}

/**
 * The slots of `meta` (native/src/layout.h META_*): the recency list's ends, the free stack's top, the
 * entry count, and how many entries were ever taken. Entries are taken in order 0, 1, 2, ... when no freed
 * one waits, so FRESH is also the most entries the table has held at once; and an entry's arrays are
 * touched only once it is taken (prev and next are written when it is linked), so a big table that is
 * never filled costs only its slot arrays (its memory is the kernel's lazily zeroed pages).
 */
export const TableMeta = { HEAD: 0, TAIL: 1, FREE_TOP: 2, COUNT: 3, FRESH: 4 } as const;
const { HEAD, TAIL, FREE_TOP, COUNT, FRESH } = TableMeta;
/** `meta` of an empty table: no list, no freed entry, none held, none ever taken. */
export const EMPTY_META: readonly number[] = [NIL, NIL, 0, 0, 0];

/** The table's slot and per-entry arrays (as carveArrays asks for them), for `capacity` entries. */
export function tableArrays(capacity: number) {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CONNTRACK_CAPACITY) {
    throw new RangeError(`conntrack capacity ${capacity} is not an integer in 1..${MAX_CONNTRACK_CAPACITY}`);
  }
  // Two tuples per entry at a load factor of at most 1/2: slots >= 4 x capacity, a power of two.
  let slots = 8;
  while (slots < 4 * capacity) slots *= 2;
  return {
    slots: [Int32Array, 2 * slots], tuples: [Uint32Array, capacity * ENTRY_WORDS],
    prev: [Int32Array, capacity], next: [Int32Array, capacity], free: [Int32Array, capacity],
  } as const;
}

/** An empty table over `arrays` (zeroed, of tableArrays' lengths; newTable makes them). */
export function initTable(capacity: number, arrays: Pick<ConnTable, 'slots' | 'tuples' | 'prev' | 'next' | 'free'>): ConnTable {
  const { slots, tuples, prev, next, free } = arrays;
  const meta = Int32Array.from(EMPTY_META);
  return { capacity, mask: slots.length / 2 - 1, slots, tuples, prev, next, free, meta };
}

export function newTable(capacity: number): ConnTable {
  return initTable(capacity, carveArrays(tableArrays(capacity)));
}

export function tableCount(t: ConnTable): number {
  return t.meta[COUNT]!;
}

/** The least recently refreshed entry, or -1. */
export function oldestEntry(t: ConnTable): number {
  return t.meta[HEAD]!;
}

export function newerEntry(t: ConnTable, e: number): number {
  return t.next[e]!;
}

/**
 * A 30-bit hash of the tuple at `words[off..off+TUPLE_WORDS)` (murmur3-style mixing). An IPv4 tuple's
 * address words 1-3 and 5-7 are always zero, so only words 0, 4, 8 and 9 are mixed in (the step below
 * goes 0, 4, 8, 9): each round is a chain of dependent multiplies, and the other six added nothing.
 */
export function hashTuple(words: Uint32Array, off: number): number {
  let h = 0x9747b28c | 0;
  const v4 = words[off + FAMILY_PROTO_WORD]! >>> 8 === 4;
  for (let k = 0; k < TUPLE_WORDS; k += v4 && k < FAMILY_PROTO_WORD ? 4 : 1) {
    let w = Math.imul(words[off + k]! | 0, 0xcc9e2d51);
    w = Math.imul((w << 15) | (w >>> 17), 0x1b873593);
    h ^= w;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64 | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

function sameTuple(t: ConnTable, ref: number, key: Uint32Array, off: number): boolean {
  const base = (ref >> 1) * ENTRY_WORDS + (ref & 1) * TUPLE_WORDS;
  const tuples = t.tuples;
  for (let k = 0; k < TUPLE_WORDS; k++) if (tuples[base + k] !== key[off + k]) return false;
  return true;
}

/** Finds the tuple: returns entry * 2 + direction (0 original, 1 reply), or -1. */
export function findTuple(t: ConnTable, key: Uint32Array, off: number, hash: number): number {
  const mask = t.mask;
  const slots = t.slots;
  for (let s = hash & mask; ; s = (s + 1) & mask) {
    const r = slots[2 * s]!;
    if (r === EMPTY) return NIL;
    if (slots[2 * s + 1] === hash && sameTuple(t, r - 1, key, off)) return r - 1;
  }
}

function placeSlot(t: ConnTable, ref: number): void {
  const base = (ref >> 1) * ENTRY_WORDS + (ref & 1) * TUPLE_WORDS;
  const hash = hashTuple(t.tuples, base);
  const mask = t.mask;
  const slots = t.slots;
  let s = hash & mask;
  while (slots[2 * s] !== EMPTY) s = (s + 1) & mask;
  slots[2 * s] = ref + 1;
  slots[2 * s + 1] = hash;
}

/**
 * Takes a free entry, copies the two tuples in (original from `orig`, reply from `reply`, each at its
 * offset), indexes both and appends the entry as the most recent. Returns the entry, or -1 when full.
 */
export function insertEntry(t: ConnTable, orig: Uint32Array, origOff: number, reply: Uint32Array, replyOff: number): number {
  const meta = t.meta;
  let e: number;
  if (meta[FREE_TOP]! > 0) e = t.free[--meta[FREE_TOP]!]!;
  else if (meta[FRESH]! < t.capacity) e = meta[FRESH]!++;
  else return NIL;
  const base = e * ENTRY_WORDS;
  for (let k = 0; k < TUPLE_WORDS; k++) {
    t.tuples[base + k] = orig[origOff + k]!;
    t.tuples[base + TUPLE_WORDS + k] = reply[replyOff + k]!;
  }
  // Reply first: when both tuples are equal (a host talking to itself with no ports, e.g. GRE), a lookup
  // then finds the reply direction, as the kernel does (its reply node sits before the original in the chain).
  placeSlot(t, e * 2 + 1);
  placeSlot(t, e * 2);
  linkTail(t, e);
  meta[COUNT]!++;
  return e;
}

/** Removes the slot holding `ref`, shifting later members of its probe run back (no tombstones). */
function removeSlot(t: ConnTable, ref: number): void {
  const base = (ref >> 1) * ENTRY_WORDS + (ref & 1) * TUPLE_WORDS;
  const mask = t.mask;
  const slots = t.slots;
  let hole = hashTuple(t.tuples, base) & mask;
  while (slots[2 * hole] !== ref + 1) hole = (hole + 1) & mask;
  for (let s = (hole + 1) & mask; slots[2 * s] !== EMPTY; s = (s + 1) & mask) {
    const home = slots[2 * s + 1]! & mask;
    // The member at s may fill the hole unless its home lies cyclically in (hole, s].
    const stays = hole <= s ? home > hole && home <= s : home > hole || home <= s;
    if (stays) continue;
    slots[2 * hole] = slots[2 * s]!;
    slots[2 * hole + 1] = slots[2 * s + 1]!;
    hole = s;
  }
  slots[2 * hole] = EMPTY;
}

export function removeEntry(t: ConnTable, e: number): void {
  removeSlot(t, e * 2);
  removeSlot(t, e * 2 + 1);
  unlink(t, e);
  t.free[t.meta[FREE_TOP]!++] = e;
  t.meta[COUNT]!--;
}

/** Marks the entry as the most recently refreshed. */
export function touchEntry(t: ConnTable, e: number): void {
  if (t.meta[TAIL] === e) return;
  unlink(t, e);
  linkTail(t, e);
}

function linkTail(t: ConnTable, e: number): void {
  const tail = t.meta[TAIL]!;
  t.prev[e] = tail;
  t.next[e] = NIL;
  if (tail === NIL) t.meta[HEAD] = e;
  else t.next[tail] = e;
  t.meta[TAIL] = e;
}

function unlink(t: ConnTable, e: number): void {
  const p = t.prev[e]!;
  const n = t.next[e]!;
  if (p === NIL) t.meta[HEAD] = n;
  else t.next[p] = n;
  if (n === NIL) t.meta[TAIL] = p;
  else t.prev[n] = p;
  t.prev[e] = NIL;
  t.next[e] = NIL;
}

/** Entry index and direction of a reference returned by findTuple. */
export function refEntry(ref: number): number {
  return ref >> 1;
}

export function refDirection(ref: number): number {
  return ref & 1;
}

/** Offset of the entry's tuple of direction `dir` in `t.tuples`. */
export function tupleOffset(e: number, dir: number): number {
  return e * ENTRY_WORDS + dir * TUPLE_WORDS;
}
