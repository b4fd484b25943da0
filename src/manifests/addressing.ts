/**
 * Nodes and addresses for pods the input does not place or address. Deterministic for the same input:
 * pods are taken in namespace/name order and addresses handed out in ascending order.
 */
import { InputError } from '../errors.js';
import { familyBits, formatCidr, ipKey, type Cidr, type IpAddr } from '../model/ip.js';

/**
 * Hands out addresses of one CIDR in ascending order, skipping the network address, `.1` (the
 * gateway a CNI bridge or node route usually takes), the IPv4 broadcast address and every address the
 * input already uses.
 */
export class AddressPool {
  private next: bigint;
  private readonly last: bigint;

  constructor(readonly cidr: Cidr, private readonly taken: Set<string>, private readonly label: string) {
    const size = 1n << BigInt(familyBits(cidr.family) - cidr.prefix);
    this.next = cidr.base + 2n;
    this.last = cidr.base + size - (cidr.family === 4 ? 2n : 1n);
  }

  /** The next free address, for `forWhom` (named in the message when the CIDR is exhausted). */
  take(forWhom: string): IpAddr {
    while (this.next <= this.last) {
      const ip: IpAddr = { family: this.cidr.family, value: this.next++ };
      const key = ipKey(ip);
      if (this.taken.has(key)) continue;
      this.taken.add(key);
      return ip;
    }
    throw new InputError(`${this.label} ${formatCidr(this.cidr)} has no free address left for ${forWhom}; give a larger CIDR`);
  }
}

/** `node-1 .. node-N`, the nodes of a cluster whose manifests name none. */
export function generatedNodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `node-${i + 1}`);
}

/** Every distinct address, IPv4 first (stable otherwise). */
export function mergeAddresses(lists: readonly (readonly IpAddr[])[]): IpAddr[] {
  // Most pods have one address: nothing to merge (a Set and a sort for each pod showed in the profile of a load).
  if (lists.length === 1 && lists[0]!.length <= 1) return [...lists[0]!];
  const out: IpAddr[] = [];
  const seen = new Set<string>();
  for (const ip of lists.flat()) {
    const key = ipKey(ip);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(ip);
  }
  return out.sort((a, b) => a.family - b.family);
}
