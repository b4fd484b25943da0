/**
 * Longest-prefix match over typed arrays, for the ipcache. An IPv4 lookup reads one table entry in the
 * common cases, whatever the number of prefixes:
 *  - the pod block: a direct table over one aligned IPv4 block (a /16 or wider, chosen where the host
 *    entries are: the cluster's pod CIDR), holding the complete answer for every address in it (leaf
 *    pushing: each prefix inside the block written over the addresses it covers, longer ones last). An
 *    address in it costs one read: two words of geometry tell whether it is in, with no memory access;
 *  - the /16 table: 2^16 entries indexed by the top 16 bits, each the longest prefix of /16 or shorter
 *    holding that /16, plus two bits: a host entry (/32, e.g. a node address) lies in it, a /17-/31 prefix
 *    lies in it. Without those bits its value is the answer (CIDR identities of ipBlocks are mostly /16
 *    and shorter);
 *  - everything else (IPv4 hosts and /17-/31 outside the pod block, all of IPv6) in an open-addressing
 *    table: the full length probed first, then binary search on prefix lengths (Waldvogel, Varghese,
 *    Turner and Plattner, "Scalable High Speed IP Routing Lookups", SIGCOMM 1997): keys {family, length,
 *    masked address}, plus "markers", a prefix's address cut to each shorter length the search visits on
 *    its way to it. Every key stores its best matching prefix (itself for a real prefix; for a marker,
 *    the longest real prefix holding it), so a search that goes longer and then finds nothing still has
 *    the answer. IPv4 probes it only where the /16 table's bits say so, and falls back to its value.
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

/** IPv4 prefixes up to this length live in the /16 table. */
export const DIRECT_BITS = 16;
/** /16-table entry: (best value + 1) in the low bits, 0 for none, and the two flags. */
export const DIRECT_VALUE_MASK = 0x1fffffff;
export const DIRECT_DEEPER = 0x20000000;
export const DIRECT_HOST = 0x40000000;
/** The pod block is at most 2^20 addresses (4 MiB), at least one host in 64 addresses when wider than a /16. */
const POD_BLOCK_MIN_PREFIX = 12;
const POD_BLOCK_MIN_DENSITY = 1 / 64;
/** The hash table's buckets hold 2 keys (5 words each): a quarter load keeps nearly every bucket with a free slot. */
const IPCACHE_MAX_LOAD = 0.25;

export class LpmTable {
  readonly table: OpenHashTable;
  /** Best matching prefix (a value) per stored key, -1 for a marker no real prefix holds. */
  private readonly best: Int32Array;
  /** Searched prefix lengths per family, shortest first: IPv4 /17 to /31 (outside the pod block), IPv6 below /128. */
  private readonly lengths: [Int32Array, Int32Array];
  /** Whether IPv6 has full-length entries, probed first. */
  private readonly hasHost6: boolean;
  /** IPv4, per /16: the longest prefix of /16 or shorter holding it, DIRECT_DEEPER and DIRECT_HOST. */
  private readonly direct: Int32Array;
  /** The pod block: first address and size (0: none), and per address its answer + 1 (0: none). */
  private readonly podBase: number;
  private readonly podSize: number;
  private readonly pods: Int32Array;
  private readonly scratch = new Uint32Array(IPCACHE_KEY_WORDS);

  constructor(entries: readonly LpmEntry[], values: readonly number[], seed?: number) {
    const sets: [Set<number>, Set<number>] = [new Set(), new Set()];
    for (const e of entries) sets[e.family === 4 ? 0 : 1].add(e.prefix);
    const all = [sortedLengths(sets[0]), sortedLengths(sets[1])] as const;
    const real = new Map<string, number>();
    entries.forEach((e, i) => real.set(keyText(e.family, e.prefix, e.words), values[i]!));
    const block = choosePodBlock(entries);
    this.podBase = block.base;
    this.podSize = block.size;
    const inBlock = (e: LpmEntry): boolean => e.family === 4 && e.prefix >= block.prefix && this.inPods(e.words[0]!);
    const hashed = entries.map((_, i) => i).filter((i) => !inBlock(entries[i]!) && !inDirect(entries[i]!));
    this.pods = buildPods(entries, values, block, (w) => longestReal(real, all[0], 4, block.prefix, w));
    this.direct = buildDirect(entries, values, hashed);
    this.hasHost6 = sets[1].has(128);
    const searched = (f: 4 | 6): number[] => [...new Set(hashed.map((i) => entries[i]!).filter((e) => e.family === f).map((e) => e.prefix))].sort((a, b) => a - b);
    this.lengths = [Int32Array.from(searched(4).filter((l) => l < 32)), Int32Array.from(searched(6).filter((l) => l < 128))];
    const keys = new Map<string, Key>();
    for (const i of hashed) {
      const e = entries[i]!;
      keys.set(keyText(e.family, e.prefix, e.words), { family: e.family, prefix: e.prefix, words: e.words, best: values[i]! });
    }
    for (const i of hashed) {
      const e = entries[i]!;
      for (const len of this.markerLengths(e)) {
        const text = keyText(e.family, len, e.words);
        if (!keys.has(text)) keys.set(text, { family: e.family, prefix: len, words: e.words, best: longestReal(real, all[e.family === 4 ? 0 : 1], e.family, len, e.words) });
      }
    }
    this.table = new OpenHashTable(IPCACHE_KEY_WORDS, keys.size, seed, undefined, IPCACHE_MAX_LOAD);
    this.best = new Int32Array(keys.size);
    let slot = 0;
    for (const k of keys.values()) {
      writeKey(this.scratch, k.family, k.prefix, k.words, 0);
      this.table.insert(this.scratch, 0, slot);
      this.best[slot++] = k.best;
    }
  }

  private inPods(word: number): boolean {
    return ((word - this.podBase) >>> 0) < this.podSize;
  }

  /** The shorter lengths at which the binary search, on its way to `e.prefix`, must be told to go longer. */
  private markerLengths(e: LpmEntry): number[] {
    const lengths = this.lengths[e.family === 4 ? 0 : 1];
    const target = lengths.indexOf(e.prefix);
    const out: number[] = [];
    if (target < 0) return out; // a full-length entry: probed directly, no search path
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
    if (family !== 4) return this.lookup6(addr, offset);
    const a = addr[offset]!;
    this.table.probes++; // one direct-table read: the pod block's or the /16 table's
    if (this.inPods(a)) return this.pods[(a - this.podBase) >>> 0]! - 1;
    const d = this.direct[a >>> (32 - DIRECT_BITS)]!;
    if ((d & DIRECT_HOST) !== 0) {
      writeKey(this.scratch, 4, 32, addr, offset);
      const slot = this.table.lookup(this.scratch, 0);
      if (slot >= 0) return this.best[slot]!;
    }
    const found = (d & DIRECT_DEEPER) !== 0 ? this.search(4, this.lengths[0], addr, offset) : -1;
    return found >= 0 ? found : (d & DIRECT_VALUE_MASK) - 1;
  }

  private lookup6(addr: Uint32Array, offset: number): number {
    if (this.hasHost6) {
      writeKey(this.scratch, 6, 128, addr, offset);
      const slot = this.table.lookup(this.scratch, 0);
      if (slot >= 0) return this.best[slot]!;
    }
    return this.search(6, this.lengths[1], addr, offset);
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

interface PodBlock { readonly base: number; readonly size: number; readonly prefix: number }

/**
 * The aligned IPv4 block for the pod table: the /16 holding the most host (/32) entries, widened while
 * that gains hosts, stays dense (POD_BLOCK_MIN_DENSITY) and no wider than /12. None without IPv4 hosts.
 */
function choosePodBlock(entries: readonly LpmEntry[]): PodBlock {
  const hosts = entries.filter((e) => e.family === 4 && e.prefix === 32).map((e) => e.words[0]!);
  if (hosts.length === 0) return { base: 0, size: 0, prefix: 33 };
  const count = (prefix: number, base: number): number => hosts.filter((h) => maskWord(h, prefix) === base).length;
  const per16 = new Map<number, number>();
  for (const h of hosts) per16.set(h >>> 16, (per16.get(h >>> 16) ?? 0) + 1);
  const top = [...per16.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]!;
  let prefix = DIRECT_BITS;
  let n = top[1];
  while (prefix > POD_BLOCK_MIN_PREFIX) {
    const wider = count(prefix - 1, maskWord(top[0] << 16, prefix - 1));
    if (wider <= n || wider < POD_BLOCK_MIN_DENSITY * 2 ** (33 - prefix)) break;
    prefix--;
    n = wider;
  }
  return { base: maskWord(top[0] << 16, prefix), size: 2 ** (32 - prefix), prefix };
}

/** Every address of the block: its longest prefix + 1 (0: none), the block's own best first, then each longer prefix inside it, shortest first. */
function buildPods(entries: readonly LpmEntry[], values: readonly number[], block: PodBlock, bestAbove: (w: Uint32Array) => number): Int32Array {
  const pods = new Int32Array(block.size);
  if (block.size === 0) return pods;
  pods.fill(bestAbove(Uint32Array.of(block.base, 0, 0, 0)) + 1);
  const inside = entries.map((_, i) => i).filter((i) => {
    const e = entries[i]!;
    return e.family === 4 && e.prefix > block.prefix && ((e.words[0]! - block.base) >>> 0) < block.size;
  });
  inside.sort((a, b) => entries[a]!.prefix - entries[b]!.prefix || a - b);
  for (const i of inside) {
    const e = entries[i]!;
    const first = (maskWord(e.words[0]!, e.prefix) - block.base) >>> 0;
    pods.fill(values[i]! + 1, first, first + 2 ** (32 - e.prefix));
  }
  return pods;
}

/**
 * The /16 table: each IPv4 prefix of /16 or shorter written over the /16s it covers, shortest first so
 * longer ones overwrite (and, at equal length, later entries, as in a map); then the flags of the hashed
 * IPv4 entries (`hashed`: outside the pod block). Work: at most 2^16 writes per distinct length.
 */
function buildDirect(entries: readonly LpmEntry[], values: readonly number[], hashed: readonly number[]): Int32Array {
  const direct = new Int32Array(1 << DIRECT_BITS);
  const short = entries.map((_, i) => i).filter((i) => inDirect(entries[i]!));
  short.sort((a, b) => entries[a]!.prefix - entries[b]!.prefix || a - b);
  for (const i of short) {
    const e = entries[i]!;
    const first = maskWord(e.words[0]!, e.prefix) >>> (32 - DIRECT_BITS);
    direct.fill(values[i]! + 1, first, first + (1 << (DIRECT_BITS - e.prefix)));
  }
  for (const i of hashed) {
    const e = entries[i]!;
    if (e.family === 4) direct[e.words[0]! >>> (32 - DIRECT_BITS)]! |= e.prefix === 32 ? DIRECT_HOST : DIRECT_DEEPER;
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
