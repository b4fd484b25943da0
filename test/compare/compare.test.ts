/**
 * The comparison core in process: the disagreement count really counts (a model sabotaged on one
 * packet is caught), both engines agree when the addon is loaded, and the sweep grows the policy set.
 */
import { describe, expect, test } from 'vitest';
import { compareModels } from '../../src/compare/compare.js';
import { compileModel, countDisagreements, timePasses, type CompiledModel } from '../../src/compare/models.js';
import { sweep } from '../../src/compare/sweep.js';
import { decodeCaptures, synthTraffic } from '../../src/compare/traffic.js';
import { loadCluster } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { nativeAddon } from '../../src/native/load.js';
import { buildCompareJson, compareFailure } from '../../src/report/compare-report.js';
import { Verdict } from '../../src/wire/flow-batch.js';

const index = indexCluster(loadCluster(['captures/seed/cluster.yaml']).cluster);
const fast = { minSeconds: 0 };

describe('compare core', () => {
  test('a model that flips one verdict is counted as one disagreement', () => {
    const traffic = decodeCaptures(['captures/seed/seed.pcap'], index);
    const good = compileModel('ebpf', index, DEFAULT_EVAL_OPTIONS);
    const flipped: CompiledModel = {
      ...good,
      classify: (b, i) => {
        good.classify(b, i);
        if (b.recordIndex[i] === 10) b.verdict[i] = b.verdict[i] === Verdict.ACCEPT ? Verdict.DROP : Verdict.ACCEPT;
      },
    };
    const a = timePasses(good, traffic, { engine: 'js', ...fast });
    const b = timePasses(flipped, traffic, { engine: 'js', ...fast });
    expect(countDisagreements(a.verdicts, b.verdicts)).toBe(1);
    expect(a.verdicts[0]).toBe(Verdict.NONE); // record 0 is ARP: no verdict
  });

  test('both models agree on synthetic traffic; costs are counted per packet and per opening', () => {
    const traffic = synthTraffic(index, 5000, 7, { kind: 'fixed', bytes: 64 }, DEFAULT_EVAL_OPTIONS);
    const c = compareModels(index, DEFAULT_EVAL_OPTIONS, traffic, { addon: null, minSeconds: 0 });
    expect(c.disagreements).toBe(0);
    expect(c.packets).toBe(5000);
    const ipt = c.models.iptables.js;
    // Every opening packet walks at least the conntrack rules; established ones walk fewer than openings.
    expect(ipt.costPerNewPacket).toBeGreaterThan(ipt.costPerPacket);
    expect(c.models.ebpf.js.newPackets).toBe(ipt.newPackets);
    expect(c.nativeNote).toBe('native addon not loaded');
  });

  test('native and TypeScript engines give the same verdicts (skipped when the addon is not loaded)', (ctx) => {
    const load = nativeAddon();
    if (load.addon === null) {
      console.log(`native comparison skipped: ${load.reason}`);
      ctx.skip();
      return;
    }
    const traffic = synthTraffic(index, 5000, 3, { kind: 'fixed', bytes: 64 }, DEFAULT_EVAL_OPTIONS);
    const c = compareModels(index, DEFAULT_EVAL_OPTIONS, traffic, { addon: load.addon, minSeconds: 0 });
    expect(c.engineDisagreements).toEqual({ iptables: 0, ebpf: 0 });
    expect(c.models.ebpf.native!.costPerNewPacket).toBeCloseTo(c.models.ebpf.js.costPerNewPacket, 6);
  });

  test('the sweep regenerates growing policy sets and both models agree at every size', () => {
    const points = sweep(DEFAULT_EVAL_OPTIONS, { sizes: [4, 40], pods: 80, namespaces: 4, packets: 2000, seed: 1, minSeconds: 0 });
    expect(points.map((p) => p.policies)).toEqual([4, 40]);
    expect(points.map((p) => p.disagreements)).toEqual([0, 0]);
    expect(points[1]!.models.iptables.size).toBeGreaterThan(points[0]!.models.iptables.size);
    expect(points[1]!.models.ebpf.size).toBeGreaterThan(points[0]!.models.ebpf.size);
    for (const p of points) expect([p.models.iptables.costPerNewPacket, p.models.ebpf.classifyNsPerPacket].every((v) => v > 0)).toBe(true);
    expect(points.every((p) => p.models.iptables.native === null && p.models.ebpf.native === null)).toBe(true);
  });

  test('with the addon, the sweep times each size on the native engine too, with the same verdicts', (ctx) => {
    const { addon } = nativeAddon();
    if (addon === null) {
      ctx.skip();
      return;
    }
    const points = sweep(DEFAULT_EVAL_OPTIONS, { sizes: [4, 40], pods: 80, namespaces: 4, packets: 2000, seed: 1, minSeconds: 0, addon });
    for (const p of points) {
      for (const m of [p.models.iptables, p.models.ebpf]) {
        expect(m.native!.engineDisagreements).toBe(0);
        expect(m.native!.pps).toBeGreaterThan(0);
        expect(m.native!.nsPerPacket).toBeCloseTo(1e9 / m.native!.pps, 6);
      }
    }
  });

  test('compare fails (exit 1) on any disagreement of the models or of the engines, at the top or in the sweep', () => {
    const traffic = synthTraffic(index, 2000, 3, { kind: 'fixed', bytes: 64 }, DEFAULT_EVAL_OPTIONS);
    const c = compareModels(index, DEFAULT_EVAL_OPTIONS, traffic, { addon: null, minSeconds: 0 });
    const points = sweep(DEFAULT_EVAL_OPTIONS, { sizes: [4], pods: 40, namespaces: 2, packets: 500, seed: 1, minSeconds: 0 });
    const machine = { node: '', v8: '', cpu: '', cores: 2 };
    const doc = buildCompareJson(c, { captures: [], synth: 2000, exchanges: 1, damage: null, sweep: points, machine });
    expect(compareFailure(doc)).toBeNull();
    const models = { ...doc, agreement: { ...doc.agreement, disagreements: 3 } };
    expect(compareFailure(models)).toMatch(/^3 records on which the models disagree and 0 /);
    const engines = { ...doc, agreement: { ...doc.agreement, engineDisagreements: { iptables: 1, ebpf: 0 } } };
    expect(compareFailure(engines)).toMatch(/^0 records .* and 1 on which the native and TypeScript engines disagree/);
    const p = points[0]!;
    const native = { nsPerPacket: 1, pps: 1e9, engineDisagreements: 2 };
    const inSweep = { ...doc, sweep: [{ ...p, models: { ...p.models, ebpf: { ...p.models.ebpf, native } } }] };
    expect(compareFailure(inSweep)).toMatch(/and 2 on which the native and TypeScript engines disagree/);
    expect(compareFailure({ ...doc, sweep: [{ ...p, disagreements: 5 }] })).toMatch(/^5 records on which the models disagree/);
  });
});
