/**
 * Distinct fixed-width tuples of 32-bit integers to dense ids 0, 1, 2, ... in the order they first
 * appear, with a few numbers per id to count with. The report's pass over the connection table asks it
 * once per connection, so a lookup allocates nothing: no string key, no object, no bigint (those were
 * most of the report's cost on captures of hundreds of thousands of connections).
 *
 * Open addressing over typed arrays, grown by doubling; each id keeps its hash so that growing does not
 * hash the keys again.
 */
export class TupleInterner {
  /** The tuple to look up: write its `width` words here, then call `intern()`. */
  readonly probe: Uint32Array;
  /** Distinct tuples seen so far; ids are 0 .. size - 1. */
  size = 0;
  /** The tuples by id, `width` words each. */
  keys: Uint32Array;
  /** `sumsPerId` numbers per id to count with (packets, connections), through addTo and sum. */
  private sums: Float64Array;
  private hashes: Int32Array;
  /** id + 1 per slot, 0 when free. */
  private slots: Int32Array;
  private mask: number;

  /** `capacity`: ids before the first growth, a power of two. */
  constructor(readonly width: number, readonly sumsPerId: number, capacity = 256) {
    this.probe = new Uint32Array(width);
    this.keys = new Uint32Array(capacity * width);
    this.sums = new Float64Array(capacity * sumsPerId);
    this.hashes = new Int32Array(capacity);
    this.slots = new Int32Array(capacity * 2);
    this.mask = capacity * 2 - 1;
  }

  /** The id of the tuple in `probe`, made (the next id, its sums 0) when it is new. */
  intern(): number {
    const hash = this.hashProbe();
    let h = hash & this.mask;
    for (;;) {
      const id = this.slots[h]! - 1;
      if (id < 0) return this.add(h, hash);
      if (this.hashes[id] === hash && this.probeEquals(id)) return id;
      h = (h + 1) & this.mask;
    }
  }

  /** Adds `amount` to sum `k` of tuple `id`. */
  addTo(id: number, k: number, amount: number): void {
    this.sums[id * this.sumsPerId + k]! += amount;
  }

  sum(id: number, k: number): number {
    return this.sums[id * this.sumsPerId + k]!;
  }

  private hashProbe(): number {
    const p = this.probe;
    let h = 0x9e3779b9 | 0;
    for (let w = 0; w < this.width; w++) {
      h = Math.imul(h ^ p[w]!, 0x85ebca6b);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) | 0;
  }

  private probeEquals(id: number): boolean {
    const at = id * this.width;
    for (let w = 0; w < this.width; w++) if (this.keys[at + w] !== this.probe[w]) return false;
    return true;
  }

  private add(slot: number, hash: number): number {
    const id = this.size++;
    if (id === this.hashes.length) this.growColumns();
    this.keys.set(this.probe, id * this.width);
    this.hashes[id] = hash;
    this.slots[slot] = id + 1;
    // At most half the slots used, so that probe chains stay short.
    if (this.size * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    return id;
  }

  private growColumns(): void {
    const n = this.hashes.length * 2;
    const keys = new Uint32Array(n * this.width);
    keys.set(this.keys);
    this.keys = keys;
    const sums = new Float64Array(n * this.sumsPerId);
    sums.set(this.sums);
    this.sums = sums;
    const hashes = new Int32Array(n);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  private rehash(slotCount: number): void {
    this.slots = new Int32Array(slotCount);
    this.mask = slotCount - 1;
    for (let id = 0; id < this.size; id++) {
      let h = this.hashes[id]! & this.mask;
      while (this.slots[h] !== 0) h = (h + 1) & this.mask;
      this.slots[h] = id + 1;
    }
  }
}
