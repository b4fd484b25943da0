/**
 * The iptables matcher: walks the compiled rule array (the IR the renderer printed, packed into typed
 * arrays, never re-parsed text) for rows of a FlowBatch, as the kernel's ipt_do_table walks its
 * table: rules of a chain in order, JUMP pushes a return point, GOTO does not, RETURN pops (in a
 * builtin chain it applies the chain's policy), ACCEPT and DROP end the walk, MARK edits the packet
 * mark and continues. Per-rule packet and byte counters as `iptables -L -v` shows them.
 *
 * Outputs per row: verdict, cost (rules evaluated), decidedBy: the policy rule that last set the accept
 * mark when the packet is accepted after one did (the ingress rule when both directions are isolated,
 * which is the rule the reference evaluator names), otherwise the rule whose ACCEPT/DROP ended the walk,
 * -1 when a builtin chain's policy did. Nothing here allocates per row.
 */
import { Verdict, type FlowBatch } from '../wire/flow-batch.js';
import { ACCEPT_MARK, Target, type FamilyProgram, type IptablesProgram } from '../compile/iptables/ir.js';
import { packSet, setContains, type PackedSet } from './iptables-sets.js';
import { packFamily, type PackedFamily } from './iptables-pack.js';
import type { TableSupport } from './hash-table.js';

export interface IptablesMatcher {
  readonly program: IptablesProgram;
  readonly v4: PackedFamily;
  readonly v6: PackedFamily;
  readonly sets: readonly PackedSet[];
  readonly stackPc: Int32Array;
  readonly stackEnd: Int32Array;
  readonly scratch: Uint32Array;
  /** When set, each rule evaluated is appended as `rule * 2 + matched` (for explain); null on the hot path. */
  trace: Int32Array | null;
  traceLength: number;
}

/**
 * Packs a compiled program for matching; counters start at zero. `tables`: on the native engine,
 * src/native/load.ts nativeTables (the rule counters in its sparse memory, iptables-pack.ts ruleCounters).
 */
export function loadIptables(program: IptablesProgram, tables: TableSupport = {}): IptablesMatcher {
  const depth = Math.max(program.v4.maxDepth, program.v6.maxDepth) + 1;
  return {
    program, v4: packFamily(program.v4, tables.allocateSparse), v6: packFamily(program.v6, tables.allocateSparse), sets: program.sets.map(packSet),
    stackPc: new Int32Array(depth), stackEnd: new Int32Array(depth), scratch: new Uint32Array(4),
    trace: null, traceLength: 0,
  };
}

export function classifyBatch(m: IptablesMatcher, batch: FlowBatch): void {
  for (let i = 0; i < batch.count; i++) classifyRow(m, batch, i);
}

export function classifyRow(m: IptablesMatcher, batch: FlowBatch, i: number): void {
  const family = batch.family[i];
  if (family !== 4 && family !== 6) {
    batch.verdict[i] = Verdict.NONE;
    batch.cost[i] = 0;
    batch.decidedBy[i] = -1;
    return;
  }
  walk(m, family === 4 ? m.v4 : m.v6, batch, i);
}

/** The table walk; the one hot loop (kept whole so V8 keeps every local in a register). */
function walk(m: IptablesMatcher, f: PackedFamily, batch: FlowBatch, i: number): void {
  let pc = f.chainStart[f.entry]!;
  let end = f.chainEnd[f.entry]!;
  let sp = 0;
  let mark = 0;
  let cost = 0;
  let accepted = -1;
  let verdict: number = Verdict.ACCEPT; // builtin chain policy (every builtin chain is ACCEPT)
  let decided = -1;
  for (;;) {
    if (pc >= end) {
      if (sp === 0) break; // fell off a builtin chain: its policy
      sp--;
      pc = m.stackPc[sp]!;
      end = m.stackEnd[sp]!;
      continue;
    }
    cost++;
    const matched = ruleMatches(m, f, pc, batch, i, mark);
    if (m.trace !== null && m.traceLength < m.trace.length) m.trace[m.traceLength++] = pc * 2 + (matched ? 1 : 0);
    if (!matched) { pc++; continue; }
    f.packets[pc]! += 1;
    f.bytes[pc]! += batch.wireLength[i]!;
    const target = f.target[pc]!;
    if (target === Target.ACCEPT) { verdict = Verdict.ACCEPT; decided = accepted >= 0 ? accepted : pc; break; }
    if (target === Target.DROP) { verdict = Verdict.DROP; decided = pc; break; }
    if (target === Target.MARK) {
      if ((mark & ACCEPT_MARK) === 0 && (f.targetArg[pc]! & f.targetMask[pc]! & ACCEPT_MARK) !== 0) accepted = pc;
      mark = ((mark & ~f.targetMask[pc]!) ^ f.targetArg[pc]!) >>> 0;
      pc++;
    } else if (target === Target.JUMP || target === Target.GOTO) {
      if (target === Target.JUMP) {
        m.stackPc[sp] = pc + 1;
        m.stackEnd[sp] = end;
        sp++;
      }
      const chain = f.targetArg[pc]!;
      pc = f.chainStart[chain]!;
      end = f.chainEnd[chain]!;
    } else if (target === Target.RETURN) {
      pc = end; // handled at the top: pop, or the builtin policy
    } else pc++;
  }
  batch.verdict[i] = verdict;
  batch.cost[i] = cost;
  batch.decidedBy[i] = decided;
}

function ruleMatches(m: IptablesMatcher, f: PackedFamily, r: number, batch: FlowBatch, i: number, mark: number): boolean {
  const proto = batch.proto[i]!;
  if (f.proto[r] !== 0 && f.proto[r] !== proto) return false;
  if (f.ctMask[r] !== 0 && (f.ctMask[r]! & (1 << batch.ctState[i]!)) === 0) return false;
  if (f.markMask[r] !== 0 && ((mark & f.markMask[r]!) >>> 0) !== f.markValue[r]) return false;
  const off = i * 4;
  if (f.srcPrefix[r]! >= 0 && !cidrMatches(f.srcBase, f.srcMask, r * 4, batch.src, off)) return false;
  if (f.dstPrefix[r]! >= 0 && !cidrMatches(f.dstBase, f.dstMask, r * 4, batch.dst, off)) return false;
  const dport = batch.dstPort[i]!;
  const pStart = f.portStart[r]!;
  const pEnd = pStart + f.portCount[r]!;
  if (pEnd > pStart) {
    let hit = false;
    for (let p = pStart; p < pEnd && !hit; p++) hit = dport >= f.portLo[p]! && dport <= f.portHi[p]!;
    if (!hit) return false;
  }
  const sEnd = f.setStart[r]! + f.setCount[r]!;
  for (let s = f.setStart[r]!; s < sEnd; s++) {
    const addr = f.setDir[s] === 0 ? batch.src : batch.dst;
    const inSet = setContains(m.sets[f.setId[s]!]!, addr, off, proto, dport, m.scratch);
    if (inSet === (f.setNeg[s] === 1)) return false;
  }
  return true;
}

function cidrMatches(base: Uint32Array, mask: Uint32Array, k: number, addr: Uint32Array, off: number): boolean {
  return ((addr[off]! & mask[k]!) >>> 0) === base[k] && ((addr[off + 1]! & mask[k + 1]!) >>> 0) === base[k + 1] &&
    ((addr[off + 2]! & mask[k + 2]!) >>> 0) === base[k + 2] && ((addr[off + 3]! & mask[k + 3]!) >>> 0) === base[k + 3];
}

/** Zeroes every rule counter (both families). */
export function resetCounters(m: IptablesMatcher): void {
  for (const f of [m.v4, m.v6]) {
    f.packets.fill(0);
    f.bytes.fill(0);
  }
}

export function familyOf(m: IptablesMatcher, family: 4 | 6): { program: FamilyProgram; packed: PackedFamily } {
  return family === 4 ? { program: m.program.v4, packed: m.v4 } : { program: m.program.v6, packed: m.v6 };
}
