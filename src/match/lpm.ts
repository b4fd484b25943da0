/**
 * Longest-prefix match over typed arrays, for the ipcache. Three parts:
 *  - full-length entries (/32, /128: pod and node addresses, most of the traffic) in an open-addressing
 *    table, probed first: one bucket for a pod;
 *  - IPv4 prefixes of /16 and shorter in a direct table of 2^16 entries indexed by the address's top 16
 *    bits, each holding the longest such prefix over its /16 (leaf pushing) and a bit saying whether any
 *    /17 to /31 prefix lies inside it. An IPv4 address that is not a host entry costs this one read more,
 *    whatever the number of short prefixes (CIDR identities of ipBlocks are mostly /16 and shorter);
 *  - every other prefix (IPv4 /17 to /31, IPv6 below /128) in the same table, found by binary search on
 *    prefix lengths (Waldvogel, Varghese, Turner and Plattner, "Scalable High Speed IP Routing Lookups",
 *    SIGCOMM 1997): keyed by {family, length, masked address}, plus "markers", a prefix's address cut to
 *    each shorter length the search visits on its way to it. Every key stores its best matching prefix
 *    (itself for a real prefix; for a marker, the longest real prefix holding it), so a search that goes
 *    longer and then finds nothing still has the answer. IPv4 searches only where the direct table says
 *    a longer prefix exists, and fall back to its value.
 * Cost (`table.probes`, shared by all three): hash buckets read plus one per direct-table read.
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

/** IPv4 prefixes up to this length live in the direct table. */
export const DIRECT_BITS = 16;
/** Direct-table entry: (best value + 1) in the low bits, 0 for none; DIRECT_DEEPER when a /17-/31 lies inside. */
export const DIRECT_VALUE_MASK = 0x3fffffff;
export const DIRECT_DEEPER = 0x40000000;

export class LpmTable {
  readonly table: OpenHashTable;
  /** Best matching prefix (a value) per stored key, -1 for a marker no real prefix holds. */
  private readonly best: Int32Array;
  /** Searched prefix lengths per family, shortest first: IPv4 /17 to /31, IPv6 below /128. */
  private readonly lengths: [Int32Array, Int32Array];
  /** Whether a family has full-length entries, probed first. */
  private readonly hasHost: [boolean, boolean];
  /** IPv4, per /16: the longest prefix of /16 or shorter holding it, and DIRECT_DEEPER. */
  private readonly direct: Int32Array;
  private readonly scratch = new Uint32Array(IPCACHE_KEY_WORDS);

  constructor(entries: readonly LpmEntry[], values: readonly number[], seed?: number) {
    const sets: [Set<number>, Set<number>] = [new Set(), new Set()];
    for (const e of entries) sets[e.family === 4 ? 0 : 1].add(e.prefix);
    const all = [sortedLengths(sets[0]), sortedLengths(sets[1])];
    this.hasHost = [sets[0].has(32), sets[1].has(128)];
    this.lengths = [Int32Array.from(all[0].filter((l) => l > DIRECT_BITS && l < 32)), Int32Array.from(all[1].filter((l) => l < 128))];
    this.direct = buildDirect(entries, values);
    const real = new Map<string, number>();
    entries.forEach((e, i) => real.set(keyText(e.family, e.prefix, e.words), values[i]!));
    const keys = new Map<string, Key>();
    entries.forEach((e, i) => {
      if (!inDirect(e)) keys.set(keyText(e.family, e.prefix, e.words), { family: e.family, prefix: e.prefix, words: e.words, best: values[i]! });
    });
    for (const e of entries) {
      for (const len of this.markerLengths(e)) {
        const text = keyText(e.family, len, e.words);
        if (!keys.has(text)) keys.set(text, { family: e.family, prefix: len, words: e.words, best: longestReal(real, all[e.family === 4 ? 0 : 1]!, e.family, len, e.words) });
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
    if (target < 0) return out; // a full-length or direct-table entry: no search path
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

  /** The value of the longest prefix holding the address (four words at `offset`), or -1. */
  lookup(family: number, addr: Uint32Array, offset: number): number {
    const f = family === 4 ? 0 : 1;
    if (this.hasHost[f]) {
      writeKey(this.scratch, family, family === 4 ? 32 : 128, addr, offset);
      const slot = this.table.lookup(this.scratch, 0);
      if (slot >= 0) return this.best[slot]!;
    }
    if (f === 1) return this.search(6, this.lengths[1], addr, offset);
    this.table.probes++; // the direct-table read
    const d = this.direct[addr[offset]! >>> (32 - DIRECT_BITS)]!;
    const shortest = (d & DIRECT_VALUE_MASK) - 1;
    if ((d & DIRECT_DEEPER) === 0) return shortest;
    const found = this.search(4, this.lengths[0], addr, offset);
    return found >= 0 ? found : shortest;
  }

  /** Binary search on `lengths`: a hit (prefix or marker) means "this key's best, or longer", a miss "shorter". */
  private search(family: number, lengths: Int32Array, addr: Uint32Array, offset: number): number {
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

function sortedLengths(set: Set<number>): number[] {
  return [...set].sort((a, b) => a - b);
}

function inDirect(e: LpmEntry): boolean {
  return e.family === 4 && e.prefix <= DIRECT_BITS;
}

/**
 * The direct table: each IPv4 prefix of /16 or shorter written over the /16s it covers, shortest first
 * so longer ones overwrite (and, at equal length, later entries, as in a map); then DIRECT_DEEPER on
 * every /16 holding a /17-/31 prefix. Work: at most 2^16 writes per distinct length.
 */
function buildDirect(entries: readonly LpmEntry[], values: readonly number[]): Int32Array {
  const direct = new Int32Array(1 << DIRECT_BITS);
  const short = entries.map((_, i) => i).filter((i) => inDirect(entries[i]!));
  short.sort((a, b) => entries[a]!.prefix - entries[b]!.prefix || a - b);
  for (const i of short) {
    const e = entries[i]!;
    const first = maskWord(e.words[0]!, e.prefix) >>> (32 - DIRECT_BITS);
    direct.fill(values[i]! + 1, first, first + (1 << (DIRECT_BITS - e.prefix)));
  }
  for (const e of entries) {
    if (e.family === 4 && e.prefix > DIRECT_BITS && e.prefix < 32) direct[e.words[0]! >>> (32 - DIRECT_BITS)]! |= DIRECT_DEEPER;
  }
  return direct;
}

/** The value of the longest real prefix of `words` no longer than `upTo`, or -1 (for a marker's best). */
function longestReal(real: Map<string, number>, lengths: readonly number[], family: 4 | 6, upTo: number, words: Uint32Array): number {
  for (let i = lengths.length - 1; i >= 0; i--) {
    if (lengths[i]! > upTo) continue;
    const v = real.get(keyText(family, lengths[i]!, words));
    if (v !== undefined) return v;
  }
  return -1;
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
