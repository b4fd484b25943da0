/**
 * Renderings of a compiled eBPF program: a JSON document (the EbpfProgram with hit counters folded into
 * each entry) and text tables in the spirit of `cilium identity list`, `cilium bpf ipcache list` and
 * `cilium bpf policy get` (one block per endpoint: verdict, direction, identity, its labels one per line,
 * port/proto, packets, prefix length, and the rule the entry came from).
 *
 * The policy map can hold millions of entries (5M at the real tier, 141M at the stress tier): the
 * `stream*` forms hand the text to a sink in chunks, written from the policy map's columns, so that
 * neither an object per entry nor the whole text is ever held; the `render*` forms and `toJson` are
 * for small programs (tests, the golden files).
 */
import type { ChunkSink } from '../text.js';
import { rowOfEntry } from './columns.js';
import { DIR_INGRESS } from './layout.js';
import type { EbpfProgram, PolicyColumns, PolicyEntry } from './program.js';

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
 * JSON.stringify without indents). Written around markers in place of the long arrays (the identities,
 * the ipcache, the endpoints and the entries), so that every other field is JSON.stringify's own; each
 * long array is written element by element: from about a million pods the ipcache and the endpoints
 * alone, pretty, were longer than the longest string V8 holds (2^29 - 24 characters), and the compile
 * stopped with "Invalid string length". `progress` hears the entries written, every 2,048.
 */
export function streamJson(
  program: EbpfProgram, hits: ArrayLike<number> | undefined, sink: ChunkSink, pretty = true, progress?: (entries: number) => void,
): void {
  const marker = (field: string): string => JSON.stringify(`\u0000${field}\u0000`);
  const long: Record<string, (sink: ChunkSink) => void> = {
    identities: (out) => streamArray(program.identities, pretty, out),
    ipcache: (out) => streamArray(program.ipcache, pretty, out),
    endpoints: (out) => streamArray(program.endpoints, pretty, out),
    entries: (out) => streamEntries(program, hits, out, pretty, progress),
  };
  const doc: Record<keyof EbpfJson, unknown> = { ...toJsonHead(program), entries: null, warnings: program.warnings };
  for (const field of Object.keys(long)) (doc as Record<string, unknown>)[field] = JSON.parse(marker(field));
  const text = pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc);
  // The fields in the order JSON.stringify wrote them.
  const at = Object.keys(long).map((field) => ({ field, at: text.indexOf(marker(field)) })).sort((a, b) => a.at - b.at);
  let from = 0;
  for (const { field, at: where } of at) {
    sink(text.slice(from, where));
    long[field]!(sink);
    from = where + marker(field).length;
  }
  sink(text.slice(from));
}

/**
 * A top-level field's array as JSON.stringify writes it (pretty: its elements at four spaces' depth),
 * element by element: `each` hands every element's JSON to `add`; the elements joined a few thousand at a
 * time (Pieces).
 */
function streamElements(pretty: boolean, sink: ChunkSink, each: (add: (json: string) => void) => void): void {
  const [first, between, close] = pretty ? ['[\n    ', ',\n    ', '\n  ]'] : ['[', ',', ']'];
  const pieces = new Pieces(sink);
  let written = 0;
  each((json) => pieces.add(written++ === 0 ? first : between, json));
  pieces.end();
  sink(written === 0 ? '[]' : close);
}

/** An array of plain values: JSON.stringify indents an element's own lines by its depth, and only the formatting has raw newlines. */
function streamArray(items: readonly unknown[], pretty: boolean, sink: ChunkSink): void {
  streamElements(pretty, sink, (add) => {
    for (const item of items) add((pretty ? JSON.stringify(item, null, 2)?.replace(/\n/g, '\n    ') : JSON.stringify(item)) ?? 'null');
  });
}

/** The policy map's entries, written from its columns (entryJson). */
function streamEntries(program: EbpfProgram, hits: ArrayLike<number> | undefined, sink: ChunkSink, pretty: boolean, progress?: (entries: number) => void): void {
  const c = program.policyMap;
  const origins: (string | undefined)[] = [];
  let written = 0;
  streamElements(pretty, sink, (add) => {
    for (let m = 0; m < c.mapCount; m++) {
      for (let i = c.mapStart[m]!; i < c.mapStart[m + 1]!; i++) {
        add(entryJson(c, i, m, hits, origins));
        if ((++written & 2047) === 0) progress?.(written);
      }
    }
  });
}

/**
 * JSON.stringify(withPackets(entry i of map m)), written from the columns: no entry object, and each
 * origin's JSON made once (`origins`, by origin table index). Building the objects and stringifying
 * them took most of a real-tier dump's time. The key order is columns.ts entryObject's.
 */
function entryJson(c: PolicyColumns, i: number, m: number, hits: ArrayLike<number> | undefined, origins: (string | undefined)[]): string {
  const r = rowOfEntry(c, i, m);
  let from = '';
  for (let k = c.originStart[r]!; k < c.originStart[r + 1]!; k++) {
    const o = c.originPool[k]!;
    from += (k > c.originStart[r]! ? ',' : '') + (origins[o] ??= JSON.stringify(c.originTable[o]));
  }
  const packets = hits ? hits[i] ?? 0 : 0;
  return `{"index":${i},"endpoint":${c.mapEndpoint[m]},"direction":"${c.mapDirection[m] === DIR_INGRESS ? 'ingress' : 'egress'}",` +
    `"deny":${c.deny[r] === 1},"identity":${c.identity[r]},"protocol":${c.protocol[r]},"port":${c.port[r]},` +
    `"prefixLength":${c.prefixLength[r]},"origins":[${from}],"packets":${Number.isFinite(packets) ? packets : 'null'}}`;
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
  return flatTable(rows.flat(), rows[0]!.length);
}

/**
 * Rows of `columns` cells, one after another in `cells`, every column but the last padded to its widest
 * cell, three spaces between, no trailing blanks. Loops, not Math.max(...column): the stress tier's
 * tables have more rows than a call has arguments.
 */
function flatTable(cells: readonly string[], columns: number): string {
  const widths = new Array<number>(columns).fill(0);
  for (let k = 0; k < cells.length; k++) widths[k % columns] = Math.max(widths[k % columns]!, cells[k]!.length);
  const lines: string[] = [];
  for (let at = 0; at < cells.length; at += columns) lines.push(padded(cells.slice(at, at + columns), widths).trimEnd());
  return lines.join('\n');
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

function portProto(protocol: number, port: number, prefixLength: number): string {
  const proto = protocol === 6 ? 'TCP' : protocol === 17 ? 'UDP' : protocol === 132 ? 'SCTP' : 'ANY';
  if (prefixLength === 0) return 'ANY';
  if (prefixLength <= 8) return `ANY/${proto}`;
  if (prefixLength === 24) return `${port}/${proto}`;
  return `${port}-${port + (1 << (24 - prefixLength)) - 1}/${proto}`;
}

/** The FROM cell: the row's first origin (its text made once, `named`, by origin table index) and how many more. */
function origin(c: PolicyColumns, r: number, named: (string | undefined)[]): string {
  const first = c.originPool[c.originStart[r]!]!, more = c.originStart[r + 1]! - c.originStart[r]! - 1;
  const o = c.originTable[first]!;
  const text = named[first] ??= o.rule < 0 ? o.policy : `${o.policy} ${o.direction}[${o.rule}]`;
  return more > 0 ? `${text} (+${more})` : text;
}

const POLICY_HEADER = ['POLICY', 'DIRECTION', 'IDENTITY', 'LABELS (source:key[=value])', 'PORT/PROTO', 'PACKETS', 'PREFIX', 'FROM'];
const ANY_IDENTITY = ['reserved:unknown (any)'];
const UNKNOWN_IDENTITY = ['?'];

/**
 * `cilium bpf policy get --all` style: one table per endpoint, ingress then egress, in map order, each
 * handed to the sink as it is made. `progress` hears the entries written, after each endpoint.
 */
export function streamPolicyTable(
  program: EbpfProgram, hits: ArrayLike<number> | undefined, sink: ChunkSink, progress?: (entries: number) => void,
): void {
  const t = new PolicyTableWriter(program, hits);
  let written = 0;
  program.endpoints.forEach((ep, k) => {
    const head = `endpoint ${ep.index} ${ep.pod} (identities ${ep.identities.join(',')}; ingress ${ep.ingressIsolated ? 'enforced' : 'default allow'}, ` +
      `egress ${ep.egressIsolated ? 'enforced' : 'default allow'}; ${ep.entries} entries)`;
    sink(`${k > 0 ? '\n' : ''}${head}\n${t.body(ep.index)}\n`);
    progress?.(written += ep.entries);
  });
}

/**
 * One endpoint's table at a time, as `table()` lays it out, from the columns (no entry object, no row
 * array: at the real tier an endpoint's table runs to a hundred thousand lines, 15M in all). Two passes
 * over the endpoint's entries: the columns' widths, then the lines. A label after an identity's first
 * is a line of its own, blank but for the label: the widths' spaces, then the label.
 */
class PolicyTableWriter {
  private readonly labelsOf: Map<number, readonly string[]>;
  private readonly mapsOf = new Map<number, number[]>();
  private readonly named: (string | undefined)[] = [];
  private readonly c: PolicyColumns;
  private readonly cells = new Array<string>(POLICY_HEADER.length);

  constructor(program: EbpfProgram, private readonly hits: ArrayLike<number> | undefined) {
    this.labelsOf = new Map(program.identities.map((i) => [i.id, i.labels] as const));
    const c = this.c = program.policyMap;
    for (let m = 0; m < c.mapCount; m++) (this.mapsOf.get(c.mapEndpoint[m]!) ?? this.mapsOf.set(c.mapEndpoint[m]!, []).get(c.mapEndpoint[m]!)!).push(m);
  }

  body(endpoint: number): string {
    const maps = this.mapsOf.get(endpoint) ?? [];
    if (maps.length === 0) return '(no entries: policy enforcement "default", all allowed)';
    const widths = POLICY_HEADER.map((h) => h.length);
    this.eachRow(maps, (cells, labels) => {
      for (let k = 0; k < cells.length - 1; k++) widths[k] = Math.max(widths[k]!, cells[k]!.length);
      for (const l of labels) widths[3] = Math.max(widths[3]!, l.length);
    });
    const lines = [padded(POLICY_HEADER, widths)]; // the last cell, FROM, is never blank: no trailing spaces
    const blank = ' '.repeat(widths[0]! + widths[1]! + widths[2]! + 9);
    this.eachRow(maps, (cells, labels) => {
      lines.push(padded(cells, widths));
      for (let l = 1; l < labels.length; l++) lines.push(blank + labels[l]!);
    });
    return lines.join('\n');
  }

  /** Each entry of `maps`: its cells (one array, reused) and its identity's labels (cells[3] is the first). */
  private eachRow(maps: readonly number[], visit: (cells: string[], labels: readonly string[]) => void): void {
    const c = this.c, cells = this.cells, hits = this.hits;
    for (const m of maps) {
      const direction = c.mapDirection[m] === DIR_INGRESS ? 'Ingress' : 'Egress';
      for (let i = c.mapStart[m]!; i < c.mapStart[m + 1]!; i++) {
        const r = rowOfEntry(c, i, m), identity = c.identity[r]!;
        const labels = identity === 0 ? ANY_IDENTITY : this.labelsOf.get(identity) ?? UNKNOWN_IDENTITY;
        cells[0] = c.deny[r] === 1 ? 'Deny' : 'Allow';
        cells[1] = direction;
        cells[2] = String(identity);
        cells[3] = labels[0]!;
        cells[4] = portProto(c.protocol[r]!, c.port[r]!, c.prefixLength[r]!);
        cells[5] = String(hits ? hits[i] ?? 0 : 0);
        cells[6] = String(c.prefixLength[r]);
        cells[7] = origin(c, r, this.named);
        visit(cells, labels);
      }
    }
  }
}

/** A row: every cell but the last padded to its column's width, three spaces between. */
function padded(cells: readonly string[], widths: readonly number[]): string {
  let line = '';
  for (let k = 0; k < cells.length - 1; k++) line += `${cells[k]!.padEnd(widths[k]!)}   `;
  return line + cells[cells.length - 1]!;
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
