/**
 * The `compare` report as data: the JSON document the CLI contract names (agreement, models.iptables,
 * models.ebpf, with added fields), and its text table. Built from a Comparison; never matches anything.
 */
import type { Comparison, ModelComparison } from '../compare/compare.js';
import { nsPerPacket, type PassStats } from '../compare/models.js';
import type { SweepPoint } from '../compare/sweep.js';
import type { TrackerSummary } from '../replay/trackers.js';
import { formatNumber } from './svg.js';

export interface EngineJson {
  readonly pps: number;
  readonly nsPerPacket: number;
  readonly passes: number;
  readonly seconds: number;
}

export interface CompareJson {
  readonly captures: readonly string[];
  readonly synth: number | null;
  /** Request/response exchanges per allowed TCP connection of the synthetic traffic (--synth, --sweep); null without any. */
  readonly exchanges: number | null;
  readonly agreement: { readonly packets: number; readonly ipPackets: number; readonly disagreements: number; readonly engineDisagreements: Comparison['engineDisagreements'] };
  readonly models: {
    readonly iptables: ModelJson & { readonly rulesPerPacket: number; readonly rulesPerNewPacket: number; readonly rules: number };
    readonly ebpf: ModelJson & { readonly probesPerPacket: number; readonly probesPerNewPacket: number; readonly mapEntries: number };
  };
  readonly ratios: { readonly ppsEbpfOverIptables: number; readonly costIptablesOverEbpf: number };
  readonly engine: 'js' | 'js+native';
  readonly nativeNote: string | null;
  readonly damage: { readonly file: string; readonly offset: number; readonly reason: string } | null;
  readonly sweep: readonly SweepPoint[] | null;
  readonly machine: { readonly node: string; readonly v8: string; readonly cpu: string; readonly cores: number };
}

interface ModelJson {
  readonly pps: number;
  readonly nsPerPacket: number;
  readonly compileSeconds: number;
  readonly memoryBytes: number;
  readonly size: Readonly<Record<string, number>>;
  readonly connectionOpenings: number;
  /** The model's conntrack table over the traffic (as `replay`'s `conntrack.<model>`). */
  readonly conntrack: TrackerSummary;
  readonly native: EngineJson | null;
}

function engineJson(s: PassStats): EngineJson {
  return { pps: s.pps, nsPerPacket: nsPerPacket(s.pps), passes: s.passes, seconds: s.seconds };
}

function modelJson(m: ModelComparison): ModelJson {
  return {
    pps: m.js.pps, nsPerPacket: nsPerPacket(m.js.pps), compileSeconds: m.model.compileSeconds,
    memoryBytes: m.model.memoryBytes, size: m.model.size, connectionOpenings: m.js.newPackets, conntrack: m.js.tracker,
    native: m.native ? engineJson(m.native) : null,
  };
}

export interface CompareContext {
  readonly captures: readonly string[];
  readonly synth: number | null;
  readonly exchanges: number | null;
  readonly damage: CompareJson['damage'];
  readonly sweep: readonly SweepPoint[] | null;
  readonly machine: CompareJson['machine'];
}

export function buildCompareJson(c: Comparison, ctx: CompareContext): CompareJson {
  const ipt = c.models.iptables;
  const ebpf = c.models.ebpf;
  return {
    captures: ctx.captures, synth: ctx.synth, exchanges: ctx.exchanges,
    agreement: { packets: c.packets, ipPackets: c.ipPackets, disagreements: c.disagreements, engineDisagreements: c.engineDisagreements },
    models: {
      iptables: { ...modelJson(ipt), rulesPerPacket: ipt.js.costPerPacket, rulesPerNewPacket: ipt.js.costPerNewPacket, rules: ipt.model.size['rules']! },
      ebpf: { ...modelJson(ebpf), probesPerPacket: ebpf.js.costPerPacket, probesPerNewPacket: ebpf.js.costPerNewPacket, mapEntries: ebpf.model.size['mapEntries']! },
    },
    ratios: {
      ppsEbpfOverIptables: ipt.js.pps > 0 ? ebpf.js.pps / ipt.js.pps : 0,
      costIptablesOverEbpf: ebpf.js.costPerNewPacket > 0 ? ipt.js.costPerNewPacket / ebpf.js.costPerNewPacket : 0,
    },
    engine: c.nativeNote === null ? 'js+native' : 'js', nativeNote: c.nativeNote, damage: ctx.damage, sweep: ctx.sweep, machine: ctx.machine,
  };
}

/** The rows of the side-by-side table: [label, iptables, eBPF]. */
export function compareRows(doc: CompareJson): [string, string, string][] {
  const i = doc.models.iptables;
  const e = doc.models.ebpf;
  const pps = (m: ModelJson): string => `${formatNumber(m.pps)} (${m.nsPerPacket.toFixed(0)} ns/pkt)`;
  const native = (m: ModelJson): string => (m.native ? `${formatNumber(m.native.pps)} (${m.native.nsPerPacket.toFixed(0)} ns/pkt)` : '-');
  return [
    ['packets per second, TypeScript', pps(i), pps(e)],
    ['packets per second, native', native(i), native(e)],
    ['cost per packet (rules walked | probes)', i.rulesPerPacket.toFixed(2), e.probesPerPacket.toFixed(2)],
    ['cost per connection-opening packet', i.rulesPerNewPacket.toFixed(2), e.probesPerNewPacket.toFixed(2)],
    ['compile time', `${(i.compileSeconds * 1000).toFixed(1)} ms`, `${(e.compileSeconds * 1000).toFixed(1)} ms`],
    ['output size', `${i.rules} rules, ${i.size['sets']} sets, ${i.size['members']} members`, `${e.mapEntries} map entries, ${e.size['ipcacheEntries']} ipcache`],
    ['memory (compiled, retained)', mib(i.memoryBytes), mib(e.memoryBytes)],
    ['conntrack table: peak entries of capacity (evicted)', tracker(i.conntrack), tracker(e.conntrack)],
  ];
}

function tracker(t: ModelJson['conntrack']): string {
  return `${t.peakEntries} of ${t.capacity} (${t.evictions})`;
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

/**
 * What makes `compare` exit 1, as one message, or null: records on which the two models disagree, or on
 * which an engine (native against TypeScript) disagrees, on the compared traffic or at any sweep size.
 * Both must be none; either is a bug in a model or an engine, which a CI job driving compare should see.
 */
export function compareFailure(doc: CompareJson): string | null {
  const sweep = doc.sweep ?? [];
  const models = doc.agreement.disagreements + sweep.reduce((n, p) => n + p.disagreements, 0);
  const top = doc.agreement.engineDisagreements;
  const engines = (top ? top.iptables + top.ebpf : 0) +
    sweep.reduce((n, p) => n + (p.models.iptables.native?.engineDisagreements ?? 0) + (p.models.ebpf.native?.engineDisagreements ?? 0), 0);
  if (models === 0 && engines === 0) return null;
  return `${models} records on which the models disagree and ${engines} on which the native and TypeScript engines disagree (both must be none)`;
}

export function renderCompareTable(doc: CompareJson): string {
  const rows: [string, string, string][] = [['', 'iptables', 'eBPF'], ...compareRows(doc)];
  const w = [0, 1, 2].map((k) => Math.max(...rows.map((row) => row[k]!.length)));
  const lines = rows.map((row) => row.map((cell, k) => cell.padEnd(w[k]!)).join('  ').trimEnd());
  const a = doc.agreement;
  lines.unshift(`${a.packets} packets (${a.ipPackets} IP): ${a.disagreements} on which the models disagree`);
  if (doc.nativeNote) lines.push(`native engine not measured: ${doc.nativeNote}`);
  for (const p of doc.sweep ?? []) {
    const { iptables, ebpf } = p.models;
    const native = iptables.native && ebpf.native
      ? `; replay loop native: iptables ${iptables.native.nsPerPacket.toFixed(0)} ns/pkt, eBPF ${ebpf.native.nsPerPacket.toFixed(0)} ns/pkt` : '';
    lines.push(`sweep ${String(p.policies).padStart(6)} policies: iptables ${iptables.classifyNsPerPacket.toFixed(0)} ns/opening ` +
      `(${iptables.costPerNewPacket.toFixed(1)} rules), eBPF ${ebpf.classifyNsPerPacket.toFixed(0)} ns/opening ` +
      `(${ebpf.costPerNewPacket.toFixed(1)} probes), ${p.disagreements} disagreements${native}`);
  }
  return `${lines.join('\n')}\n`;
}
