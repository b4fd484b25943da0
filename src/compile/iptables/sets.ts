/**
 * ipsets, as Calico and kube-router use them: a selector becomes a `hash:ip` set of the selected pods'
 * addresses, an ipBlock a `hash:net` set whose `except` entries are `nomatch` (the kernel looks up the
 * most specific prefix first and a `nomatch` hit means "not in the set"), and a named port a
 * `hash:ip,port` set of (pod address, protocol:port) pairs, resolved per destination pod as Calico's
 * named-port sets are. Sets are per family; one registry names and deduplicates them for both.
 */
import { familyBits, type Cidr, type Family, type IpAddr } from '../../model/ip.js';
import type { Pod } from '../../model/types.js';
import type { IpSet, SetEntry, SetType } from './ir.js';
import { NameTable, SET_NAME_MAX, setPrefix } from './names.js';

export class SetRegistry {
  private readonly sets: IpSet[] = [];
  private readonly byName = new Map<string, number>();
  private readonly names = new NameTable(SET_NAME_MAX);

  /** The set standing for `key` (a canonical description of its meaning); `build` runs only once. */
  intern(family: Family, kind: 'P' | 'B' | 'N' | 'I' | 'A', type: SetType, key: string, purpose: string, build: () => readonly SetEntry[]): number {
    const name = this.names.name(setPrefix(family, kind), `${family}|${type}|${key}`);
    const existing = this.byName.get(name);
    if (existing !== undefined) return existing;
    this.sets.push({ name, family, type, entries: build(), purpose });
    this.byName.set(name, this.sets.length - 1);
    return this.sets.length - 1;
  }

  list(): readonly IpSet[] {
    return this.sets;
  }
}

export function hostCidr(ip: IpAddr): Cidr {
  return { family: ip.family, base: ip.value, prefix: familyBits(ip.family) };
}

/** The pod's address of `family`, if any. */
export function podAddress(pod: Pod, family: Family): IpAddr | undefined {
  return pod.ips.find((ip) => ip.family === family);
}

/**
 * An ipBlock: `cidr` as a member, each `except` as `nomatch`. The kernel's hash:net rejects a zero
 * prefix, so `0.0.0.0/0` (`::/0`) becomes its two halves, as Calico and kube-router do; a half that an
 * `except` removes whole is left out with that except, since ipset refuses the same prefix twice.
 * Duplicate excepts are added once for the same reason.
 */
export function blockEntries(cidr: Cidr, except: readonly Cidr[]): SetEntry[] {
  const halves: Cidr[] = cidr.prefix > 0 ? [cidr] : [
    { family: cidr.family, base: 0n, prefix: 1 },
    { family: cidr.family, base: 1n << BigInt(familyBits(cidr.family) - 1), prefix: 1 },
  ];
  const key = (c: Cidr): string => `${c.base}/${c.prefix}`;
  const exceptKeys = new Set(except.map(key));
  const members = halves.filter((c) => !exceptKeys.has(key(c)));
  const seen = new Set<string>();
  const nomatch = except.filter((c) => {
    const k = key(c);
    const keep = !seen.has(k) && !halves.some((h) => key(h) === k);
    seen.add(k);
    return keep;
  });
  return [
    ...members.map((c): SetEntry => ({ kind: 'net', cidr: c, nomatch: false })),
    ...nomatch.map((c): SetEntry => ({ kind: 'net', cidr: c, nomatch: true })),
  ];
}
