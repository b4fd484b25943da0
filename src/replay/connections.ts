/**
 * The report's view of a replay: packets grouped into connections. A connection is keyed by the
 * 5-tuple of its opening packet (the first packet seen of that tuple, in either direction), and it is
 * allowed or denied as its opening packet was. Packets of the reverse direction join the same one.
 *
 * An open-addressing table over typed arrays: a symmetric hash of the two ends (so both directions land
 * in the same slot chain), grown by doubling, capped so that memory stays bounded on huge captures
 * (beyond the cap new connections are counted, not kept). Nothing is allocated per packet.
 */
import type { FlowBatch } from '../wire/flow-batch.js';
import { carveArrays, type BufferAllocator } from '../conntrack/arena.js';

export const DEFAULT_MAX_CONNECTIONS = 1 << 22;
/**
 * Per connection, one 64-byte record: the packed match key (family<<8|proto, srcPort<<16|dstPort, src
 * words, dst words) at 32-bit words [16c, 16c + 10), then the counters at 64-bit words [8c + 5, 8c + 8).
 * A packet touches one cache line for the key it matches and the counters it adds to (the table is far
 * larger than the CPU caches on real captures, and these misses were most of the replay's cost).
 * native/src/replay.h ns_conn_record is the same record, so the C table is handed over as it is.
 */
export const RECORD_BYTES = 64;
export const RECORD_WORDS = RECORD_BYTES / 4;
export const RECORD_DOUBLES = RECORD_BYTES / 8;
const KEY_WORDS = 10;
/** Offsets of the counters in a record, in 64-bit words: `counts[c * RECORD_DOUBLES + Count.X]`. */
export const Count = { PACKETS: 5, BYTES: 6, DROPPED: 7 } as const;
const COUNTERS = [Count.PACKETS, Count.BYTES, Count.DROPPED] as const;
const RECENT_MASK = 4095;
/** An index this large or larger comes from the table's allocator (huge pages); smaller ones are ordinary. */
const ALLOCATED_INDEX_BYTES = 2 << 20;

/** A table's per-connection columns, as posted between threads (`key` and `counts` view one buffer). */
export type ConnectionColumns = Pick<ConnectionTable,
  'count' | 'overflow' | 'key' | 'counts' | 'verdict' | 'ctState' | 'firstRecord' | 'firstFile' | 'service' | 'hashes'>;

export class ConnectionTable {
  count = 0;
  /** Connections seen after the table was full: counted, not kept. */
  overflow = 0;
  /** The records (see RECORD_BYTES): keys as 32-bit words, counters as doubles, over the same memory. */
  key = new Uint32Array(0);
  counts = new Float64Array(0);
  /** The opening packet's verdict (primary model), conntrack state and record index. */
  verdict = new Uint8Array(0);
  ctState = new Uint8Array(0);
  firstRecord = new Float64Array(0);
  /** Index of the capture (among those replayed) holding the opening packet: with firstRecord, the order. */
  firstFile = new Int32Array(0);
  /** The capture the rows being added come from (set by the replay per file). */
  fileIndex = 0;
  /** The Service port the opening packet was DNATed from, or -1. */
  service = new Int32Array(0);
  /** The symmetric hash per connection, so that growing the index does not hash every key again. */
  hashes = new Int32Array(0);
  private slots = new Int32Array(0);
  private mask = 0;
  /** False after adoptColumns until the index is first needed: the report only reads the columns. */
  private indexed = true;
  /**
   * A small direct-mapped cache in front of the index: per entry, a pair [connection + 1, its hash].
   * Packets of the connections active at a moment come back to the same few thousand entries, which stay
   * in the CPU cache, while a probe of the index (megabytes on a real capture) is a cache miss nearly every
   * time. The hash beside the connection rejects another flow's entry without reading `hashes`, a column
   * as long as the table (native/src/replay.cc keeps its recent hashes the same way).
   */
  private readonly recent = new Int32Array(2 * (RECENT_MASK + 1));

  /**
   * `expected`: how many connections to make room for at once (a capture's upper bound, expectedConnections):
   * the columns are then never grown by copying, and their untouched pages cost nothing (an ArrayBuffer's
   * memory is the kernel's lazily zeroed pages). Growing by copying measured a third of the page faults of
   * a TypeScript replay; on this project's VM a 4 KiB page fault costs about 16 us.
   * `allocate`: the memory of the columns and of an index of 2 MiB or more (src/native/load.ts
   * hugeAllocator when the addon is loaded: 2 MiB pages, each one fault); absent, ordinary ArrayBuffers.
   */
  constructor(private readonly max = DEFAULT_MAX_CONNECTIONS, expected = 0, private readonly allocate?: BufferAllocator) {
    // At most the default cap's worth up front (344 MB of address space): beyond it, the table grows.
    this.growColumns(Math.max(1024, Math.min(max, expected, DEFAULT_MAX_CONNECTIONS)));
    this.resize(2048);
  }

  /** Connection c as its opening packet had it (after Service DNAT): family (4 or 6), protocol, ports. */
  familyOf(c: number): number {
    return this.key[c * RECORD_WORDS]! >>> 8;
  }

  protoOf(c: number): number {
    return this.key[c * RECORD_WORDS]! & 0xff;
  }

  srcPortOf(c: number): number {
    return this.key[c * RECORD_WORDS + 1]! >>> 16;
  }

  dstPortOf(c: number): number {
    return this.key[c * RECORD_WORDS + 1]! & 0xffff;
  }

  /** Where connection c's source (destination) address words start in `key`. */
  srcAt(c: number): number {
    return c * RECORD_WORDS + 2;
  }

  dstAt(c: number): number {
    return c * RECORD_WORDS + 6;
  }

  /**
   * The connection with this 5-tuple in either direction, or -1 (for ICMP errors: the flow they quote).
   * The addresses are the four words at src[so] and dst[dO].
   */
  find(family: number, src: Uint32Array, so: number, dst: Uint32Array, dO: number, sp: number, dp: number, proto: number): number {
    if (!this.indexed) this.buildIndex();
    const hash = symmetricHash(src, so, dst, dO, sp, dp, proto);
    for (let h = hash & this.mask; ; h = (h + 1) & this.mask) {
      const c = this.slots[h * 2]! - 1;
      if (c < 0) return -1;
      if (this.slots[h * 2 + 1] === hash && this.matches(c, src, so, dst, dO, sp, dp, proto, family)) return c;
    }
  }

  /**
   * The connection of row i (its 5-tuple, either direction), created with row i as its opening packet
   * when new. Returns -1 when the table is full and the connection is new.
   */
  lookupOrAdd(batch: FlowBatch, i: number, src: Uint32Array, dst: Uint32Array, sp: number, dp: number, proto: number): number {
    if (!this.indexed) this.buildIndex();
    const o = i * 4;
    const family = batch.family[i]!;
    const hash = symmetricHash(src, o, dst, o, sp, dp, proto);
    const r = 2 * (hash & RECENT_MASK);
    const seen = this.recent[r]! - 1;
    if (seen >= 0 && this.recent[r + 1] === hash && seen < this.count && this.matches(seen, src, o, dst, o, sp, dp, proto, family)) return seen;
    let h = hash & this.mask;
    for (;;) {
      const c = this.slots[h * 2]! - 1;
      if (c < 0) break;
      // The stored hash rejects most other connections in the probe chain without touching their keys.
      if (this.slots[h * 2 + 1] === hash && this.matches(c, src, o, dst, o, sp, dp, proto, family)) {
        this.recent[r] = c + 1;
        this.recent[r + 1] = hash;
        return c;
      }
      h = (h + 1) & this.mask;
    }
    if (this.count >= this.max) {
      this.overflow++;
      return -1;
    }
    const c = this.count++;
    this.slots[h * 2] = c + 1;
    this.slots[h * 2 + 1] = hash;
    this.init(c, batch, i, src, dst, sp, dp, proto, hash);
    this.recent[r] = c + 1;
    this.recent[r + 1] = hash;
    if (this.count * 2 > this.slots.length / 2) this.resize(this.slots.length);
    return c;
  }

  /** Row i's tuple against connection c's packed key, forward then reverse. */
  private matches(c: number, src: Uint32Array, so: number, dst: Uint32Array, dO: number, sp: number, dp: number, proto: number, family: number): boolean {
    const k = this.key;
    const at = c * RECORD_WORDS;
    if (k[at] !== ((family << 8) | proto)) return false;
    if (k[at + 1] === (((sp << 16) | dp) >>> 0) && k[at + 2] === src[so] && k[at + 3] === src[so + 1] && k[at + 4] === src[so + 2] &&
      k[at + 5] === src[so + 3] && k[at + 6] === dst[dO] && k[at + 7] === dst[dO + 1] && k[at + 8] === dst[dO + 2] && k[at + 9] === dst[dO + 3]) return true;
    return k[at + 1] === (((dp << 16) | sp) >>> 0) && k[at + 2] === dst[dO] && k[at + 3] === dst[dO + 1] && k[at + 4] === dst[dO + 2] &&
      k[at + 5] === dst[dO + 3] && k[at + 6] === src[so] && k[at + 7] === src[so + 1] && k[at + 8] === src[so + 2] && k[at + 9] === src[so + 3];
  }

  private init(c: number, batch: FlowBatch, i: number, src: Uint32Array, dst: Uint32Array, sp: number, dp: number, proto: number, hash: number): void {
    if (c >= this.verdict.length) this.growColumns(this.verdict.length * 2);
    this.hashes[c] = hash;
    const o = i * 4;
    const at = c * RECORD_WORDS;
    this.key[at] = (batch.family[i]! << 8) | proto;
    this.key[at + 1] = ((sp << 16) | dp) >>> 0;
    for (let w = 0; w < 4; w++) {
      this.key[at + 2 + w] = src[o + w]!;
      this.key[at + 6 + w] = dst[o + w]!;
    }
    this.verdict[c] = batch.verdict[i]!;
    this.ctState[c] = batch.ctState[i]!;
    this.firstRecord[c] = batch.recordIndex[i]!;
    this.firstFile[c] = this.fileIndex;
    this.service[c] = -1;
  }

  /**
   * Connection c of another table (a shard's) into this one: counts added to the same connection when
   * this table has it (either direction), else a new one with c's opening packet. Merging shards' tables
   * in the order of their opening packets rebuilds the table one thread would have made.
   */
  absorb(o: ConnectionColumns, c: number): void {
    const k = c * RECORD_WORDS;
    const ports = o.key[k + 1]!;
    let t = this.find(o.key[k]! >>> 8, o.key, k + 2, o.key, k + 6, ports >>> 16, ports & 0xffff, o.key[k]! & 0xff);
    if (t < 0) {
      if (this.count >= this.max) {
        this.overflow += o.counts[c * RECORD_DOUBLES + Count.PACKETS]!;
        return;
      }
      t = this.count++;
      if (t >= this.verdict.length) this.growColumns(this.verdict.length * 2);
      this.copyOpening(o, c, t);
      this.index(t);
    }
    for (const w of COUNTERS) this.counts[t * RECORD_DOUBLES + w]! += o.counts[c * RECORD_DOUBLES + w]!;
  }

  private copyOpening(o: ConnectionColumns, c: number, t: number): void {
    for (let w = 0; w < KEY_WORDS; w++) this.key[t * RECORD_WORDS + w] = o.key[c * RECORD_WORDS + w]!;
    this.verdict[t] = o.verdict[c]!;
    this.ctState[t] = o.ctState[c]!;
    this.firstRecord[t] = o.firstRecord[c]!;
    this.firstFile[t] = o.firstFile[c]!;
    this.service[t] = o.service[c]!;
    this.hashes[t] = o.hashes[c]!;
  }

  /** Enters connection t (its key already stored) into the hash index. */
  private index(t: number): void {
    const hash = this.hashes[t]!;
    let h = hash & this.mask;
    while (this.slots[h * 2] !== 0) h = (h + 1) & this.mask;
    this.slots[h * 2] = t + 1;
    this.slots[h * 2 + 1] = hash | 0;
    if (this.count * 2 > this.slots.length / 2) this.resize(this.slots.length);
  }

  /** The columns themselves (rows past `count` unused): to post to another thread, transferring them, when done. */
  columns(): ConnectionColumns {
    const { count, overflow, key, counts, verdict, ctState, firstRecord, firstFile, service, hashes } = this;
    return { count, overflow, key, counts, verdict, ctState, firstRecord, firstFile, service, hashes };
  }

  /**
   * Takes columns made elsewhere (the native replay's own table) as this table's own, when this one is
   * still empty. The hash index is built only if a lookup comes later: the report reads the columns alone.
   * The columns must be those this table would have built (same keys, hashes and order):
   * test/native/replay.test.ts compares the two column for column.
   */
  adoptColumns(c: ConnectionColumns): void {
    if (this.count !== 0) throw new Error('ConnectionTable.adoptColumns: the table is not empty');
    if (c.key.buffer !== c.counts.buffer || c.key.byteOffset !== c.counts.byteOffset) throw new Error('ConnectionTable.adoptColumns: key and counts must view the same records');
    Object.assign(this, {
      key: c.key, counts: c.counts, verdict: c.verdict, ctState: c.ctState, firstRecord: c.firstRecord, firstFile: c.firstFile,
      service: c.service, hashes: c.hashes,
    });
    this.count = c.count;
    this.overflow = c.overflow;
    this.indexed = false;
  }

  /** Room for `n` connections in all, columns and index, at once (before a merge of known size). */
  reserve(n: number): void {
    if (!this.indexed) this.buildIndex();
    const want = Math.min(n, this.max);
    if (want > this.verdict.length) this.growColumns(want);
    let slots = this.slots.length / 2;
    while (want * 2 > slots / 2) slots *= 2;
    if (slots * 2 > this.slots.length) this.resize(slots);
  }

  private buildIndex(): void {
    this.indexed = true;
    if (this.verdict.length < 1024) this.growColumns(1024);
    let slots = 2048;
    while (this.count * 2 > slots) slots *= 2;
    this.resize(slots);
  }

  /** Doubles the hash index; amortised, never per packet. Slots are (connection + 1, hash) pairs. */
  private resize(slots: number): void {
    const bytes = slots * 2 * Int32Array.BYTES_PER_ELEMENT;
    this.slots = this.allocate && bytes >= ALLOCATED_INDEX_BYTES ? new Int32Array(this.allocate(bytes), 0, slots * 2) : new Int32Array(slots * 2);
    this.mask = slots - 1;
    for (let c = 0; c < this.count; c++) {
      const hash = this.hashes[c]!;
      let h = hash & this.mask;
      while (this.slots[h * 2] !== 0) h = (h + 1) & this.mask;
      this.slots[h * 2] = c + 1;
      this.slots[h * 2 + 1] = hash | 0;
    }
  }

  /** Room for n connections: the columns carved anew from one buffer, the rows so far copied over. */
  private growColumns(n: number): void {
    const next = carveArrays({
      records: [Float64Array, n * RECORD_DOUBLES], firstRecord: [Float64Array, n], service: [Int32Array, n],
      hashes: [Int32Array, n], firstFile: [Int32Array, n], verdict: [Uint8Array, n], ctState: [Uint8Array, n],
    }, this.allocate);
    const key = new Uint32Array(next.records.buffer, next.records.byteOffset, n * RECORD_WORDS);
    // Copied as 32-bit words: the key's bits are no doubles (a copy through doubles could touch a NaN's).
    key.set(this.key.subarray(0, Math.min(this.key.length, key.length)));
    this.key = key;
    this.counts = next.records;
    for (const name of ['firstRecord', 'service', 'hashes', 'firstFile', 'verdict', 'ctState'] as const) {
      next[name].set(this[name].subarray(0, Math.min(this[name].length, n)) as never);
      (this as Record<typeof name, unknown>)[name] = next[name];
    }
  }
}

/** The IP frame a capture's smallest record can hold: 16-byte record header, Ethernet, IPv4, UDP (58 bytes). */
const SMALLEST_RECORD_BYTES = 16 + 14 + 20 + 8;

/** At most how many connections captures of `bytes` bytes can open (a record each at most, most records small). */
export function expectedConnections(bytes: number): number {
  return Math.ceil(bytes / SMALLEST_RECORD_BYTES);
}

function endHash(words: Uint32Array, o: number, port: number): number {
  let h = Math.imul(words[o]! ^ port, 0x85ebca6b);
  h = Math.imul(h ^ words[o + 1]! ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ words[o + 2]! ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ words[o + 3]! ^ (h >>> 13), 0xc2b2ae35);
  // Int32, not uint32: V8 boxes an integer above 2^30 returned from a call it did not inline.
  return (h ^ (h >>> 16)) | 0;
}

/** The same value for (a -> b) and (b -> a): the two ends' hashes combined commutatively. */
function symmetricHash(src: Uint32Array, so: number, dst: Uint32Array, dO: number, sp: number, dp: number, proto: number): number {
  const h = (endHash(src, so, sp) + endHash(dst, dO, dp)) >>> 0;
  return (Math.imul(h ^ proto, 0x27d4eb2d) ^ (h >>> 15)) | 0;
}
