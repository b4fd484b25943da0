/**
 * Accumulates chains and rules for one family, then lays them out flat: rules of a chain contiguous,
 * chains in creation order, and validates the jump graph (no loops, bounded depth) as iptables-restore
 * and the kernel's `mark_source_chains` do.
 */
import type { Family } from '../../model/ip.js';
import { MAX_JUMP_DEPTH, Target, type Chain, type FamilyProgram, type Rule } from './ir.js';
import { clampComment } from './names.js';

export type RuleInit = Partial<Omit<Rule, 'chain' | 'comment' | 'target'>> & Pick<Rule, 'target' | 'comment'>;

interface PendingChain {
  readonly name: string;
  readonly builtin: boolean;
  readonly rules: Rule[];
}

export class FamilyBuilder {
  private readonly chains: PendingChain[] = [];
  private readonly byName = new Map<string, number>();

  constructor(readonly family: Family) {}

  chain(name: string, builtin = false): number {
    const existing = this.byName.get(name);
    if (existing !== undefined) return existing;
    this.chains.push({ name, builtin, rules: [] });
    this.byName.set(name, this.chains.length - 1);
    return this.chains.length - 1;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  add(chain: number, init: RuleInit): void {
    this.chains[chain]!.rules.push({
      chain, src: null, dst: null, proto: 0, dports: [], sets: [], ctstate: 0, markValue: 0, markMask: 0,
      targetArg: 0, targetMask: 0, source: null, ...init, comment: clampComment(init.comment),
    });
  }

  finish(entry: number): FamilyProgram {
    const rules: Rule[] = [];
    const chains: Chain[] = this.chains.map((c) => {
      const start = rules.length;
      rules.push(...c.rules);
      return { name: c.name, builtin: c.builtin, start, end: rules.length };
    });
    const maxDepth = Math.max(0, ...chains.map((_, id) => chainDepth(chains, rules, id, new Map(), new Set())));
    return { family: this.family, chains, rules, entry, maxDepth };
  }
}

/** Deepest JUMP nesting below `id`; GOTO replaces the frame so it adds none. Throws on a loop. */
function chainDepth(chains: readonly Chain[], rules: readonly Rule[], id: number, memo: Map<number, number>, onPath: Set<number>): number {
  const known = memo.get(id);
  if (known !== undefined) return known;
  if (onPath.has(id)) throw new Error(`netsieve: iptables chain loop through ${chains[id]!.name}`);
  onPath.add(id);
  let depth = 0;
  const { start, end } = chains[id]!;
  for (let r = start; r < end; r++) {
    const rule = rules[r]!;
    if (rule.target === Target.JUMP) depth = Math.max(depth, 1 + chainDepth(chains, rules, rule.targetArg, memo, onPath));
    if (rule.target === Target.GOTO) depth = Math.max(depth, chainDepth(chains, rules, rule.targetArg, memo, onPath));
  }
  onPath.delete(id);
  if (depth > MAX_JUMP_DEPTH) throw new Error(`netsieve: iptables jump depth ${depth} below ${chains[id]!.name} exceeds ${MAX_JUMP_DEPTH}`);
  memo.set(id, depth);
  return depth;
}
