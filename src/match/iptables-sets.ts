/**
 * ipset membership over typed arrays, as the kernel's ip_set hash types answer it:
 * - hash:ip      exact address lookup;
 * - hash:net     the most specific prefix first (ip_set_hash_gen.h walks its cidr list from the
 *                longest), the first hit decides, and a `nomatch` hit means "not in the set";
 * - hash:ip,port (address, protocol, port).
 * Every set is one open-addressing table with fixed 5-word keys: 4 address words (IPv4 in word 0) and
 * one extra word (the prefix for hash:net, protocol<<16|port for hash:ip,port, 0 for hash:ip).
 * Lookups allocate nothing: hash:net masks the address into a caller-owned scratch array.
 */
import { ipToWords } from '../model/ip.js';
import type { IpSet, SetEntry } from '../compile/iptables/ir.js';

export const SetKind = { IP: 0, NET: 1, IPPORT: 2 } as const;
const KEY_WORDS = 5;
const EMPTY = 0;
const MEMBER = 1;
const NOMATCH = 2;

export interface PackedSet {
  readonly kind: number;
  readonly mask: number;
  readonly keys: Uint32Array;
  /** EMPTY, MEMBER or NOMATCH per slot. */
  readonly state: Uint8Array;
  /** hash:net: prefix lengths present, longest first, and their 4-word masks. */
  readonly prefixes: Int32Array;
  readonly prefixMasks: Uint32Array;
}

function hashKey(k: Uint32Array, off: number, extra: number): number {
  let h = Math.imul(extra ^ 0x9e3779b9, 0x85ebca6b);
  for (let w = 0; w < 4; w++) {
    h = Math.imul(h ^ k[off + w]!, 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
  }
  h ^= h >>> 16;
  return Math.imul(h, 0x85ebca6b) ^ (h >>> 13);
}

/** The slot state for (address words at k[off..off+3], extra): EMPTY when absent. */
export function probeSet(s: PackedSet, k: Uint32Array, off: number, extra: number): number {
  let slot = hashKey(k, off, extra) & s.mask;
  for (;;) {
    const st = s.state[slot]!;
    if (st === EMPTY) return EMPTY;
    const base = slot * KEY_WORDS;
    if (s.keys[base] === k[off] && s.keys[base + 1] === k[off + 1] && s.keys[base + 2] === k[off + 2] &&
        s.keys[base + 3] === k[off + 3] && s.keys[base + 4] === extra) return st;
    slot = (slot + 1) & s.mask;
  }
}

/** Membership of the address at `addr[off..]` (and proto/port for hash:ip,port). */
export function setContains(s: PackedSet, addr: Uint32Array, off: number, proto: number, port: number, scratch: Uint32Array): boolean {
  if (s.kind === SetKind.IP) return probeSet(s, addr, off, 0) === MEMBER;
  if (s.kind === SetKind.IPPORT) return probeSet(s, addr, off, ((proto << 16) | port) >>> 0) === MEMBER;
  for (let p = 0; p < s.prefixes.length; p++) {
    const m = p * 4;
    scratch[0] = addr[off]! & s.prefixMasks[m]!;
    scratch[1] = addr[off + 1]! & s.prefixMasks[m + 1]!;
    scratch[2] = addr[off + 2]! & s.prefixMasks[m + 2]!;
    scratch[3] = addr[off + 3]! & s.prefixMasks[m + 3]!;
    const st = probeSet(s, scratch, 0, s.prefixes[p]!);
    if (st !== EMPTY) return st === MEMBER;
  }
  return false;
}

/** Four big-endian mask words for a prefix of a `bits`-bit address. */
export function maskWords(prefix: number, out: Uint32Array, off: number): void {
  for (let w = 0; w < 4; w++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * w));
    out[off + w] = bits === 0 ? 0 : bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
  }
}

/**
 * Packed tables by member list: the compiler hands sets that select the same pods one shared member
 * array (the same peers in many namespaces), and a packed table is read-only, so each list is packed
 * once per set type.
 */
const packedByEntries = new WeakMap<readonly SetEntry[], PackedSet[]>();

export function packSet(set: IpSet): PackedSet {
  const kind = set.type === 'hash:ip' ? SetKind.IP : set.type === 'hash:net' ? SetKind.NET : SetKind.IPPORT;
  let byKind = packedByEntries.get(set.entries);
  if (byKind === undefined) {
    byKind = [];
    packedByEntries.set(set.entries, byKind);
  }
  return (byKind[kind] ??= packEntries(kind, set.entries));
}

function packEntries(kind: number, entries: readonly SetEntry[]): PackedSet {
  let cap = 8;
  while (cap < entries.length * 2) cap *= 2;
  const keys = new Uint32Array(cap * KEY_WORDS);
  const state = new Uint8Array(cap);
  const prefixList = kind === SetKind.NET ? [...new Set(entries.map((e) => e.cidr.prefix))].sort((a, b) => b - a) : [];
  const prefixes = Int32Array.from(prefixList);
  const prefixMasks = new Uint32Array(prefixes.length * 4);
  prefixes.forEach((p, i) => maskWords(p, prefixMasks, i * 4));
  const packed: PackedSet = { kind, mask: cap - 1, keys, state, prefixes, prefixMasks };
  const word = new Uint32Array(4);
  for (const e of entries) {
    ipToWords({ family: e.cidr.family, value: e.cidr.base }, word, 0);
    const extra = e.kind === 'ipport' ? ((e.proto << 16) | e.port) >>> 0 : kind === SetKind.NET ? e.cidr.prefix : 0;
    insert(packed, word, extra, e.kind === 'net' && e.nomatch ? NOMATCH : MEMBER);
  }
  return packed;
}

function insert(s: PackedSet, k: Uint32Array, extra: number, value: number): void {
  if (probeSet(s, k, 0, extra) !== EMPTY) return;
  let slot = hashKey(k, 0, extra) & s.mask;
  while (s.state[slot] !== EMPTY) slot = (slot + 1) & s.mask;
  s.keys.set(k, slot * KEY_WORDS);
  s.keys[slot * KEY_WORDS + 4] = extra;
  s.state[slot] = value;
}
