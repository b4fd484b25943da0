/**
 * The policy maps' columnar storage and its fast build (indexed remotes, pairs per rule, templates
 * shared by endpoints with the same map): the same entries, in the same order, with the same origins,
 * as the direct per-endpoint statement in reference-entries.ts, on seeded random clusters under every
 * combination of the semantic switches; templates shared where maps are equal; the object views.
 */
import { describe, expect, it } from 'vitest';
import { columnsFromEntries, policyEntries, policyEntryAt } from '../../../src/compile/ebpf/columns.js';
import { blockMatchesAddress } from '../../../src/compile/ebpf/cidr.js';
import { compileEbpf } from '../../../src/compile/ebpf/compile.js';
import { allocateIdentities } from '../../../src/compile/ebpf/identities.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import type { EvalOptions } from '../../../src/model/evaluate.js';
import type { Cluster } from '../../../src/model/types.js';
import { ipKey } from '../../../src/model/ip.js';
import { cluster, cport, netpol, pod } from '../../support/builders.js';
import { randomScenario } from '../../support/random-cluster.js';
import { referencePolicyMaps } from './reference-entries.js';

const SEEDS = Number(process.env.NETSIEVE_EBPF_SEEDS ?? 150);

/**
 * The random clusters list pods namespace by namespace; real ones (and the benchmark tiers) interleave
 * them, so identities of one namespace are not consecutive. Half the seeds run with pods shuffled.
 */
function shuffledPods(c: Cluster, seed: number): Cluster {
  let state = seed;
  const keyed = c.pods.map((p) => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return [state, p] as const; });
  return { ...c, pods: keyed.sort((a, b) => a[0] - b[0]).map(([, p]) => p) };
}

const OPTION_SETS: readonly EvalOptions[] = [
  { ipBlockMatchesPods: true, allowLoopback: true, allowNodeTraffic: true },
  { ipBlockMatchesPods: false, allowLoopback: true, allowNodeTraffic: true },
  { ipBlockMatchesPods: true, allowLoopback: false, allowNodeTraffic: false },
];

describe('policy maps built per rule and shared per template = the direct per-endpoint build', () => {
  for (const options of OPTION_SETS) {
    it(`${SEEDS} random clusters, options ${JSON.stringify(options)}`, () => {
      let entries = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const generated = randomScenario(seed, { flowsPerScenario: 0 }).cluster;
        const index = indexCluster(seed % 2 === 0 ? shuffledPods(generated, seed) : generated);
        const program = compileEbpf(index, options);
        const expected = referencePolicyMaps(index, options);
        expect(program.entries, `seed ${seed}`).toEqual(expected.entries);
        expect(program.endpoints.map((e) => [e.ingressIsolated, e.egressIsolated, e.entries]), `seed ${seed}`).toEqual(expected.endpoints);
        entries += expected.entries.length;
      }
      expect(entries).toBeGreaterThan(SEEDS * 10);
    });
  }

  it('pod addresses carry exactly the ipBlocks that hold them (found per cidr length, not by scanning)', () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const index = indexCluster(randomScenario(seed, { flowsPerScenario: 0 }).cluster);
      const ids = allocateIdentities(index, OPTION_SETS[0]!);
      for (const pod of index.cluster.pods.filter((p) => !p.hostNetwork)) {
        for (const ip of pod.ips) {
          const expected = [...ids.blocks].filter(([, b]) => blockMatchesAddress(b, ip)).map(([k]) => `netsieve:ipblock=${k}`);
          const labels = ids.all.find((i) => i.id === ids.byPodAddress.get(ipKey(ip)))!.labels;
          expect(labels.filter((l) => l.startsWith('netsieve:ipblock=')), `seed ${seed} ${ipKey(ip)}`).toEqual(expected);
        }
      }
    }
  });
});

describe('templates: endpoints with the same map share its rows', () => {
  const replicas = cluster({
    pods: [
      pod('prod/web-0', { labels: { app: 'web' }, ips: ['10.0.0.1'], ports: [cport(8080, 'TCP', 'http')] }),
      pod('prod/web-1', { labels: { app: 'web' }, ips: ['10.0.0.2'], ports: [cport(8080, 'TCP', 'http')] }),
      pod('prod/web-2', { labels: { app: 'web' }, ips: ['10.0.0.3'], ports: [cport(9090, 'TCP', 'http')] }),
      pod('prod/db-0', { labels: { app: 'db' }, ips: ['10.0.0.4'] }),
    ],
    policies: [netpol('prod/web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 'http' }] }] })],
  });

  it('two replicas resolving the named port alike share one template; the third, resolving it otherwise, has its own', () => {
    const m = compileEbpf(indexCluster(replicas)).policyMap;
    expect(m.mapCount).toBe(3);
    expect([...m.mapEndpoint]).toEqual([1, 2, 3]); // the cluster lists db-0 first
    expect([...m.mapTemplate]).toEqual([0, 0, 1]);
    expect(m.templateStart.length - 1).toBe(2);
    // Entries stay per endpoint: 3 maps of 3 entries (web and db identities on the port, then allow-localhost).
    expect(m.count).toBe(3 * m.identity.length / 2);
  });

  it('every entry read alone equals the same entry of the full view; past the end is an error', () => {
    const program = compileEbpf(indexCluster(replicas));
    program.entries.forEach((e, i) => expect(policyEntryAt(program.policyMap, i)).toEqual(e));
    expect(program.entries.map((e) => e.port)).toEqual([8080, 8080, 0, 8080, 8080, 0, 9090, 9090, 0]);
    expect(() => policyEntryAt(program.policyMap, program.policyMap.count)).toThrow(RangeError);
  });

  it('hand-made entries round-trip through columns, one map per run of endpoint and direction', () => {
    const program = compileEbpf(indexCluster(replicas));
    const custom = program.entries.map((e, i) => ({ ...e, deny: i % 2 === 1, endpoint: i < 4 ? 3 : e.endpoint }));
    const columns = columnsFromEntries(custom);
    expect(policyEntries(columns)).toEqual(custom);
    expect(columns.mapCount).toBe(3);
  });
});
