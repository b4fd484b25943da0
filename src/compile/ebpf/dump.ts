/**
 * Renderings of a compiled eBPF program: a JSON document (the EbpfProgram with hit counters folded into
 * each entry) and text tables in the spirit of `cilium identity list`, `cilium bpf ipcache list` and
 * `cilium bpf policy get` (one block per endpoint: verdict, direction, identity, its labels one per line,
 * port/proto, packets, prefix length, and the rule the entry came from).
 *
 * The policy map can hold millions of entries (5M at the real tier, 141M at the stress tier): the
 * `stream*` forms hand the text to a sink in chunks, building one entry's object at a time, so that
 * neither every entry as an object nor the whole text is ever held; the `render*` forms and `toJson`
 * are for small programs (tests, the golden files).
 */
import type { ChunkSink } from '../text.js';
import { forEachEntryOfMap } from './columns.js';
import type { EbpfProgram, PolicyEntry } from './program.js';

export interface EbpfJson {
  readonly model: 'ebpf';
  readonly probeSequence: string;
  readonly options: EbpfProgram['options'];
  readonly identities: EbpfProgram['identities'];
  readonly ipcache: EbpfProgram['ipcache'];
  readonly nodes: EbpfProgram['nodes'];
  readonly endpoints: EbpfProgram['endpoints'];
  readonly entries: readonly (PolicyEntry & { readonly packets: number })[];
  readonly warnings: EbpfProgram['warnings'];
}

/** The whole document as objects, every entry built: for small programs (streamJson writes any size). */
export function toJson(program: EbpfProgram, hits?: ArrayLike<number>): EbpfJson {
  return { ...toJsonHead(program), entries: program.entries.map((e) => withPackets(e, hits)), warnings: program.warnings };
}

/** The entry as the dumps show it: its fields, then the packets that hit it. */
function withPackets(e: PolicyEntry, hits?: ArrayLike<number>): PolicyEntry & { readonly packets: number } {
  return { ...e, packets: hits ? hits[e.index] ?? 0 : 0 };
}

/**
 * The document `toJson` gives, streamed: pretty (two-space indents, one entry per line) or compact (as
 * JSON.stringify without indents). Written around a marker in place of the entries, so that every
 * other field is JSON.stringify's own.
 */
export function streamJson(program: EbpfProgram, hits: ArrayLike<number> | undefined, sink: ChunkSink, pretty = true): void {
  const marker = JSON.stringify('\u0000entries\u0000');
  const doc: Record<keyof EbpfJson, unknown> = { ...toJsonHead(program), entries: JSON.parse(marker), warnings: program.warnings };
  const text = pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc);
  const at = text.indexOf(marker);
  sink(text.slice(0, at));
  const c = program.policyMap;
  const [first, between, close] = pretty ? ['[\n    ', ',\n    ', '\n  ]'] : ['[', ',', ']'];
  const pieces = new Pieces(sink);
  let written = 0;
  for (let m = 0; m < c.mapCount; m++) {
    forEachEntryOfMap(c, m, (e) => pieces.add(written++ === 0 ? first : between, JSON.stringify(withPackets(e, hits))));
  }
  pieces.end();
  sink(written === 0 ? '[]' : close);
  sink(text.slice(at + marker.length));
}

/** Strings handed to a sink joined a few thousand at a time (see ../text.ts for why not one by one, nor all at once). */
class Pieces {
  private readonly pending: string[] = [];
  constructor(private readonly sink: ChunkSink) {}

  add(a: string, b: string): void {
    this.pending.push(a, b);
    if (this.pending.length >= 4096) this.end();
  }

  end(): void {
    if (this.pending.length === 0) return;
    this.sink(this.pending.join(''));
    this.pending.length = 0;
  }
}

function toJsonHead(program: EbpfProgram): Omit<EbpfJson, 'entries' | 'warnings'> {
  return {
    model: 'ebpf', probeSequence: program.probeSequence, options: program.options, identities: program.identities,
    ipcache: program.ipcache, nodes: program.nodes, endpoints: program.endpoints,
  };
}

function table(rows: readonly (readonly string[])[]): string {
  // A loop, not Math.max(...column): an endpoint's table can have more rows than a call has arguments.
  const widths = rows[0]!.map((_, c) => {
    let most = 0;
    for (const r of rows) most = Math.max(most, (r[c] ?? '').length);
    return most;
  });
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('   ').trimEnd()).join('\n');
}

export function renderIdentities(program: EbpfProgram): string {
  const rows: string[][] = [['ID', 'LABELS']];
  for (const id of program.identities) {
    id.labels.forEach((l, i) => rows.push([i === 0 ? String(id.id) : '', l]));
  }
  return `${table(rows)}\n`;
}

export function renderIpcache(program: EbpfProgram): string {
  const rows: string[][] = [['IP PREFIX/ADDRESS', 'IDENTITY', 'ENDPOINT', 'NODE']];
  for (const e of program.ipcache) {
    rows.push([e.cidr, String(e.identity), e.endpoint >= 0 ? program.endpoints[e.endpoint]!.pod : '-', e.node >= 0 ? program.nodes[e.node]! : '-']);
  }
  return `${table(rows)}\n`;
}

function portProto(e: PolicyEntry): string {
  const proto = e.protocol === 6 ? 'TCP' : e.protocol === 17 ? 'UDP' : e.protocol === 132 ? 'SCTP' : 'ANY';
  if (e.prefixLength === 0) return 'ANY';
  if (e.prefixLength <= 8) return `ANY/${proto}`;
  if (e.prefixLength === 24) return `${e.port}/${proto}`;
  return `${e.port}-${e.port + (1 << (24 - e.prefixLength)) - 1}/${proto}`;
}

function origin(e: PolicyEntry): string {
  const o = e.origins[0]!;
  const more = e.origins.length > 1 ? ` (+${e.origins.length - 1})` : '';
  return (o.rule < 0 ? o.policy : `${o.policy} ${o.direction}[${o.rule}]`) + more;
}

/** `cilium bpf policy get --all` style: one table per endpoint, ingress then egress, in map order. */
export function streamPolicyTable(program: EbpfProgram, hits: ArrayLike<number> | undefined, sink: ChunkSink): void {
  const labelsOf = new Map(program.identities.map((i) => [i.id, i.labels] as const));
  const c = program.policyMap;
  const mapsOf = new Map<number, number[]>();
  for (let m = 0; m < c.mapCount; m++) (mapsOf.get(c.mapEndpoint[m]!) ?? mapsOf.set(c.mapEndpoint[m]!, []).get(c.mapEndpoint[m]!)!).push(m);
  program.endpoints.forEach((ep, k) => {
    const head = `endpoint ${ep.index} ${ep.pod} (identities ${ep.identities.join(',')}; ingress ${ep.ingressIsolated ? 'enforced' : 'default allow'}, ` +
      `egress ${ep.egressIsolated ? 'enforced' : 'default allow'}; ${ep.entries} entries)`;
    const rows: string[][] = [['POLICY', 'DIRECTION', 'IDENTITY', 'LABELS (source:key[=value])', 'PORT/PROTO', 'PACKETS', 'PREFIX', 'FROM']];
    for (const m of mapsOf.get(ep.index) ?? []) {
      forEachEntryOfMap(c, m, (e) => {
        const labels = e.identity === 0 ? ['reserved:unknown (any)'] : labelsOf.get(e.identity) ?? ['?'];
        labels.forEach((l, i) => rows.push(i === 0
          ? [e.deny ? 'Deny' : 'Allow', e.direction === 'ingress' ? 'Ingress' : 'Egress', String(e.identity), l, portProto(e),
            String(hits ? hits[e.index] ?? 0 : 0), String(e.prefixLength), origin(e)]
          : ['', '', '', l, '', '', '', '']));
      });
    }
    sink(`${k > 0 ? '\n' : ''}${head}\n${rows.length > 1 ? table(rows) : '(no entries: policy enforcement "default", all allowed)'}\n`);
  });
}

export function renderPolicyTable(program: EbpfProgram, hits?: ArrayLike<number>): string {
  return collect((sink) => streamPolicyTable(program, hits, sink));
}

export function streamAllTables(program: EbpfProgram, hits: ArrayLike<number> | undefined, sink: ChunkSink): void {
  const warn = program.warnings.map((w) => `warning: ${w}\n`).join('');
  sink(`${warn}# identities\n${renderIdentities(program)}\n# ipcache\n${renderIpcache(program)}\n# policy maps\n` +
    `# probe sequence: ${program.probeSequence}\n`);
  streamPolicyTable(program, hits, sink);
}

export function renderAllTables(program: EbpfProgram, hits?: ArrayLike<number>): string {
  return collect((sink) => streamAllTables(program, hits, sink));
}

function collect(write: (sink: ChunkSink) => void): string {
  const chunks: string[] = [];
  write((chunk) => chunks.push(chunk));
  return chunks.join('');
}
