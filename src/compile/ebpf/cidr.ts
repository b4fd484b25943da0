/**
 * ipBlock peers as sets of prefixes. Cilium turns `cidr` minus every `except` into the prefixes that
 * remain, gives each prefix a CIDR identity and selects those identities (pkg/policy/api/cidr.go
 * ComputeResultantCIDRSet); this is the same idea without its code.
 */
import { cidrContains, cidrContainsCidr, familyBits, formatCidr, type Cidr, type IpAddr } from '../../model/ip.js';
import type { Peer } from '../../model/types.js';

export type IpBlockPeer = Extract<Peer, { kind: 'ipBlock' }>;

/** `cidr` minus the union of `except`, as disjoint prefixes, shortest split first. */
export function subtractPrefixes(cidr: Cidr, except: readonly Cidr[]): Cidr[] {
  if (except.some((e) => cidrContainsCidr(e, cidr))) return [];
  const inside = except.filter((e) => cidrContainsCidr(cidr, e));
  if (inside.length === 0) return [cidr];
  const half = 1n << BigInt(familyBits(cidr.family) - cidr.prefix - 1);
  const lo: Cidr = { family: cidr.family, base: cidr.base, prefix: cidr.prefix + 1 };
  const hi: Cidr = { family: cidr.family, base: cidr.base | half, prefix: cidr.prefix + 1 };
  return [...subtractPrefixes(lo, inside), ...subtractPrefixes(hi, inside)];
}

function overlaps(a: Cidr, b: Cidr): boolean {
  return cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
}

/** True when every address of `prefix` is matched by the ipBlock (inside `cidr`, outside every `except`). */
export function blockCoversPrefix(block: IpBlockPeer, prefix: Cidr): boolean {
  return cidrContainsCidr(block.cidr, prefix) && !block.except.some((e) => overlaps(e, prefix));
}

export function blockMatchesAddress(block: IpBlockPeer, ip: IpAddr): boolean {
  return cidrContains(block.cidr, ip) && !block.except.some((e) => cidrContains(e, ip));
}

/** A canonical name for an ipBlock, so equal blocks of different policies count once. */
export function blockKey(block: IpBlockPeer): string {
  const except = block.except.map(formatCidr).sort();
  return except.length === 0 ? formatCidr(block.cidr) : `${formatCidr(block.cidr)} except ${except.join(',')}`;
}

export function cidrKey(c: Cidr): string {
  return `${c.family}/${c.base.toString(16).padStart(32, '0')}/${String(c.prefix).padStart(3, '0')}`;
}
