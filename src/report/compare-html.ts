/**
 * The `compare --html` report: one self-contained file (inline CSS and SVG, no script, no font, no
 * link, no URL), so it can be mailed or attached to a CI run and opened offline.
 */
import { compareRows, type CompareJson } from './compare-report.js';
import { barChartSvg, escapeXml, inlineSvg, lineChartSvg } from './svg.js';
import type { SweepModelPoint } from '../compare/sweep.js';

const STYLE = 'body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}' +
  'table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}' +
  '.ok{color:#2a7d2a}.bad{color:#b00020;font-weight:bold}';

export function renderCompareHtml(doc: CompareJson): string {
  const a = doc.agreement;
  const agree = a.disagreements === 0
    ? `<p class="ok">The two models agree on all ${a.packets} packets (${a.ipPackets} IP).</p>`
    : `<p class="bad">The models disagree on ${a.disagreements} of ${a.packets} packets.</p>`;
  const exchanges = doc.exchanges !== null && doc.exchanges !== 1 ? ` (${doc.exchanges} request/response exchanges per allowed TCP connection)` : '';
  const source = doc.synth !== null ? `${doc.synth} synthetic packets${exchanges}` : doc.captures.map(escapeXml).join(', ');
  const rows = compareRows(doc).map((r) => `<tr><th>${escapeXml(r[0])}</th><td>${escapeXml(r[1])}</td><td>${escapeXml(r[2])}</td></tr>`).join('');
  const body = [
    '<h1>netsieve compare: iptables and eBPF models</h1>',
    `<p>Traffic: ${source}. Machine: ${escapeXml(doc.machine.cpu)}, ${doc.machine.cores} cores, Node ${escapeXml(doc.machine.node)} (V8 ${escapeXml(doc.machine.v8)}).</p>`,
    agree,
    `<table><tr><th></th><th>iptables</th><th>eBPF</th></tr>${rows}</table>`,
    doc.nativeNote ? `<p>Native engine not measured: ${escapeXml(doc.nativeNote)}.</p>` : '',
    inlineSvg(barChartSvg('Throughput (packets per second)', 'pps', throughputBars(doc))),
    doc.sweep && doc.sweep.length > 0 ? sweepCharts(doc) : '',
  ];
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>netsieve compare</title><style>${STYLE}</style></head>` +
    `<body>${body.join('\n')}</body></html>\n`;
}

function throughputBars(doc: CompareJson): { label: string; value: number }[] {
  const { iptables, ebpf } = doc.models;
  const bars = [{ label: 'iptables, TypeScript', value: iptables.pps }, { label: 'eBPF, TypeScript', value: ebpf.pps }];
  if (iptables.native) bars.push({ label: 'iptables, native', value: iptables.native.pps });
  if (ebpf.native) bars.push({ label: 'eBPF, native', value: ebpf.native.pps });
  return bars;
}

/** The crossover chart (policy decision time per packet against policy count) and the cost chart (rules against probes). */
export function sweepCharts(doc: Pick<CompareJson, 'sweep'>): string {
  const points = doc.sweep ?? [];
  const line = (pick: (m: 'iptables' | 'ebpf', k: number) => number): { name: string; points: [number, number][] }[] => [
    { name: 'iptables', points: points.map((p, k) => [p.policies, pick('iptables', k)]) },
    { name: 'eBPF', points: points.map((p, k) => [p.policies, pick('ebpf', k)]) },
  ];
  const time = lineChartSvg({
    title: 'Policy decision time per packet against policy count', xLabel: 'NetworkPolicies', yLabel: 'ns per opening packet (TypeScript)',
    series: line((m, k) => points[k]!.models[m].classifyNsPerPacket), logX: true, logY: true,
  });
  const cost = lineChartSvg({
    title: 'Work per connection-opening packet', xLabel: 'NetworkPolicies', yLabel: 'rules walked | hash probes',
    series: line((m, k) => points[k]!.models[m].costPerNewPacket), logX: true, logY: true,
  });
  const ns = (v: number): string => v.toFixed(0);
  const nativeNs = (m: SweepModelPoint): string => (m.native ? ns(m.native.nsPerPacket) : '-');
  const rows = points.map((p) => `<tr><td>${p.policies}</td><td>${ns(p.models.iptables.classifyNsPerPacket)}</td><td>${ns(p.models.ebpf.classifyNsPerPacket)}</td>` +
    `<td>${ns(p.models.iptables.nsPerPacket)}</td><td>${ns(p.models.ebpf.nsPerPacket)}</td>` +
    `<td>${nativeNs(p.models.iptables)}</td><td>${nativeNs(p.models.ebpf)}</td>` +
    `<td>${p.models.iptables.costPerNewPacket.toFixed(1)}</td><td>${p.models.ebpf.costPerNewPacket.toFixed(1)}</td><td>${p.disagreements}</td></tr>`).join('');
  return `<h2>Sweep: policy count</h2>${inlineSvg(time)}${inlineSvg(cost)}` +
    '<table><tr><th>policies</th><th>iptables ns/opening</th><th>eBPF ns/opening</th><th>iptables ns/pkt, replay loop</th><th>eBPF ns/pkt, replay loop</th>' +
    '<th>iptables ns/pkt, native</th><th>eBPF ns/pkt, native</th><th>rules per opening</th><th>probes per opening</th><th>disagreements</th></tr>' +
    `${rows}</table>`;
}
