/**
 * Dispatch from a packet's address to its pod's chain, shaped as a prefix tree over the isolated pods'
 * addresses, the way Calico shapes its interface-name dispatch (`cali-from-wl-dispatch-<prefix>`)
 * to avoid walking one rule per pod.
 *
 * Each tree chain splits its addresses on the next 4 bits after their common prefix: up to 16 rules,
 * each a `-s|-d <prefix>` GOTO to a subtree, or to a pod's chain when one pod is left. A chain with at
 * most 16 addresses lists them directly. A packet therefore walks at most 16 rules per level and about
 * log16(pods) levels: ~16 x 3 = 48 rules for 4,000 pods, where a linear dispatch would walk up to 4,000.
 * GOTO (not JUMP) keeps the stack flat: the pod chain's RETURN lands back in the top chain.
 */
import { familyBits, formatCidr, prefixMask, type Cidr, type Family } from '../../model/ip.js';
import type { FamilyBuilder } from './builder.js';
import { Target } from './ir.js';

export const DISPATCH_FANOUT = 16;
const SPLIT_BITS = 4;

export interface DispatchEntry {
  readonly address: bigint;
  /** The address as a host route (`address/32` or `/128`), the pod's shared one. */
  readonly host: Cidr;
  /** The pod chain to GOTO. */
  readonly chain: number;
  readonly label: string;
}

export interface DispatchContext {
  readonly builder: FamilyBuilder;
  readonly family: Family;
  readonly dir: 'src' | 'dst';
  /** Name for the chain covering `prefix` (root: the tree's fixed name). */
  readonly chainName: (prefix: Cidr | null) => string;
}

/** Builds the tree over `entries` (unique addresses) and returns its root chain. */
export function buildDispatch(ctx: DispatchContext, entries: readonly DispatchEntry[]): number {
  const sorted = [...entries].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return dispatchChain(ctx, sorted, null);
}

function dispatchChain(ctx: DispatchContext, entries: readonly DispatchEntry[], prefix: Cidr | null): number {
  const chain = ctx.builder.chain(ctx.chainName(prefix));
  const bits = familyBits(ctx.family);
  if (entries.length <= DISPATCH_FANOUT) {
    for (const e of entries) addGoto(ctx, chain, e.host, e.chain, e.label);
  } else {
    for (const group of splitGroups(entries, bits)) {
      if (group.entries.length === 1) {
        const e = group.entries[0]!;
        addGoto(ctx, chain, e.host, e.chain, e.label);
      } else {
        const child = dispatchChain(ctx, group.entries, group.cidr);
        addGoto(ctx, chain, group.cidr, child, `addresses in ${formatCidr(group.cidr)}`);
      }
    }
  }
  ctx.builder.add(chain, { target: Target.RETURN, comment: 'not an isolated pod: no chain here' });
  return chain;
}

function addGoto(ctx: DispatchContext, chain: number, cidr: Cidr, target: number, label: string): void {
  ctx.builder.add(chain, {
    [ctx.dir]: cidr, target: Target.GOTO, targetArg: target, comment: label,
  });
}

/** Groups sorted addresses by the SPLIT_BITS bits after their common prefix. */
function splitGroups(entries: readonly DispatchEntry[], bits: number): { cidr: Cidr; entries: DispatchEntry[] }[] {
  const common = commonPrefix(entries[0]!.address, entries[entries.length - 1]!.address, bits);
  const prefix = Math.min(bits, common + SPLIT_BITS);
  const family = bits === 32 ? 4 : 6;
  const mask = prefixMask(family, prefix);
  const groups: { cidr: Cidr; entries: DispatchEntry[] }[] = [];
  for (const e of entries) {
    const base = e.address & mask;
    const last = groups[groups.length - 1];
    if (last && last.cidr.base === base) last.entries.push(e);
    else groups.push({ cidr: { family, base, prefix }, entries: [e] });
  }
  return groups;
}

function commonPrefix(a: bigint, b: bigint, bits: number): number {
  let diff = a ^ b;
  let len = bits;
  while (diff > 0n) {
    diff >>= 1n;
    len--;
  }
  return len;
}
