/**
 * Differential: the eBPF model (compiled identities, ipcache and policy maps, probed by the typed-array
 * matcher) decides every opening packet exactly as the reference evaluator does, on seeded random
 * clusters, IPv4 and IPv6, under every combination of the semantic switches. A failure is shrunk to a
 * minimal cluster and printed.
 */
import { describe, expect, it } from 'vitest';
import { indexCluster } from '../../src/model/cluster-index.js';
import { evaluate, type EvalOptions, type Flow } from '../../src/model/evaluate.js';
import type { Cluster } from '../../src/model/types.js';
import { EbpfDataplane } from '../../src/match/ebpf-dataplane.js';
import { randomScenario } from '../support/random-cluster.js';
import { formatReproduction, shrinkScenario } from '../support/shrink.js';

const SEEDS = Number(process.env.NETSIEVE_EBPF_SEEDS ?? 200);

const OPTION_SETS: readonly EvalOptions[] = [
  { ipBlockMatchesPods: true, allowLoopback: true, allowNodeTraffic: true },
  { ipBlockMatchesPods: false, allowLoopback: true, allowNodeTraffic: true },
  { ipBlockMatchesPods: true, allowLoopback: false, allowNodeTraffic: false },
  { ipBlockMatchesPods: false, allowLoopback: false, allowNodeTraffic: false },
];

function disagrees(cluster: Cluster, flow: Flow, options: EvalOptions): boolean {
  const index = indexCluster(cluster);
  return new EbpfDataplane(index, options).decideOpening(flow).allowed !== evaluate(index, flow, options).allowed;
}

function firstDisagreement(seed: number, options: EvalOptions): string | null {
  const scenario = randomScenario(seed);
  const index = indexCluster(scenario.cluster);
  const dp = new EbpfDataplane(index, options);
  for (const flow of scenario.flows) {
    if (dp.decideOpening(flow).allowed === evaluate(index, flow, options).allowed) continue;
    const shrunk = shrinkScenario(scenario.cluster, flow, (c, f) => disagrees(c, f, options));
    const again = new EbpfDataplane(indexCluster(shrunk.cluster), options).decideOpening(flow);
    return `options ${JSON.stringify(options)}\n${formatReproduction(shrunk.cluster, flow, seed)}\nebpf path:\n  ${again.path.join('\n  ')}`;
  }
  return null;
}

/** Seeds per `it`, so that a long local run (NETSIEVE_EBPF_SEEDS=5000) stays inside the per-test timeout. */
const CHUNK = 100;

describe('the eBPF model agrees with the reference evaluator', () => {
  OPTION_SETS.forEach((options, k) => {
    // The default options get every seed; the other switch combinations a quarter each.
    const count = k === 0 ? SEEDS : Math.ceil(SEEDS / 4);
    for (let first = 1; first <= count; first += CHUNK) {
      const last = Math.min(count, first + CHUNK - 1);
      it(`random clusters ${first}..${last} of ${count}, 1000 flows each, ${JSON.stringify(options)}`, () => {
        let flows = 0;
        for (let seed = first; seed <= last; seed++) {
          const failure = firstDisagreement(seed + k * 100_000, options);
          expect(failure, failure ?? '').toBeNull();
          flows += 1000;
        }
        expect(flows).toBe((last - first + 1) * 1000);
      });
    }
  });
});
