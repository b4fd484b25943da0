/**
 * Longest-prefix match over typed arrays: binary search on prefix lengths (Waldvogel, Varghese, Turner
 * and Plattner, "Scalable High Speed IP Routing Lookups", SIGCOMM 1997). One open-addressing table
 * holds every prefix keyed by {family, length, masked address}, plus "markers": a prefix's address cut
 * to each shorter length the search visits on its way to it, so that the search knows to go longer.
 * Every key stores its best matching prefix (itself for a real prefix; for a marker, the longest real
 * prefix holding it), so a search that goes longer and then finds nothing still has the answer.
 * Cost: about log2(distinct lengths) + 1 probes per lookup, instead of one per length. Full-length
 * entries (/32, /128: pod and node addresses, most of the traffic) are probed first, outside the search.
 * Lookups allocate nothing: the key is built in a scratch array.
 */
import { IPCACHE_KEY_WORDS } from '../compile/ebpf/layout.js';
import { OpenHashTable } from './hash-table.js';

export interface LpmEntry {
  readonly family: 4 | 6;
  readonly prefix: number;
  /** Four big-endian address words (IPv4 in word 0); bits past the prefix are ignored. */
  readonly words: Uint32Array;
}

interface Key { readonly family: 4 | 6; readonly prefix: number; readonly words: Uint32Array; readonly best: number }

export class LpmTable {
  readonly table: OpenHashTable;
  /** Best matching prefix (a value) per stored key, -1 for a marker no real prefix holds. */
  private readonly best: Int32Array;
  /** Distinct prefix lengths per family below the full length, shortest first (index 0: IPv4, 1: IPv6). */
  private readonly lengths: [Int32Array, Int32Array];
  /** Whether a family has full-length entries, probed before the search. */
  private readonly hasHost: [boolean, boolean];
  private readonly scratch = new Uint32Array(IPCACHE_KEY_WORDS);

  constructor(entries: readonly LpmEntry[], values: readonly number[], seed?: number) {
    const sets: [Set<number>, Set<number>] = [new Set(), new Set()];
    for (const e of entries) sets[e.family === 4 ? 0 : 1].add(e.prefix);
    this.hasHost = [sets[0].delete(32), sets[1].delete(128)];
    this.lengths = [Int32Array.from([...sets[0]].sort((a, b) => a - b)), Int32Array.from([...sets[1]].sort((a, b) => a - b))];
    const real = new Map<string, number>();
    entries.forEach((e, i) => real.set(keyText(e.family, e.prefix, e.words), values[i]!));
    const keys = new Map<string, Key>();
    entries.forEach((e, i) => keys.set(keyText(e.family, e.prefix, e.words), { family: e.family, prefix: e.prefix, words: e.words, best: values[i]! }));
    for (const e of entries) {
      for (const len of this.markerLengths(e)) {
        const text = keyText(e.family, len, e.words);
        if (!keys.has(text)) keys.set(text, { family: e.family, prefix: len, words: e.words, best: this.longestReal(real, e.family, len, e.words) });
      }
    }
    this.table = new OpenHashTable(IPCACHE_KEY_WORDS, keys.size, seed);
    this.best = new Int32Array(keys.size);
    let slot = 0;
    for (const k of keys.values()) {
      writeKey(this.scratch, k.family, k.prefix, k.words, 0);
      this.table.insert(this.scratch, 0, slot);
      this.best[slot++] = k.best;
    }
  }

  /** The shorter lengths at which the binary search, on its way to `e.prefix`, must be told to go longer. */
  private markerLengths(e: LpmEntry): number[] {
    const lengths = this.lengths[e.family === 4 ? 0 : 1];
    const target = lengths.indexOf(e.prefix);
    const out: number[] = [];
    if (target < 0) return out; // a full-length entry: found by the direct probe, no search path
    let lo = 0;
    let hi = lengths.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (mid === target) break;
      if (mid > target) hi = mid - 1;
      else { out.push(lengths[mid]!); lo = mid + 1; }
    }
    return out;
  }

  private longestReal(real: Map<string, number>, family: 4 | 6, upTo: number, words: Uint32Array): number {
    const lengths = this.lengths[family === 4 ? 0 : 1];
    for (let i = lengths.length - 1; i >= 0; i--) {
      if (lengths[i]! > upTo) continue;
      const v = real.get(keyText(family, lengths[i]!, words));
      if (v !== undefined) return v;
    }
    return -1;
  }

  /** The value of the longest prefix holding the address (four words at `offset`), or -1. */
  lookup(family: number, addr: Uint32Array, offset: number): number {
    const f = family === 4 ? 0 : 1;
    if (this.hasHost[f]) {
      writeKey(this.scratch, family, family === 4 ? 32 : 128, addr, offset);
      const slot = this.table.lookup(this.scratch, 0);
      if (slot >= 0) return this.best[slot]!;
    }
    const lengths = this.lengths[f];
    let lo = 0;
    let hi = lengths.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      writeKey(this.scratch, family, lengths[mid]!, addr, offset);
      const slot = this.table.lookup(this.scratch, 0);
      if (slot < 0) { hi = mid - 1; continue; }
      found = this.best[slot]!;
      lo = mid + 1;
    }
    return found;
  }
}

function maskWord(word: number, bits: number): number {
  return bits >= 32 ? word >>> 0 : bits <= 0 ? 0 : (word & (0xffffffff << (32 - bits))) >>> 0;
}

/** Key: family << 8 | prefix, then the address words with host bits cleared. */
function writeKey(out: Uint32Array, family: number, prefix: number, addr: Uint32Array, offset: number): void {
  out[0] = (family << 8) | prefix;
  out[1] = maskWord(addr[offset]!, prefix);
  out[2] = maskWord(addr[offset + 1]!, prefix - 32);
  out[3] = maskWord(addr[offset + 2]!, prefix - 64);
  out[4] = maskWord(addr[offset + 3]!, prefix - 96);
}

/** Build-time key text (family, length, masked words). */
function keyText(family: number, prefix: number, words: Uint32Array): string {
  const k = new Uint32Array(IPCACHE_KEY_WORDS);
  writeKey(k, family, prefix, words, 0);
  return k.join(',');
}
