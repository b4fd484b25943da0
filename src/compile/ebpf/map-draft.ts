/**
 * One policy map's keys while it is built: (identity, port key id) pairs deduplicated in first-seen
 * order in an open-addressing table of int32s, reused from map to map (a stamp per slot marks the
 * slots of the current map, so clearing costs nothing), and every (key, origin) add in model order,
 * so that each key's origins can be written together, first producing rule first.
 */

function grown(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** A policy map's keys, deduplicated in first-seen order, each with the origins that produced it. */
export class MapDraft {
  size = 0;
  adds = 0;
  identity = new Int32Array(1024);
  portKey = new Int32Array(1024);
  /** Origins per key; reused as write cursors when the draft is flushed. */
  originCount = new Int32Array(1024);
  /** Per add (origin produced a key): which key, which origin, in model order. */
  addKey = new Int32Array(1024);
  addOrigin = new Int32Array(1024);
  /** Open addressing over (identity, port key) -> key index; a slot is live when its stamp is `stamp`. */
  private slots = new Int32Array(2048);
  private stamps = new Int32Array(2048);
  private stamp = 1;

  clear(): void {
    this.size = 0;
    this.adds = 0;
    // Stamps wrap after 2^31 maps; the fresh arrays make the wrap safe.
    if (++this.stamp === 0x7fffffff) { this.stamps.fill(0); this.stamp = 1; }
  }

  add(identity: number, portKey: number, origin: number): void {
    const mask = this.slots.length - 1;
    let h = hashPair(identity, portKey) & mask;
    let key = -1;
    while (this.stamps[h] === this.stamp) {
      const k = this.slots[h]!;
      if (this.identity[k] === identity && this.portKey[k] === portKey) { key = k; break; }
      h = (h + 1) & mask;
    }
    if (key < 0) key = this.insert(h, identity, portKey);
    this.originCount[key]!++;
    if (this.adds === this.addKey.length) { this.addKey = grown(this.addKey, this.adds + 1); this.addOrigin = grown(this.addOrigin, this.adds + 1); }
    this.addKey[this.adds] = key;
    this.addOrigin[this.adds++] = origin;
  }

  private insert(slot: number, identity: number, portKey: number): number {
    const key = this.size++;
    if (key === this.identity.length) {
      this.identity = grown(this.identity, key + 1);
      this.portKey = grown(this.portKey, key + 1);
      this.originCount = grown(this.originCount, key + 1);
    }
    this.identity[key] = identity;
    this.portKey[key] = portKey;
    this.originCount[key] = 0;
    this.stamps[slot] = this.stamp;
    this.slots[slot] = key;
    if (this.size * 2 > this.slots.length) this.rehash();
    return key;
  }

  /** Doubles the table and re-inserts this map's keys (load factor at most one half). */
  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.stamps = new Int32Array(this.slots.length);
    const mask = this.slots.length - 1;
    for (let k = 0; k < this.size; k++) {
      let h = hashPair(this.identity[k]!, this.portKey[k]!) & mask;
      while (this.stamps[h] === this.stamp) h = (h + 1) & mask;
      this.stamps[h] = this.stamp;
      this.slots[h] = k;
    }
  }
}

function hashPair(identity: number, portKey: number): number {
  let h = Math.imul(identity ^ Math.imul(portKey, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
