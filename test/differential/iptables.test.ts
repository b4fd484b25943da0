/**
 * Differential: the iptables model (compiled chains and ipsets, walked by the typed-array matcher over
 * a FlowBatch) decides every opening packet as the reference evaluator does, on seeded random clusters,
 * IPv4 and IPv6, under every combination of the semantic switches; and when a policy accepts, the rule
 * that set the accept mark is the one the reference names first. A failure is shrunk and printed with
 * its seed. NETSIEVE_IPTABLES_SEEDS sets the number of clusters (default 200).
 */
import { describe, expect, it } from 'vitest';
import { indexCluster } from '../../src/model/cluster-index.js';
import { evaluate, type Decision, type EvalOptions, type Flow } from '../../src/model/evaluate.js';
import type { Cluster } from '../../src/model/types.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { classifyBatch, familyOf, loadIptables, type IptablesMatcher } from '../../src/match/iptables.js';
import { IptablesDataplane } from '../../src/match/iptables-dataplane.js';
import { ipToWords } from '../../src/model/ip.js';
import { CtState, FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { randomScenario } from '../support/random-cluster.js';
import { formatReproduction, shrinkScenario } from '../support/shrink.js';

const SEEDS = Number(process.env['NETSIEVE_IPTABLES_SEEDS'] ?? 200);
const FLOWS = 1000;

const OPTION_SETS: readonly EvalOptions[] = [
  { ipBlockMatchesPods: true, allowLoopback: true, allowNodeTraffic: true },
  { ipBlockMatchesPods: false, allowLoopback: true, allowNodeTraffic: true },
  { ipBlockMatchesPods: true, allowLoopback: false, allowNodeTraffic: false },
  { ipBlockMatchesPods: false, allowLoopback: false, allowNodeTraffic: false },
];

/** The comment of the rule the reference names, or null when no policy rule decided. */
function expectedRule(d: Decision): string | null {
  if (!d.allowed) return null;
  const by = d.ingress.allowedBy[0] ?? d.egress.allowedBy[0];
  return by ? `${by.policy} ${by.direction} rule ${by.rule}` : null;
}

function fill(batch: FlowBatch, flows: readonly Flow[]): void {
  batch.count = flows.length;
  flows.forEach((f, i) => {
    batch.family[i] = f.src.family;
    ipToWords(f.src, batch.src, i * 4);
    ipToWords(f.dst, batch.dst, i * 4);
    batch.proto[i] = f.protocol;
    batch.srcPort[i] = 40000 + (i % 20000);
    batch.dstPort[i] = f.dstPort;
    batch.ctState[i] = CtState.NEW;
    batch.wireLength[i] = 100;
  });
}

/** What the matcher said for row i, in the reference's terms. */
function actual(m: IptablesMatcher, batch: FlowBatch, i: number): { allowed: boolean; rule: string | null } {
  const allowed = batch.verdict[i] === Verdict.ACCEPT;
  const r = batch.decidedBy[i]!;
  const rule = r < 0 ? null : familyOf(m, batch.family[i] as 4 | 6).program.rules[r]!;
  return { allowed, rule: allowed && rule?.source ? rule.comment : null };
}

function disagrees(cluster: Cluster, flow: Flow, options: EvalOptions): boolean {
  const index = indexCluster(cluster);
  const m = loadIptables(compileIptables(index, options));
  const batch = new FlowBatch(1);
  fill(batch, [flow]);
  classifyBatch(m, batch);
  const got = actual(m, batch, 0);
  const want = evaluate(index, flow, options);
  return got.allowed !== want.allowed || got.rule !== expectedRule(want);
}

const batch = new FlowBatch(FLOWS);

function firstDisagreement(seed: number, options: EvalOptions): string | null {
  const scenario = randomScenario(seed, { flowsPerScenario: FLOWS });
  const index = indexCluster(scenario.cluster);
  const m = loadIptables(compileIptables(index, options));
  fill(batch, scenario.flows);
  classifyBatch(m, batch);
  for (let i = 0; i < scenario.flows.length; i++) {
    const want = evaluate(index, scenario.flows[i]!, options);
    const got = actual(m, batch, i);
    if (got.allowed === want.allowed && got.rule === expectedRule(want)) continue;
    const flow = scenario.flows[i]!;
    const shrunk = shrinkScenario(scenario.cluster, flow, (c, f) => disagrees(c, f, options));
    const again = new IptablesDataplane(indexCluster(shrunk.cluster), options).decideOpening(flow);
    const wantShrunk = evaluate(indexCluster(shrunk.cluster), flow, options);
    return `seed ${seed} options ${JSON.stringify(options)}\n${formatReproduction(shrunk.cluster, flow, seed)}\n` +
      `reference: allowed=${wantShrunk.allowed} rule=${expectedRule(wantShrunk)}\n` +
      `iptables: allowed=${again.allowed} decidedBy=${again.decidedBy}\n  ${again.path.join('\n  ')}`;
  }
  return null;
}

describe('the iptables model agrees with the reference evaluator', () => {
  OPTION_SETS.forEach((options, k) => {
    // The default options get every seed; the other switch combinations a quarter each.
    const count = k === 0 ? SEEDS : Math.ceil(SEEDS / 4);
    it(`on ${count} random clusters x ${FLOWS} flows with ${JSON.stringify(options)}`, () => {
      let checked = 0;
      for (let seed = 1; seed <= count; seed++) {
        const failure = firstDisagreement(seed + k * 100_000, options);
        expect(failure, failure ?? '').toBeNull();
        checked += FLOWS;
      }
      expect(checked).toBe(count * FLOWS);
    });
  });
});
