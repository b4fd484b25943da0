/**
 * Fragments. The kernel reassembles before conntrack and the filter see a packet (nf_defrag_ipv4/ipv6
 * hook at priority -400), so a datagram is filtered once, as a whole. The simulator sees fragments one
 * by one instead: the first fragment (offset 0, it carries the ports) is tracked and matched, and its
 * verdict is remembered here so that later fragments of the same datagram follow it. A later fragment
 * whose first was never seen cannot be reassembled by the kernel either: it is dropped, and counted.
 *
 * A small direct-mapped table keyed like the kernel's reassembly queues (inet_frag: family, addresses,
 * protocol, identification); a newer datagram hashing to the same slot replaces the older one.
 */
import { TUPLE_WORDS, hashTuple } from './table.js';

export interface FragmentTable {
  readonly mask: number;
  readonly keys: Uint32Array;
  readonly verdict: Uint8Array;
  readonly ctState: Uint8Array;
  /** Expiry in capture seconds; 0: empty slot. */
  readonly expires: Float64Array;
}

export function newFragmentTable(slots: number): FragmentTable {
  let n = 16;
  while (n < slots) n *= 2;
  return {
    mask: n - 1, keys: new Uint32Array(n * TUPLE_WORDS), verdict: new Uint8Array(n), ctState: new Uint8Array(n),
    expires: new Float64Array(n),
  };
}

/** The slot holding the datagram keyed by `key` (TUPLE_WORDS words at 0), or -1 if absent or expired. */
/** Every slot empty again, as newFragmentTable leaves them. */
export function clearFragments(f: FragmentTable): void {
  f.keys.fill(0);
  f.verdict.fill(0);
  f.ctState.fill(0);
  f.expires.fill(0);
}

export function findFragment(f: FragmentTable, key: Uint32Array, now: number): number {
  const slot = hashTuple(key, 0) & f.mask;
  if (f.expires[slot]! === 0 || f.expires[slot]! <= now) return -1;
  const base = slot * TUPLE_WORDS;
  for (let k = 0; k < TUPLE_WORDS; k++) if (f.keys[base + k] !== key[k]) return -1;
  return slot;
}

export function recordFragment(f: FragmentTable, key: Uint32Array, verdict: number, ctState: number, expires: number): void {
  const slot = hashTuple(key, 0) & f.mask;
  const base = slot * TUPLE_WORDS;
  for (let k = 0; k < TUPLE_WORDS; k++) f.keys[base + k] = key[k]!;
  f.verdict[slot] = verdict;
  f.ctState[slot] = ctState;
  f.expires[slot] = expires;
}
