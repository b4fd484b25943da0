/**
 * Accumulates chains and rules for one family, then lays them out flat: rules of a chain contiguous,
 * chains in creation order, and validates the jump graph (no loops, bounded depth) as iptables-restore
 * and the kernel's `mark_source_chains` do.
 */
import type { Family } from '../../model/ip.js';
import { MAX_JUMP_DEPTH, Target, type Chain, type FamilyProgram, type PortRange, type Rule, type SetMatch } from './ir.js';
import { clampComment } from './names.js';

/** Shared by every rule without ports or sets; the IR is read-only. */
const NO_PORTS: readonly PortRange[] = [];
const NO_SETS: readonly SetMatch[] = [];

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

  /** Fields in the IR's order, defaults spelled out (no spread: one object shape for every rule). */
  add(chain: number, init: RuleInit): void {
    this.chains[chain]!.rules.push({
      chain, src: init.src ?? null, dst: init.dst ?? null, proto: init.proto ?? 0, dports: init.dports ?? NO_PORTS,
      sets: init.sets ?? NO_SETS, ctstate: init.ctstate ?? 0, markValue: init.markValue ?? 0, markMask: init.markMask ?? 0,
      targetArg: init.targetArg ?? 0, targetMask: init.targetMask ?? 0, source: init.source ?? null,
      target: init.target, comment: clampComment(init.comment),
    });
  }

  finish(entry: number): FamilyProgram {
    const rules: Rule[] = [];
    const chains: Chain[] = this.chains.map((c) => {
      const start = rules.length;
      for (const rule of c.rules) rules.push(rule);
      return { name: c.name, builtin: c.builtin, start, end: rules.length };
    });
    return { family: this.family, chains, rules, entry, maxDepth: deepestJump(chains, rules) };
  }
}

/** Deepest JUMP nesting of any chain; each chain's depth is computed once. Throws on a loop. */
function deepestJump(chains: readonly Chain[], rules: readonly Rule[]): number {
  const memo = new Int32Array(chains.length).fill(-1);
  const onPath = new Uint8Array(chains.length);
  let deepest = 0;
  for (let id = 0; id < chains.length; id++) deepest = Math.max(deepest, chainDepth(chains, rules, id, memo, onPath));
  return deepest;
}

/** Deepest JUMP nesting below `id`; GOTO replaces the frame so it adds none. */
function chainDepth(chains: readonly Chain[], rules: readonly Rule[], id: number, memo: Int32Array, onPath: Uint8Array): number {
  if (memo[id]! >= 0) return memo[id]!;
  if (onPath[id] === 1) throw new Error(`netsieve: iptables chain loop through ${chains[id]!.name}`);
  onPath[id] = 1;
  let depth = 0;
  const { start, end } = chains[id]!;
  for (let r = start; r < end; r++) {
    const rule = rules[r]!;
    if (rule.target === Target.JUMP) depth = Math.max(depth, 1 + chainDepth(chains, rules, rule.targetArg, memo, onPath));
    if (rule.target === Target.GOTO) depth = Math.max(depth, chainDepth(chains, rules, rule.targetArg, memo, onPath));
  }
  onPath[id] = 0;
  if (depth > MAX_JUMP_DEPTH) throw new Error(`netsieve: iptables jump depth ${depth} below ${chains[id]!.name} exceeds ${MAX_JUMP_DEPTH}`);
  memo[id] = depth;
  return depth;
}
