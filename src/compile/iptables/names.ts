/**
 * Deterministic chain and set names within the kernel's limits: iptables chain names are at most 28
 * characters (XT_EXTENSION_MAXNAMELEN 29 with the NUL), ipset names at most 31 (IPSET_MAXNAMELEN 32).
 * Like Calico's `cali-pi-<hash>` and kube-router's `KUBE-NWPLCY-<hash>`, a readable prefix plus a hash
 * of what the object stands for, so the same input always yields the same names.
 */
import type { Family } from '../../model/ip.js';

export const CHAIN_NAME_MAX = 28;
export const SET_NAME_MAX = 31;
/** iptables' `-m comment` keeps at most 255 characters (XT_MAX_COMMENT_LEN 256 with the NUL). */
export const COMMENT_MAX = 255;

/** FNV-1a over UTF-16 code units, 64 bits as two 32-bit halves; 16 lowercase hex digits. */
export function hash64(text: string): string {
  let hi = 0xcbf29ce4 >>> 0;
  let lo = 0x84222325 >>> 0;
  for (let i = 0; i < text.length; i++) {
    lo = (lo ^ text.charCodeAt(i)) >>> 0;
    // multiply (hi,lo) by the FNV prime 0x100000001b3 modulo 2^64
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    const newLo = loMul >>> 0;
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/**
 * Hands out names and guarantees that two different keys never share one (a hash collision would make
 * two chains or sets one; it is astronomically unlikely, but then compilation fails rather than lies).
 */
export class NameTable {
  private readonly byName = new Map<string, string>();

  constructor(private readonly max: number) {}

  name(prefix: string, key: string): string {
    const name = (prefix + hash64(key)).slice(0, this.max);
    const seen = this.byName.get(name);
    if (seen !== undefined && seen !== key) throw new Error(`netsieve: name collision on ${name}: ${seen} vs ${key}`);
    this.byName.set(name, key);
    return name;
  }
}

/** Set names carry the family because ipsets live in one namespace for both families. */
export function setPrefix(family: Family, kind: 'P' | 'B' | 'N' | 'I' | 'A'): string {
  return `NS${family}-${kind}-`;
}

/** Cuts a comment to iptables' limit, keeping its head (namespace/policy) readable. */
export function clampComment(text: string): string {
  return text.length <= COMMENT_MAX ? text : `${text.slice(0, COMMENT_MAX - 17)}~${hash64(text)}`;
}
