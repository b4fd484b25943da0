/**
 * IP addresses and CIDRs for the model and the reference evaluator.
 *
 * Addresses are held as a family and a bigint: slow but exact, and one representation for IPv4 and
 * IPv6. The hot paths never see these; compilers lower them to 32-bit words (see `ipToWords`).
 */

export type Family = 4 | 6;

export interface IpAddr {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** The network address, host bits cleared. */
  readonly base: bigint;
  readonly prefix: number;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIpv4(text: string): bigint | null {
  const m = IPV4_RE.exec(text);
  if (!m) return null;
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    // The API server rejects leading zeros (they are ambiguous: octal in some parsers).
    if (part.length > 1 && part.startsWith('0')) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

/** `allowIpv4Tail`: a dotted quad may end the text (it must end the whole address, not precede `::`). */
function parseIpv6Groups(text: string, allowIpv4Tail: boolean): number[] | null {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (allowIpv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseIpv6Groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? parseIpv6Groups(halves[1]!, true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** Parses a textual IPv4 or IPv6 address; null when it is not one. */
export function parseIp(text: string): IpAddr | null {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === null ? null : { family: 4, value };
}

export function mustParseIp(text: string): IpAddr {
  const ip = parseIp(text);
  if (!ip) throw new Error(`not an IP address: ${JSON.stringify(text)}`);
  return ip;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
export function formatIp(ip: IpAddr): string {
  if (ip.family === 4) {
    const v = Number(ip.value);
    return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** A string key unique per address, for maps (family-qualified so v4 and v6 never collide). */
export function ipKey(ip: IpAddr): string {
  return `${ip.family}:${ip.value.toString(16)}`;
}

export function ipEquals(a: IpAddr, b: IpAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

export function prefixMask(family: Family, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : (all >> (bits - BigInt(prefix))) << (bits - BigInt(prefix));
}

export interface ParsedCidr {
  cidr: Cidr;
  /** True when the text had host bits set (`10.0.0.1/24`): accepted with a warning, as the API server does. */
  hostBitsSet: boolean;
}

/** Parses `addr/prefix`; null when malformed (no slash, bad address, prefix out of range). */
export function parseCidr(text: string): ParsedCidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > familyBits(ip.family)) return null;
  const base = ip.value & prefixMask(ip.family, prefix);
  return { cidr: { family: ip.family, base, prefix }, hostBitsSet: base !== ip.value };
}

export function mustParseCidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed) throw new Error(`not a CIDR: ${JSON.stringify(text)}`);
  return parsed.cidr;
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp({ family: cidr.family, value: cidr.base })}/${cidr.prefix}`;
}

export function cidrContains(cidr: Cidr, ip: IpAddr): boolean {
  return cidr.family === ip.family && (ip.value & prefixMask(cidr.family, cidr.prefix)) === cidr.base;
}

/** True when `inner` lies inside `outer` (same family, prefix at least as long). */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.prefix >= outer.prefix &&
    (inner.base & prefixMask(outer.family, outer.prefix)) === outer.base;
}

/**
 * Writes an address as four big-endian 32-bit words (IPv4 in word 0, words 1-3 zero), the layout of
 * `FlowBatch` addresses and of the compiled tables.
 */
export function ipToWords(ip: IpAddr, out: Uint32Array, offset: number): void {
  if (ip.family === 4) {
    out[offset] = Number(ip.value);
    out[offset + 1] = 0;
    out[offset + 2] = 0;
    out[offset + 3] = 0;
    return;
  }
  for (let i = 0; i < 4; i++) out[offset + i] = Number((ip.value >> BigInt(96 - 32 * i)) & 0xffffffffn);
}

/** Reads an address written by `ipToWords`. */
export function ipFromWords(family: Family, words: Uint32Array, offset: number): IpAddr {
  if (family === 4) return { family, value: BigInt(words[offset]! >>> 0) };
  let value = 0n;
  for (let i = 0; i < 4; i++) value = (value << 32n) | BigInt(words[offset + i]! >>> 0);
  return { family, value };
}
