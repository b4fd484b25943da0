/**
 * The iptables matcher: the kernel's table-walk semantics (JUMP, GOTO, RETURN, MARK, builtin policy),
 * conntrack states, counters, cost and decidedBy, ipset lookups, the per-flow Dataplane's explain
 * path, and no allocation per packet.
 */
import { describe, expect, it } from 'vitest';
import { compileIptables, renderRule } from '../../src/compile/iptables/index.js';
import { ACCEPT_MARK, Target, type FamilyProgram, type IptablesProgram, type Rule } from '../../src/compile/iptables/ir.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { ipToWords, mustParseCidr, mustParseIp, type IpAddr } from '../../src/model/ip.js';
import { classifyBatch, classifyRow, loadIptables, resetCounters } from '../../src/match/iptables.js';
import { IptablesDataplane } from '../../src/match/iptables-dataplane.js';
import { packSet, setContains } from '../../src/match/iptables-sets.js';
import { CtState, FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { flow } from '../support/builders.js';
import { randomScenario } from '../support/random-cluster.js';
import { allocatingLoop, gcCountDuring, STRAY_COLLECTIONS } from '../conntrack/support/gc-counter.js';
import { seedCluster } from '../compile/iptables/scenarios.js';

const FRONTEND = '10.244.0.3';
const BACKEND = '10.244.0.2';
const OTHER = '10.244.0.4';

function seedMatcher() {
  return loadIptables(compileIptables(indexCluster(seedCluster()), DEFAULT_EVAL_OPTIONS));
}

function row(batch: FlowBatch, i: number, src: string, dst: string, proto: number, dport: number, ct: number = CtState.NEW): void {
  setRow(batch, i, mustParseIp(src), mustParseIp(dst), proto, dport);
  batch.ctState[i] = ct;
  batch.wireLength[i] = 60 + i;
}

const BASE: Omit<Rule, 'chain' | 'target' | 'comment'> = {
  src: null, dst: null, proto: 0, dports: [], sets: [], ctstate: 0, markValue: 0, markMask: 0, targetArg: 0, targetMask: 0, source: null,
};

/** A hand-built table, to pin the walk semantics independently of the compiler. */
function handProgram(rules: readonly (Partial<Rule> & Pick<Rule, 'chain' | 'target'>)[], chains: readonly string[]): IptablesProgram {
  const sorted = rules.map((r, k) => ({ ...BASE, comment: `r${k}`, ...r })).sort((a, b) => a.chain - b.chain);
  const fp: FamilyProgram = {
    family: 4, entry: 0, maxDepth: 3, rules: sorted,
    chains: chains.map((name, id) => ({
      name, builtin: id === 0,
      start: sorted.findIndex((r) => r.chain >= id) < 0 ? sorted.length : sorted.findIndex((r) => r.chain >= id),
      end: sorted.filter((r) => r.chain <= id).length,
    })),
  };
  const empty: FamilyProgram = { family: 6, entry: 0, maxDepth: 0, rules: [], chains: [{ name: 'FORWARD', builtin: true, start: 0, end: 0 }] };
  return { v4: fp, v6: empty, sets: [] };
}

describe('the table walk follows the kernel', () => {
  it('RETURN from a chain entered by GOTO lands after the last JUMP, not after the GOTO', () => {
    // FORWARD: -j A ; -j DROP(r1)   A: -g B ; ACCEPT(unreached)   B: RETURN
    const m = loadIptables(handProgram([
      { chain: 0, target: Target.JUMP, targetArg: 1 }, { chain: 0, target: Target.DROP },
      { chain: 1, target: Target.GOTO, targetArg: 2 }, { chain: 1, target: Target.ACCEPT },
      { chain: 2, target: Target.RETURN },
    ], ['FORWARD', 'A', 'B']));
    const batch = new FlowBatch(1);
    row(batch, 0, '10.0.0.1', '10.0.0.2', 6, 80);
    classifyRow(m, batch, 0);
    expect(batch.verdict[0]).toBe(Verdict.DROP);
    expect(batch.decidedBy[0]).toBe(1);
    expect(batch.cost[0]).toBe(4); // -j A, -g B, RETURN, DROP
  });

  it('falling off the end of FORWARD applies its policy (ACCEPT) and reports decidedBy -1', () => {
    const m = loadIptables(handProgram([{ chain: 0, target: Target.JUMP, targetArg: 1 }, { chain: 1, target: Target.RETURN }], ['FORWARD', 'A']));
    const batch = new FlowBatch(1);
    row(batch, 0, '10.0.0.1', '10.0.0.2', 17, 53);
    classifyRow(m, batch, 0);
    expect([batch.verdict[0], batch.decidedBy[0], batch.cost[0]]).toEqual([Verdict.ACCEPT, -1, 2]);
  });

  it('MARK edits the mark with --set-xmark semantics and a later mark match sees it', () => {
    const m = loadIptables(handProgram([
      { chain: 0, target: Target.MARK, targetArg: ACCEPT_MARK, targetMask: ACCEPT_MARK },
      { chain: 0, target: Target.DROP, markValue: 0, markMask: ACCEPT_MARK },
      { chain: 0, target: Target.MARK, targetArg: 0, targetMask: ACCEPT_MARK },
      { chain: 0, target: Target.ACCEPT, markValue: 0, markMask: ACCEPT_MARK },
    ], ['FORWARD']));
    const batch = new FlowBatch(1);
    row(batch, 0, '10.0.0.1', '10.0.0.2', 6, 80);
    classifyRow(m, batch, 0);
    expect(batch.verdict[0]).toBe(Verdict.ACCEPT);
    expect(batch.cost[0]).toBe(4);
  });
});

describe('the compiled seed scenario', () => {
  it('accepts frontend -> backend TCP 80 by the policy rule and drops other -> backend', () => {
    const m = seedMatcher();
    const batch = new FlowBatch(4);
    row(batch, 0, FRONTEND, BACKEND, 6, 80);
    row(batch, 1, OTHER, BACKEND, 6, 80);
    row(batch, 2, FRONTEND, BACKEND, 6, 81);
    row(batch, 3, BACKEND, OTHER, 6, 80);
    classifyBatch(m, batch);
    expect(Array.from(batch.verdict.subarray(0, 4))).toEqual([Verdict.ACCEPT, Verdict.DROP, Verdict.DROP, Verdict.ACCEPT]);
    expect(m.program.v4.rules[batch.decidedBy[0]!]!.comment).toBe('default/backend-allow-frontend ingress rule 0');
    expect(m.program.v4.rules[batch.decidedBy[1]!]!.comment).toBe('default/backend-0 ingress: isolated and no policy accepts');
    expect(m.program.v4.rules[batch.decidedBy[3]!]!.comment).toBe('no isolated pod refused it');
  });

  it('accepts ESTABLISHED and RELATED after two rules and drops INVALID after three, before any policy', () => {
    const m = seedMatcher();
    const batch = new FlowBatch(4);
    row(batch, 0, OTHER, BACKEND, 6, 80, CtState.ESTABLISHED);
    row(batch, 1, OTHER, BACKEND, 1, 0, CtState.RELATED);
    row(batch, 2, FRONTEND, BACKEND, 6, 80, CtState.INVALID);
    row(batch, 3, OTHER, BACKEND, 6, 80, CtState.UNTRACKED);
    classifyBatch(m, batch);
    expect(Array.from(batch.verdict.subarray(0, 4))).toEqual([Verdict.ACCEPT, Verdict.ACCEPT, Verdict.DROP, Verdict.DROP]);
    expect(Array.from(batch.cost.subarray(0, 3))).toEqual([2, 2, 3]);
  });

  it('gives non-IP rows no verdict and no cost', () => {
    const m = seedMatcher();
    const batch = new FlowBatch(1);
    batch.count = 1;
    batch.family[0] = 0;
    classifyRow(m, batch, 0);
    expect([batch.verdict[0], batch.cost[0], batch.decidedBy[0]]).toEqual([Verdict.NONE, 0, -1]);
  });

  it('counts packets and bytes per matched rule, like iptables -L -v', () => {
    const m = seedMatcher();
    const batch = new FlowBatch(3);
    row(batch, 0, FRONTEND, BACKEND, 6, 80);
    row(batch, 1, FRONTEND, BACKEND, 6, 80);
    row(batch, 2, OTHER, BACKEND, 6, 80);
    classifyBatch(m, batch);
    const rules = m.program.v4.rules;
    const at = (comment: string) => rules.findIndex((r) => r.comment === comment);
    expect(m.v4.packets[0]).toBe(3); // FORWARD -j NS-FORWARD
    expect(m.v4.bytes[0]).toBe(60 + 61 + 62);
    expect(m.v4.packets[at('default/backend-allow-frontend ingress rule 0')]).toBe(2);
    expect(m.v4.bytes[at('default/backend-allow-frontend ingress rule 0')]).toBe(60 + 61);
    expect(m.v4.packets[at('default/backend-0 ingress: isolated and no policy accepts')]).toBe(1);
    resetCounters(m);
    expect(m.v4.packets.every((n) => n === 0)).toBe(true);
  });
});

describe('ipset lookups', () => {
  const net = (t: string, nomatch = false) => ({ kind: 'net' as const, cidr: mustParseCidr(t), nomatch });
  const words = (t: string) => { const w = new Uint32Array(4); ipToWords(mustParseIp(t), w, 0); return w; };

  it('hash:net decides by the most specific prefix, and a nomatch hit means "not in the set"', () => {
    const s = packSet({ name: 'x', family: 4, type: 'hash:net', purpose: '', entries: [net('10.0.0.0/8'), net('10.1.0.0/16', true), net('10.1.2.0/24')] });
    const scratch = new Uint32Array(4);
    const has = (ip: string) => setContains(s, words(ip), 0, 0, 0, scratch);
    expect([has('10.9.9.9'), has('10.1.9.9'), has('10.1.2.3'), has('11.0.0.1')]).toEqual([true, false, true, false]);
  });

  it('hash:ip,port needs address, protocol and port to agree', () => {
    const s = packSet({ name: 'n', family: 6, type: 'hash:ip,port', purpose: '', entries: [{ kind: 'ipport', cidr: mustParseCidr('fd00::1/128'), proto: 6, port: 8080 }] });
    const scratch = new Uint32Array(4);
    expect(setContains(s, words('fd00::1'), 0, 6, 8080, scratch)).toBe(true);
    expect(setContains(s, words('fd00::1'), 0, 17, 8080, scratch)).toBe(false);
    expect(setContains(s, words('fd00::1'), 0, 6, 8081, scratch)).toBe(false);
    expect(setContains(s, words('fd00::2'), 0, 6, 8080, scratch)).toBe(false);
  });
});

describe('IptablesDataplane (probe and explain)', () => {
  it('decides the opening packet and lists every rule walked with whether it matched', () => {
    const dp = new IptablesDataplane(indexCluster(seedCluster()));
    const ok = dp.decideOpening(flow(FRONTEND, BACKEND, 'TCP', 80));
    expect(ok.allowed).toBe(true);
    expect(ok.decidedBy).toBe('default/backend-allow-frontend ingress rule 0');
    expect(ok.path.length).toBe(ok.cost);
    expect(ok.path.some((l) => l.includes('MATCH') && l.includes('--comment "default/backend-allow-frontend ingress rule 0"'))).toBe(true);
    const denied = dp.decideOpening(flow(OTHER, BACKEND, 'TCP', 80));
    expect(denied.allowed).toBe(false);
    expect(denied.path[denied.path.length - 1]).toMatch(/MATCH .*-j DROP$/);
  });

  it('renders the rule text of what it walked from the IR', () => {
    const m = seedMatcher();
    expect(renderRule(m.program, m.program.v4, 0)).toBe('-A FORWARD -m comment --comment "netsieve: NetworkPolicy for forwarded pod traffic" -j NS-FORWARD');
  });
});

describe('no allocation per packet', () => {
  it('classifying 600,000 rows triggers no garbage collection (an allocating loop does)', async () => {
    // One small object per row would fill V8's young generation (a few MB) many times over in 2,000,000 rows.
    const scenario = randomScenario(7, { flowsPerScenario: 1000 });
    const m = loadIptables(compileIptables(indexCluster(scenario.cluster), DEFAULT_EVAL_OPTIONS));
    const batch = new FlowBatch(1000);
    scenario.flows.forEach((f, i) => { setRow(batch, i, f.src, f.dst, f.protocol, f.dstPort); });
    const loop = (): void => { for (let r = 0; r < 2000; r++) classifyBatch(m, batch); };
    for (let r = 0; r < 3; r++) loop(); // warm-up: optimising the loop allocates
    expect(batch.cost.subarray(0, 1000).reduce((a, b) => a + b, 0)).toBeGreaterThan(5000);
    expect(await gcCountDuring(loop)).toBeLessThanOrEqual(STRAY_COLLECTIONS);
    expect(await gcCountDuring(() => allocatingLoop(2_000_000))).toBeGreaterThan(STRAY_COLLECTIONS);
  });
});

function setRow(b: FlowBatch, i: number, src: IpAddr, dst: IpAddr, proto: number, dport: number): void {
  b.family[i] = src.family;
  ipToWords(src, b.src, i * 4);
  ipToWords(dst, b.dst, i * 4);
  b.proto[i] = proto;
  b.srcPort[i] = 40000;
  b.dstPort[i] = dport;
  b.ctState[i] = CtState.NEW;
  b.wireLength[i] = 100;
  b.count = Math.max(b.count, i + 1);
}
