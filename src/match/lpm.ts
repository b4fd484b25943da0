/**
 * Longest-prefix match over typed arrays: one open-addressing table keyed by {family, prefix length,
 * masked address}, probed from the longest prefix length present in the family down to the shortest,
 * the way Cilium's ipcache worked over a HASH map before LPM tries (the IPCACHE prefix list). The first
 * hit is the longest match. Lookups allocate nothing: the key is built in a scratch array.
 */
import { IPCACHE_KEY_WORDS } from '../compile/ebpf/layout.js';
import { OpenHashTable } from './hash-table.js';

export class LpmTable {
  readonly table: OpenHashTable;
  /** Prefix lengths present per family, longest first (index 0: IPv4, 1: IPv6). */
  private readonly lengths: [Int32Array, Int32Array];
  private readonly scratch = new Uint32Array(IPCACHE_KEY_WORDS);

  constructor(entries: readonly { family: 4 | 6; prefix: number; words: Uint32Array }[], values: readonly number[], seed?: number) {
    this.table = new OpenHashTable(IPCACHE_KEY_WORDS, entries.length, seed);
    const lens: [Set<number>, Set<number>] = [new Set(), new Set()];
    entries.forEach((e, i) => {
      lens[e.family === 4 ? 0 : 1].add(e.prefix);
      writeKey(this.scratch, e.family, e.prefix, e.words, 0);
      this.table.insert(this.scratch, 0, values[i]!);
    });
    const desc = (s: Set<number>): Int32Array => Int32Array.from([...s].sort((a, b) => b - a));
    this.lengths = [desc(lens[0]), desc(lens[1])];
  }

  /** The value of the longest prefix holding the address (four words at `offset`), or -1. */
  lookup(family: number, addr: Uint32Array, offset: number): number {
    const lengths = this.lengths[family === 4 ? 0 : 1];
    for (let i = 0; i < lengths.length; i++) {
      writeKey(this.scratch, family, lengths[i]!, addr, offset);
      const v = this.table.lookup(this.scratch, 0);
      if (v >= 0) return v;
    }
    return -1;
  }
}

/** Key: family << 8 | prefix, then the address words with host bits cleared. */
function writeKey(out: Uint32Array, family: number, prefix: number, addr: Uint32Array, offset: number): void {
  out[0] = (family << 8) | prefix;
  for (let w = 0; w < 4; w++) {
    const bits = prefix - 32 * w;
    const mask = bits >= 32 ? 0xffffffff : bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    out[1 + w] = (addr[offset + w]! & mask) >>> 0;
  }
}
