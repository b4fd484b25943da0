/**
 * An open-addressing hash table over typed arrays: fixed-width keys of `keyWords` 32-bit words, integer
 * values (>= 0), power-of-two capacity, linear probing, a fixed seed. Built once, then only looked up:
 * `lookup` allocates nothing and adds the slots it inspected to `probes`, which is how the eBPF model
 * counts the cost of a packet.
 */

/** The seed tests and the CLI use; any 32-bit value works, a fixed one keeps probe counts reproducible. */
export const DEFAULT_HASH_SEED = 0x6e657473; // "nets"

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** murmur3's 32-bit finaliser over the key words: cheap, integer-only, good avalanche. */
export function hashWords(words: Uint32Array, offset: number, count: number, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < count; i++) {
    let k = Math.imul(words[offset + i]!, 0xcc9e2d51);
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
  // (a full uint32 did, once per packet). Slots are `hash & mask` with mask < 2^30: the same slots as
  // the full 32-bit hash, here and in native/src (which masks the full hash).
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

export class OpenHashTable {
  readonly capacity: number;
  readonly keys: Uint32Array;
  readonly values: Int32Array;
  size = 0;
  /** Slots inspected by every `lookup` so far; callers read it before and after to cost one packet. */
  probes = 0;
  private readonly mask: number;

  /** Room for `expected` keys at a load factor of at most one half. */
  constructor(readonly keyWords: number, expected: number, readonly seed: number = DEFAULT_HASH_SEED) {
    this.capacity = nextPowerOfTwo(Math.max(16, expected * 2));
    this.mask = this.capacity - 1;
    this.keys = new Uint32Array(this.capacity * keyWords);
    this.values = new Int32Array(this.capacity).fill(-1);
  }

  /** Inserts or replaces; throws when full (the constructor's sizing makes that a bug). */
  insert(key: Uint32Array, offset: number, value: number): void {
    if (value < 0) throw new Error('hash table values must be >= 0');
    let slot = hashWords(key, offset, this.keyWords, this.seed) & this.mask;
    for (let n = 0; n < this.capacity; n++, slot = (slot + 1) & this.mask) {
      if (this.values[slot]! >= 0 && !this.keyAt(slot, key, offset)) continue;
      if (this.values[slot]! < 0) this.size++;
      this.keys.set(key.subarray(offset, offset + this.keyWords), slot * this.keyWords);
      this.values[slot] = value;
      return;
    }
    throw new Error('hash table full');
  }

  /** The value stored under the key, or -1. Allocation-free. */
  lookup(key: Uint32Array, offset: number): number {
    let slot = hashWords(key, offset, this.keyWords, this.seed) & this.mask;
    for (;;) {
      this.probes++;
      const v = this.values[slot]!;
      if (v < 0) return -1;
      if (this.keyAt(slot, key, offset)) return v;
      slot = (slot + 1) & this.mask;
    }
  }

  private keyAt(slot: number, key: Uint32Array, offset: number): boolean {
    const base = slot * this.keyWords;
    for (let i = 0; i < this.keyWords; i++) if (this.keys[base + i] !== key[offset + i]) return false;
    return true;
  }
}
