/**
 * The benchmark report from a fixed result set: the markdown table carries every measured figure
 * (nothing hard-coded: change an input, the output changes), ratios come from the same run, and the
 * charts are SVG with one bar per measurement.
 */
import { describe, expect, test } from 'vitest';
import { renderCharts, renderMarkdown } from '../../bench/report.js';
import type { ModelRun, Results } from '../../bench/run.js';

function model(name: 'iptables' | 'ebpf', pps: number): ModelRun {
  return {
    tier: 'small', model: name, loadSeconds: 0.5, compileSeconds: name === 'iptables' ? 0.43 : 0.46, packSeconds: 0.01,
    size: name === 'iptables' ? { rules: 4116, sets: 86, members: 4711 } : { mapEntries: 2172, ipcacheEntries: 1021 },
    rssBeforeCompile: 75 * 1048576, rssAfterCompile: 83 * 1048576, packets: 1000,
    classify: [{ name: 'classify, TypeScript', pps, rme: 1 }, { name: 'classify, native', pps: pps * 3, rme: 1 }],
    costPerPacket: name === 'iptables' ? 18.4 : 4.06, replayPps: 460000, replayNativePps: 1_500_000, native: 'loaded', seconds: 10,
    replay: { ts: 460000, nativeStaged: 900000, native: 1_500_000, nativeThreads2: 2_700_000, tsPerCpu: 500000, nativePerCpu: 1_600_000 },
  };
}

function results(): Results {
  return {
    date: '2026-11-26T12:00:00.000Z',
    machine: { cpu: 'AMD EPYC', cores: 2, node: '20.20.2', v8: '11.3', loadStart: 1.5, loadEnd: 2 },
    capture: [{
      size: '64-byte', packets: 1000, bytes: 80000, ratio: 4.7, nativeRatio: 9.4,
      cases: [{ name: 'netsieve reader, decoding (64-byte)', hz: 3290, rme: 2, samples: 5, pps: 3.29e6 }, { name: 'pcap-parser, counting (64-byte)', hz: 700, rme: 2, samples: 5, pps: 0.7e6 }],
    }],
    tiers: [{
      tier: { name: 'small', pods: 1000, namespaces: 50, policies: 100 }, generateSeconds: 0.2, models: [model('iptables', 780000), model('ebpf', 1080000)],
      restore: { ok: true, note: '', ipsetSeconds: 0.71, iptablesSeconds: 0.5, ip6tablesSeconds: 0.09, rulesLoaded: 4112 }, errors: [], seconds: 28,
    }],
    threads: 'replay has no --threads option yet', seconds: 50,
  };
}

describe('benchmark report', () => {
  test('the markdown row of each model carries its measured figures', () => {
    const md = renderMarkdown(results());
    expect(md).toContain('| small | iptables | 0.78 | 2.34 | 18.4 rules | 0.46 | 0.90 | 1.50 | 2.70 (1.80x) | 0.50 / 1.60 | 0.43 | 83 (75) | 4116 rules, 86 sets, 4711 members |');
    expect(md).toContain('| small | ebpf | 1.08 | 3.24 | 4.06 reads |');
    expect(md).toContain('64-byte: netsieve (decoding) / pcap-parser = 4.7x (native: 9.4x)');
    expect(md).toContain('iptables-restore 0.50 s');
    expect(md).toContain('(4112 IPv4 rules loaded)');
    expect(md).toContain('AMD EPYC, 2 cores, Node 20.20.2');
  });

  test('the two-thread speed-up is the ratio of the medians of runs taken in turn, when the run has it', () => {
    const r = results();
    const m = r.tiers[0]!.models[0]!;
    r.tiers[0]!.models[0] = { ...m, replay: { ...m.replay!, threads2Ratio: 1.37 } };
    expect(renderMarkdown(r)).toContain('| 2.70 (1.37x) |');
    r.tiers[0]!.models[0] = { ...m, replay: { ...m.replay!, threads2Ratio: 1.37, machineThreads2: 1.42 } };
    expect(renderMarkdown(r)).toContain('| 2.70 (1.37x; machine 1.42x) |');
  });

  test('the stage ladder gives each rung in Mpps and each stage as the difference of neighbouring rungs in ns', () => {
    const r = results();
    expect(renderMarkdown(r)).not.toContain('Where a native replay');
    const m = r.tiers[0]!.models[1]!;
    // 10, 8, 2 and 1.6 Mpps: 100, 125, 500 and 625 ns a packet, so 100 / 25 / 375 / 125 ns a stage.
    r.tiers[0]!.models[1] = { ...m, ladder: { packets: 1000, walk: 10e6, decode: 8e6, track: 2e6, replay: 1.6e6 } };
    const md = renderMarkdown(r);
    expect(md).toContain('Where a native replay');
    expect(md).toContain('| small | ebpf | 10.00 | 8.00 | 2.00 | 1.60 | 100.0 / 25.0 / 375.0 / 125.0 | 625.0 |');
    expect(md).not.toContain('| small | iptables | 10.00');
  });

  test('the replays by connection length: one row for the standard traffic and one for the long flows, with their packets a connection', () => {
    const r = results();
    expect(renderMarkdown(r)).not.toContain('Replay by connection length');
    const m = r.tiers[0]!.models[1]!;
    r.tiers[0]!.models[1] = {
      ...m, replay: { ...m.replay!, packetsPerConnection: 5.33, machineThreads2: 1.9 },
      longFlows: { exchanges: 16, packetsPerConnection: 18.61, ts: 2_860_000, native: 16_280_000, nativeThreads2: 19_830_000, machineThreads2: 2.06 },
    };
    const md = renderMarkdown(r);
    expect(md).toContain('Replay by connection length');
    expect(md).toContain('| small | ebpf | 1 | 5.3 | 0.46 | 1.50 | 2.70 (1.80x; machine 1.90x) |');
    expect(md).toContain('| small | ebpf | 16 | 18.6 | 2.86 | 16.28 | 19.83 (1.22x; machine 2.06x) |');
    // The model run without long-flow figures has no rows there.
    expect(md).not.toContain('| small | iptables | 1 |');
  });

  test('a changed measurement changes the table (nothing is hard-coded)', () => {
    const r = results();
    const m = r.tiers[0]!.models[0]!;
    r.tiers[0]!.models[0] = { ...m, classify: [{ name: 'classify, TypeScript', pps: 12_340_000, rme: 1 }] };
    expect(renderMarkdown(r)).toContain('| small | iptables | 12.34 | - |');
  });

  test('a run without native replay figures shows dashes, not zeros or a speed-up', () => {
    const r = results();
    const m = r.tiers[0]!.models[0]!;
    r.tiers[0]!.models[0] = { ...m, replayNativePps: null, replay: { ...m.replay!, nativeStaged: null, native: null, nativeThreads2: null, nativePerCpu: null } };
    expect(renderMarkdown(r)).toContain('| 18.4 rules | 0.46 | - | - | - (-) | 0.50 / - | 0.43 |');
  });

  test('a failed kernel load and a failed model are reported, not hidden', () => {
    const r = results();
    r.tiers[0] = { ...r.tiers[0]!, restore: { ok: false, note: 'not root: unshare -n needs root', ipsetSeconds: 0, iptablesSeconds: 0, ip6tablesSeconds: 0, rulesLoaded: 0 }, errors: ['ebpf: exit 134: out of memory'] };
    const md = renderMarkdown(r);
    expect(md).toContain('kernel load: not root');
    expect(md).toContain('errors: ebpf: exit 134: out of memory');
  });

  test('a run without the addon says the native engine was skipped and why', () => {
    const r = results();
    const m = r.tiers[0]!.models[1]!;
    r.tiers[0]!.models[1] = { ...m, native: 'not loaded: NETSIEVE_NATIVE=off', classify: [m.classify[0]!] };
    expect(renderMarkdown(r)).toContain('native engine skipped (not loaded: NETSIEVE_NATIVE=off)');
    expect(renderMarkdown(results())).not.toContain('skipped');
  });

  test('charts: one bar per classification measurement, capture and compile charts, cost lines', () => {
    const charts = renderCharts(results());
    expect(Object.keys(charts).sort()).toEqual(['capture.svg', 'classify.svg', 'compile.svg', 'cost.svg']);
    expect(charts['classify.svg']!.match(/<rect x="230"/g)).toHaveLength(4);
    expect(charts['compile.svg']).toContain('small kernel restore');
    for (const svg of Object.values(charts)) expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>.*<\/svg>\n$/s);
  });
});
