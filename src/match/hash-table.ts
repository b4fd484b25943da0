/**
 * An open-addressing hash table over one typed array, in buckets of one 64-byte cache line: fixed-width
 * keys of `keyWords` 32-bit words, integer values (>= 0), a power-of-two number of buckets, linear
 * probing from bucket to bucket, a fixed seed. Built once, then only looked up.
 *
 * Layout: bucket b is words [b * 16, b * 16 + 16); its slots are `keyWords + 1` words each (the key,
 * then the value as an int32, -1 when empty), as many as fit: 4 policy keys (3 words), 2 ipcache keys
 * (5 words). A key lives in the first bucket of its run with a free slot, so a lookup reads its home
 * bucket and stops at the key or at the first bucket that has an empty slot.
 *
 * Cost unit: `probes` counts BUCKETS (cache lines) read, not slots: the slots of one bucket arrive in
 * one memory access. At a load of at most one half (one quarter for the ipcache's 2-slot buckets), most
 * lookups, hit or miss, read one bucket.
 *
 * `hashMask` (per key word, default all ones) leaves bits out of the hash: keys that differ only there
 * share a run, so one walk over the run finds all of them (the policy map's prefix lengths, see
 * src/match/ebpf.ts lookupLongest). Lookups allocate nothing.
 */

import { carveArrays, type BufferAllocator } from '../conntrack/arena.js';

/** The seed tests and the CLI use; any 32-bit value works, a fixed one keeps probe counts reproducible. */
export const DEFAULT_HASH_SEED = 0x6e657473; // "nets"

/** Words per bucket: 16 x 4 bytes, one cache line. */
export const BUCKET_WORDS = 16;
/** By default at most this share of the slots is used (before rounding the bucket count up to a power of two). */
export const DEFAULT_MAX_LOAD = 0.5;

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Slots per bucket for keys of `keyWords` words (native/src/ebpf.cc computes it the same way). */
export function slotsPerBucket(keyWords: number): number {
  return Math.floor(BUCKET_WORDS / (keyWords + 1));
}

/** murmur3's 32-bit finaliser over the key words, each ANDed with `mask` first: cheap, integer-only, good avalanche. */
export function hashWords(words: Uint32Array, offset: number, count: number, seed: number, mask?: Uint32Array): number {
  let h = seed | 0;
  for (let i = 0; i < count; i++) {
    let k = Math.imul(mask === undefined ? words[offset + i]! : words[offset + i]! & mask[i]!, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= count * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  // The low 30 bits only: a Smi, so returning it from a call V8 does not inline allocates no heap number
  // (a full uint32 did, once per packet). Buckets are `hash & mask` with mask < 2^30: the same buckets
  // as the full 32-bit hash, here and in native/src (which masks the full hash).
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/**
 * What a big table may take from the native engine (src/native/load.ts nativeTables): `allocate`, its
 * zeroed memory (huge pages); `allocateSparse`, zeroed memory for counters written at a few scattered
 * entries (4 KiB pages, never huge); `place`, insertBatch in C (the keys that took an empty slot, or -1
 * when the table is full). Each absent: TypeScript's own.
 */
export interface TableSupport {
  readonly allocate?: BufferAllocator;
  readonly allocateSparse?: BufferAllocator;
  readonly place?: (table: OpenHashTable, keys: Uint32Array, values: Int32Array, count: number) => number;
}

export class OpenHashTable {
  /** Slots in all (buckets x slotsPerBucket). */
  readonly capacity: number;
  readonly buckets: number;
  readonly slotsPerBucket: number;
  /** Words per slot: the key, then the value. */
  readonly slotWords: number;
  /** Every bucket, BUCKET_WORDS words each; `values` is the same memory seen as int32. */
  readonly words: Uint32Array;
  readonly values: Int32Array;
  /** Per key word, the bits the hash reads. */
  readonly hashMask: Uint32Array;
  size = 0;
  /** Buckets read by every lookup so far; callers read it before and after to cost one packet. */
  probes = 0;
  private readonly bucketMask: number;

  /**
   * Room for `expected` keys at a load of at most `maxLoad` (then the bucket count rounds up to a power
   * of two). Few slots per bucket want a lower load: at one half, a third of 2-slot buckets are full.
   * `allocate`, when given, supplies the buckets' zeroed memory (src/native/load.ts nativeTables: huge
   * pages; the real tier's policy table is 64 MiB, and every bucket is written below: 16,384 faults of 4 KiB).
   */
  constructor(
    readonly keyWords: number, expected: number, readonly seed: number = DEFAULT_HASH_SEED, hashMask?: readonly number[],
    maxLoad = DEFAULT_MAX_LOAD, allocate?: BufferAllocator,
  ) {
    this.slotsPerBucket = slotsPerBucket(keyWords);
    if (this.slotsPerBucket < 1) throw new Error(`hash table keys of ${keyWords} words do not fit a bucket`);
    this.slotWords = keyWords + 1;
    this.buckets = nextPowerOfTwo(Math.max(4, Math.ceil(expected / (this.slotsPerBucket * maxLoad))));
    this.capacity = this.buckets * this.slotsPerBucket;
    this.bucketMask = this.buckets - 1;
    this.words = carveArrays({ words: [Uint32Array, this.buckets * BUCKET_WORDS] }, allocate).words;
    this.values = new Int32Array(this.words.buffer);
    for (let b = 0; b < this.buckets; b++) {
      for (let s = 0; s < this.slotsPerBucket; s++) this.values[b * BUCKET_WORDS + s * this.slotWords + keyWords] = -1;
    }
    this.hashMask = Uint32Array.from({ length: keyWords }, (_, i) => hashMask?.[i] ?? 0xffffffff);
  }

  /** The home bucket of a key (its masked hash). */
  homeBucket(key: Uint32Array, offset: number): number {
    return hashWords(key, offset, this.keyWords, this.seed, this.hashMask) & this.bucketMask;
  }

  /** The bucket after `b` in probe order. */
  nextBucket(b: number): number {
    return (b + 1) & this.bucketMask;
  }

  /** Inserts or replaces; throws when full (the constructor's sizing makes that a bug). */
  insert(key: Uint32Array, offset: number, value: number): void {
    if (value < 0) throw new Error('hash table values must be >= 0');
    let b = this.homeBucket(key, offset);
    for (let n = 0; n < this.buckets; n++, b = this.nextBucket(b)) {
      for (let s = 0; s < this.slotsPerBucket; s++) {
        const at = b * BUCKET_WORDS + s * this.slotWords;
        const empty = this.values[at + this.keyWords]! < 0;
        if (!empty && !this.keyAt(at, key, offset)) continue;
        if (empty) this.size++;
        // Word by word: a subarray per insert measured 0.6-1.8 s per 5M inserts (the real tier's policy map) against 85 ms.
        for (let w = 0; w < this.keyWords; w++) this.words[at + w] = key[offset + w]!;
        this.values[at + this.keyWords] = value;
        return;
      }
    }
    throw new Error('hash table full');
  }

  /**
   * `insert` for keys[0, count * keyWords) (packed, one after another) with values[0, count), in that
   * order: the same table as inserting them one by one. `place` (TableSupport) does it in C
   * (native/src/ebpf.cc hash_table_place), where each key's bucket is prefetched well before it is
   * placed: TypeScript waits for every bucket it reads, about 190 ns a key in the real tier's 64 MiB.
   */
  insertBatch(keys: Uint32Array, values: Int32Array, count: number, place?: TableSupport['place']): void {
    if (place !== undefined) {
      const added = place(this, keys, values, count);
      if (added < 0) throw new Error('hash table full');
      this.size += added;
      return;
    }
    for (let i = 0; i < count; i++) this.insert(keys, i * this.keyWords, values[i]!);
  }

  /** The value stored under the key, or -1. Counts one probe per bucket read. Allocation-free. */
  lookup(key: Uint32Array, offset: number): number {
    let b = this.homeBucket(key, offset);
    for (;;) {
      this.probes++;
      for (let s = 0; s < this.slotsPerBucket; s++) {
        const at = b * BUCKET_WORDS + s * this.slotWords;
        const v = this.values[at + this.keyWords]!;
        if (v < 0) return -1; // an empty slot: the key would be here or earlier
        if (this.keyAt(at, key, offset)) return v;
      }
      b = this.nextBucket(b);
    }
  }

  private keyAt(at: number, key: Uint32Array, offset: number): boolean {
    for (let i = 0; i < this.keyWords; i++) if (this.words[at + i] !== key[offset + i]) return false;
    return true;
  }
}
