/**
 * The benchmark results as a markdown table (bench/results/latest.md, pasted into the README) and SVG
 * charts. Ratios are computed from figures measured side by side in the same run.
 */
import { nsPerPacket } from '../src/compare/models.js';
import { barChartSvg, lineChartSvg } from '../src/report/svg.js';
import type { CaptureResult } from './capture.js';
import { RUNGS } from './lib.js';
import type { ModelRun, Results, TierRun } from './run.js';

const mpps = (pps: number | null | undefined): string => (pps ? (pps / 1e6).toFixed(2) : '-');
const mib = (bytes: number): string => (bytes / 1048576).toFixed(0);

function classifyPps(m: ModelRun, engine: 'TypeScript' | 'native'): number | null {
  return m.classify.find((c) => c.name === `classify, ${engine}`)?.pps ?? null;
}

function captureSection(capture: Results['capture']): string[] {
  if (!Array.isArray(capture)) return ['', `Capture reading failed: ${capture.error}`];
  const rows = capture.flatMap((c: CaptureResult) => c.cases.map((k) => `| ${k.name} | ${c.packets} | ${mpps(k.pps)} | ±${k.rme.toFixed(1)}% |`));
  const ratios = capture.map((c) => `${c.size}: netsieve (decoding) / pcap-parser = ${c.ratio.toFixed(1)}x` +
    (c.nativeRatio ? ` (native: ${c.nativeRatio.toFixed(1)}x)` : ''));
  return ['', '### Capture reading (same file, same run)', '', '| reader | packets | Mpps | ± |', '|---|---|---|---|', ...rows, '', ratios.join('; ')];
}

function tierRows(t: TierRun): string[] {
  return t.models.map((m) => {
    const cost = m.model === 'iptables' ? `${m.costPerPacket.toFixed(1)} rules` : `${m.costPerPacket.toFixed(2)} reads`;
    const size = m.model === 'iptables' ? `${m.size['rules']} rules, ${m.size['sets']} sets, ${m.size['members']} members` : `${m.size['mapEntries']} map entries, ${m.size['ipcacheEntries']} ipcache`;
    const e = m.replay;
    const ratio = e?.threads2Ratio ?? (e?.native && e.nativeThreads2 ? e.nativeThreads2 / e.native : null);
    const machine = e?.machineThreads2 ? `; machine ${e.machineThreads2.toFixed(2)}x` : ''; // as threadsCell writes it
    const speedup = ratio ? `${ratio.toFixed(2)}x${machine}` : '-';
    return `| ${t.tier.name} | ${m.model} | ${mpps(classifyPps(m, 'TypeScript'))} | ${mpps(classifyPps(m, 'native'))} | ${cost} | ${mpps(m.replayPps)} | ` +
      `${mpps(e?.nativeStaged)} | ${mpps(m.replayNativePps)} | ${mpps(e?.nativeThreads2)} (${speedup}) | ${mpps(e?.tsPerCpu)} / ${mpps(e?.nativePerCpu)} | ` +
      `${m.compileSeconds.toFixed(2)} | ${mib(m.rssAfterCompile)} (${mib(m.rssBeforeCompile)}) | ${size} |`;
  });
}

/** bench/ladder.ts's rungs of one model, and each stage's nanoseconds a packet (the difference of neighbouring rungs). */
function ladderRow(tier: string, m: ModelRun): string | null {
  const l = m.ladder;
  if (!l) return null;
  const ns = RUNGS.map((rung) => nsPerPacket(l[rung]));
  const stages = ns.map((x, k) => (k === 0 ? x : x - ns[k - 1]!).toFixed(1));
  return `| ${tier} | ${m.model} | ${RUNGS.map((rung) => mpps(l[rung])).join(' | ')} | ${stages.join(' / ')} | ${ns[ns.length - 1]!.toFixed(1)} |`;
}

function ladderSection(r: Results): string[] {
  const rows = r.tiers.flatMap((t) => t.models.map((m) => ladderRow(t.tier.name, m))).filter((x): x is string => x !== null);
  if (!rows.length) return [];
  return [
    '### Where a native replay\'s time goes (one thread, bench/ladder.ts)', '',
    'The same capture read four ways in turns, each adding a stage to the one before, best of five each, Mpps: the record walk; walk and decode; ' +
      'then conntrack and the model; then `replay()` itself (one thread, no prefault helper: Service DNAT, the connection table and the report\'s tables added). ' +
      'Each stage\'s nanoseconds a packet is the difference of its rung and the one before (a negative one is noise).', '',
    '| tier | model | walk | + decode | + conntrack, model | replay() | ns a packet: walk / decode / conntrack, model / DNAT, connections, report | ns a packet |',
    '|---|---|---|---|---|---|---|---|',
    ...rows, '',
  ];
}

/** The two-thread cell: Mpps (speed-up over one thread; machine's). */
function threadsCell(one: number | null | undefined, two: number | null | undefined, machine: number | null | undefined): string {
  const ratio = one && two ? `${(two / one).toFixed(2)}x` : '-';
  return `${mpps(two)} (${ratio}${machine ? `; machine ${machine.toFixed(2)}x` : ''})`;
}

function flowLengthRows(t: TierRun): string[] {
  return t.models.flatMap((m) => {
    const e = m.replay, l = m.longFlows;
    if (!e || !l) return [];
    const perConnection = (x: number | undefined): string => (x ? x.toFixed(1) : '-');
    return [
      `| ${t.tier.name} | ${m.model} | 1 | ${perConnection(e.packetsPerConnection)} | ${mpps(e.ts)} | ${mpps(e.native)} | ${threadsCell(e.native, e.nativeThreads2, e.machineThreads2)} |`,
      `| ${t.tier.name} | ${m.model} | ${l.exchanges} | ${perConnection(l.packetsPerConnection)} | ${mpps(l.ts)} | ${mpps(l.native)} | ${threadsCell(l.native, l.nativeThreads2, l.machineThreads2)} |`,
    ];
  });
}

function flowLengthSection(r: Results): string[] {
  const rows = r.tiers.flatMap(flowLengthRows);
  if (!rows.length) return [];
  return [
    '### Replay by connection length (64-byte packets)', '',
    'The same cluster and seed, its traffic made with 1 and with more request/response exchanges per allowed TCP connection (`netsieve synth --exchanges`): ' +
      'each connection\'s first packet costs a policy decision and a tracker entry, its other packets a lookup. `replay()` end to end, best of three, Mpps.', '',
    '| tier | model | exchanges | packets a connection | replay TS | native fused | fused 2 threads (speed-up) |',
    '|---|---|---:|---:|---:|---:|---|',
    ...rows, '',
  ];
}

function tierNotes(t: TierRun): string {
  const r = t.restore;
  const restore = !r ? 'no iptables output to load' : r.ok
    ? `kernel load in a private namespace: ipset restore ${r.ipsetSeconds.toFixed(2)} s, iptables-restore ${r.iptablesSeconds.toFixed(2)} s, ip6tables-restore ${r.ip6tablesSeconds.toFixed(2)} s (${r.rulesLoaded} IPv4 rules loaded); netsieve compiled it in ${t.models.find((m) => m.model === 'iptables')?.compileSeconds.toFixed(2)} s`
    : `kernel load: ${r.note}`;
  const errors = t.errors.length ? `; errors: ${t.errors.join('; ')}` : '';
  const native = t.models.find((m) => m.native !== 'loaded');
  const nativeNote = native ? `; native engine skipped (${native.native})` : '';
  return `- ${t.tier.name} (${t.tier.pods} pods, ${t.tier.namespaces} namespaces, ${t.tier.policies} policies): the tier cost ${t.seconds.toFixed(0)} s to run ` +
    `(cluster generation ${t.generateSeconds.toFixed(1)} s, manifest loading ${t.models[0]?.loadSeconds.toFixed(1) ?? '-'} s per process); ${restore}${nativeNote}${errors}`;
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const lines = [
    `## Benchmarks (${r.date.slice(0, 10)})`, '',
    `Machine: ${m.cpu}, ${m.cores} cores, Node ${m.node} (V8 ${m.v8}); load average ${m.loadStart.toFixed(1)} at the start, ${m.loadEnd.toFixed(1)} at the end ` +
      '(other work on the machine slows every figure alike; compare within a row or a run).',
    ...captureSection(r.capture), '',
    '### Classification, compilation, replay (64-byte packets, one thread)', '',
    'Classify: every packet a connection opening (the policy decision alone). Replay: `replay()` end to end (read, decode, DNAT, conntrack, model, connections), best of three, packets per wall second: ' +
      'TypeScript; native staged (conntrack and the model in C per batch, the rest in TypeScript); native fused (all of it in C, the default); fused on 2 threads (speed-up over one; "machine": what two threads gave a busy loop of independent operations right before each two-thread run, native/src/calibrate.cc, median: 2x on two free cores); ' +
      'then TypeScript / native fused per CPU second (all threads of the process: the per-core figure on a shared machine). Compile s: compiling (iptables: and rendering the restore files); RSS: peak after compile (before compile).', '',
    '| tier | model | classify TS Mpps | classify native Mpps | cost per packet | replay TS Mpps | native staged | native fused | fused 2 threads | per CPU s: TS / fused | compile s | peak RSS MiB | output |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.tiers.flatMap(tierRows), '',
    ...flowLengthSection(r),
    ...ladderSection(r),
    ...r.tiers.map(tierNotes), '',
    `- ${r.threads}.`,
    `- Whole run: ${r.seconds.toFixed(0)} s.`, '',
  ];
  return `${lines.join('\n')}\n`;
}

export function renderCharts(r: Results): Record<string, string> {
  const charts: Record<string, string> = {};
  if (Array.isArray(r.capture)) {
    charts['capture.svg'] = barChartSvg('Capture reading, packets per second', 'pps', r.capture.flatMap((c) => c.cases.map((k) => ({ label: k.name.replace(/^netsieve reader, /, 'netsieve, '), value: k.pps }))));
  }
  const bars = r.tiers.flatMap((t) => t.models.flatMap((m) => [
    { label: `${t.tier.name} ${m.model} TS`, value: classifyPps(m, 'TypeScript') ?? 0 },
    ...(classifyPps(m, 'native') ? [{ label: `${t.tier.name} ${m.model} native`, value: classifyPps(m, 'native')! }] : []),
  ]));
  charts['classify.svg'] = barChartSvg('Classification, packets per second', 'pps', bars);
  const series = (model: 'iptables' | 'ebpf'): [number, number][] =>
    r.tiers.flatMap((t) => t.models.filter((m) => m.model === model).map((m) => [t.tier.policies, m.costPerPacket] as [number, number]));
  charts['cost.svg'] = lineChartSvg({
    title: 'Work per opening packet by tier', xLabel: 'policies in the tier', yLabel: 'rules walked | table reads',
    series: [{ name: 'iptables', points: series('iptables') }, { name: 'eBPF', points: series('ebpf') }], logX: true, logY: true,
  });
  charts['compile.svg'] = barChartSvg('Compile time, seconds', 's', r.tiers.flatMap((t) => [
    ...t.models.map((m) => ({ label: `${t.tier.name} ${m.model}`, value: m.compileSeconds })),
    ...(t.restore?.ok ? [{ label: `${t.tier.name} kernel restore`, value: t.restore.ipsetSeconds + t.restore.iptablesSeconds + t.restore.ip6tablesSeconds }] : []),
  ]));
  return charts;
}
