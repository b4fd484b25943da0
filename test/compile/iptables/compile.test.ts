/**
 * Compiler properties the golden files do not spell out: kernel name limits, multiport slot counting,
 * jump-graph validation, the dispatch's per-packet bound, the seed manifests compiling like the
 * built seed cluster, and the model order of policies and rules.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FamilyBuilder } from '../../../src/compile/iptables/builder.js';
import { compileIptables, renderIpsets, renderRules, summarize } from '../../../src/compile/iptables/index.js';
import { Target } from '../../../src/compile/iptables/ir.js';
import { CHAIN_NAME_MAX, SET_NAME_MAX, hash64 } from '../../../src/compile/iptables/names.js';
import { MULTIPORT_SLOTS, multiportChunks } from '../../../src/compile/iptables/ports.js';
import { loadCluster } from '../../../src/manifests/load.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../../src/model/evaluate.js';
import { IptablesDataplane } from '../../../src/match/iptables-dataplane.js';
import { cluster, flow, netpol, pod } from '../../support/builders.js';
import { randomScenario } from '../../support/random-cluster.js';
import { NAMED_SCENARIOS, seedCluster } from './scenarios.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('names', () => {
  it('every chain and set name of 100 random clusters is within the kernel limits and unique', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const p = compileIptables(indexCluster(randomScenario(seed, { flowsPerScenario: 0 }).cluster), DEFAULT_EVAL_OPTIONS);
      for (const fp of [p.v4, p.v6]) {
        const names = fp.chains.map((c) => c.name);
        expect(Math.max(...names.map((n) => n.length))).toBeLessThanOrEqual(CHAIN_NAME_MAX);
        expect(new Set(names).size).toBe(names.length);
      }
      const sets = p.sets.map((s) => s.name);
      expect(Math.max(0, ...sets.map((n) => n.length))).toBeLessThanOrEqual(SET_NAME_MAX);
      expect(new Set(sets).size).toBe(sets.length);
    }
  });

  it('the name hash is FNV-1a 64 (test vectors)', () => {
    expect(hash64('')).toBe('cbf29ce484222325');
    expect(hash64('a')).toBe('af63dc4c8601ec8c');
    expect(hash64('foobar')).toBe('85944171f73967e8');
  });

  it('the same input compiles to byte-identical text', () => {
    const a = compileIptables(indexCluster(randomScenario(11).cluster), DEFAULT_EVAL_OPTIONS);
    const b = compileIptables(indexCluster(randomScenario(11).cluster), DEFAULT_EVAL_OPTIONS);
    expect(renderRules(a, 4) + renderRules(a, 6) + renderIpsets(a)).toBe(renderRules(b, 4) + renderRules(b, 6) + renderIpsets(b));
  });
});

describe('ports', () => {
  it('fills at most 15 multiport slots per rule, a range taking two', () => {
    const ranges = [{ lo: 1, hi: 1 }, { lo: 10, hi: 20 }, ...Array.from({ length: 14 }, (_, i) => ({ lo: 100 + i, hi: 100 + i }))];
    const chunks = multiportChunks(ranges);
    const slots = chunks.map((c) => c.reduce((n, r) => n + (r.lo === r.hi ? 1 : 2), 0));
    expect(slots).toEqual([15, 2]);
    expect(chunks.flat()).toEqual(ranges);
    expect(Math.max(...slots)).toBeLessThanOrEqual(MULTIPORT_SLOTS);
  });
});

describe('the jump graph is validated at compile time', () => {
  it('a loop between chains is refused', () => {
    const b = new FamilyBuilder(4);
    const f = b.chain('FORWARD', true);
    const a = b.chain('A');
    const c = b.chain('C');
    b.add(f, { target: Target.JUMP, targetArg: a, comment: 'in' });
    b.add(a, { target: Target.JUMP, targetArg: c, comment: 'a->c' });
    b.add(c, { target: Target.GOTO, targetArg: a, comment: 'c->a' });
    expect(() => b.finish(f)).toThrow(/loop/);
  });

  it('compiled programs nest at most three JUMPs (FORWARD, dispatch root, policy chain)', () => {
    for (const make of Object.values(NAMED_SCENARIOS)) {
      const p = compileIptables(indexCluster(make()), DEFAULT_EVAL_OPTIONS);
      expect(Math.max(p.v4.maxDepth, p.v6.maxDepth)).toBeLessThanOrEqual(3);
    }
  });
});

describe('dispatch', () => {
  it('walks a bounded number of rules however many pods are isolated (prefix tree, not one rule per pod)', () => {
    const costOf = (n: number): number => {
      const pods = Array.from({ length: n }, (_, i) => pod(`ns/p${i}`, { labels: { app: 'x' }, ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`] }));
      const c = cluster({ pods, policies: [netpol('ns/deny', { podSelector: {} })] });
      const dp = new IptablesDataplane(indexCluster(c));
      // the last pod in address order: a linear dispatch would walk n rules to find it
      const d = dp.decideOpening(flow('192.168.0.1', `10.${((n - 1) >> 16) & 255}.${((n - 1) >> 8) & 255}.${(n - 1) & 255}`, 'TCP', 80));
      expect(d.allowed).toBe(false);
      return d.cost;
    };
    const small = costOf(20);
    const large = costOf(5000);
    expect(large).toBeLessThan(60);
    expect(large - small).toBeLessThan(40);
  });
});

describe('the seed manifests', () => {
  it('captures/seed/cluster.yaml, loaded by the manifests loader, compiles to the golden seed output', () => {
    const loaded = loadCluster([join(ROOT, 'captures/seed/cluster.yaml')]).cluster;
    const fromYaml = compileIptables(indexCluster(loaded), DEFAULT_EVAL_OPTIONS);
    const built = compileIptables(indexCluster(seedCluster()), DEFAULT_EVAL_OPTIONS);
    expect(renderRules(fromYaml, 4)).toBe(renderRules(built, 4));
    expect(renderIpsets(fromYaml)).toBe(renderIpsets(built));
    expect(summarize(fromYaml)).toEqual({ chains: { v4: 7, v6: 4 }, rules: { v4: 16, v6: 4 }, sets: 2, members: 2 });
  });
});

describe('model order', () => {
  it('when two policies and two rules accept, the first policy in model order and its first rule decide', () => {
    const c = cluster({
      pods: [pod('x/a', { labels: { app: 'a' }, ips: ['10.0.0.1'] }), pod('x/b', { labels: { app: 'b' }, ips: ['10.0.0.2'] })],
      policies: [
        netpol('x/zz-second', { podSelector: { matchLabels: { app: 'b' } }, ingress: [{}] }),
        netpol('x/aa-first', { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ ports: [{ port: 81 }] }, { ports: [{ port: 80 }] }, {}] }),
      ],
    });
    const dp = new IptablesDataplane(indexCluster(c));
    expect(dp.decideOpening(flow('10.0.0.1', '10.0.0.2', 'TCP', 80)).decidedBy).toBe('x/aa-first ingress rule 1');
    expect(dp.decideOpening(flow('10.0.0.1', '10.0.0.2', 'UDP', 80)).decidedBy).toBe('x/aa-first ingress rule 2');
  });
});
