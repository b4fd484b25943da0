/**
 * NetworkPolicy ports as policy map key parts {protocol, port, prefix length}. An `endPort` range becomes
 * the power-of-two port prefixes that tile it exactly, as Cilium does for its LPM policy key
 * (pkg/policy/types PortProtoToPrefixes, mirrored in idea only).
 */
import { PLEN_ANY, PLEN_FULL, PLEN_PROTO } from './layout.js';

export interface PortKey {
  readonly protocol: number;
  readonly port: number;
  readonly prefixLength: number;
}

export const ANY_PORT: PortKey = { protocol: 0, port: 0, prefixLength: PLEN_ANY };

export function protocolOnly(protocol: number): PortKey {
  return { protocol, port: 0, prefixLength: PLEN_PROTO };
}

export function singlePort(protocol: number, port: number): PortKey {
  return { protocol, port, prefixLength: PLEN_FULL };
}

/** `lo..hi` inclusive as the fewest aligned power-of-two blocks, lowest first. */
export function rangeToPortKeys(protocol: number, lo: number, hi: number): PortKey[] {
  const keys: PortKey[] = [];
  let start = lo;
  while (start <= hi) {
    let bits = 0;
    // Grow the block while it stays aligned at `start` and inside the range.
    while (bits < 16 && (start & ((1 << (bits + 1)) - 1)) === 0 && start + (1 << (bits + 1)) - 1 <= hi) bits++;
    keys.push({ protocol, port: start, prefixLength: PLEN_FULL - bits });
    start += 1 << bits;
  }
  return keys;
}
