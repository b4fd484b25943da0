/**
 * Renderings of a compiled eBPF program: a JSON document (the EbpfProgram with hit counters folded into
 * each entry) and text tables in the spirit of `cilium identity list`, `cilium bpf ipcache list` and
 * `cilium bpf policy get` (one block per endpoint: verdict, direction, identity, its labels one per line,
 * port/proto, packets, prefix length, and the rule the entry came from).
 */
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

export function toJson(program: EbpfProgram, hits?: ArrayLike<number>): EbpfJson {
  return {
    model: 'ebpf',
    probeSequence: program.probeSequence,
    options: program.options,
    identities: program.identities,
    ipcache: program.ipcache,
    nodes: program.nodes,
    endpoints: program.endpoints,
    entries: program.entries.map((e) => ({ ...e, packets: hits ? hits[e.index] ?? 0 : 0 })),
    warnings: program.warnings,
  };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
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
export function renderPolicyTable(program: EbpfProgram, hits?: ArrayLike<number>): string {
  const labelsOf = new Map(program.identities.map((i) => [i.id, i.labels] as const));
  const blocks: string[] = [];
  const byEndpoint = new Map<number, PolicyEntry[]>();
  for (const e of program.entries) (byEndpoint.get(e.endpoint) ?? byEndpoint.set(e.endpoint, []).get(e.endpoint)!).push(e);
  for (const ep of program.endpoints) {
    const head = `endpoint ${ep.index} ${ep.pod} (identities ${ep.identities.join(',')}; ingress ${ep.ingressIsolated ? 'enforced' : 'default allow'}, ` +
      `egress ${ep.egressIsolated ? 'enforced' : 'default allow'}; ${ep.entries} entries)`;
    const rows: string[][] = [['POLICY', 'DIRECTION', 'IDENTITY', 'LABELS (source:key[=value])', 'PORT/PROTO', 'PACKETS', 'PREFIX', 'FROM']];
    for (const e of byEndpoint.get(ep.index) ?? []) {
      const labels = e.identity === 0 ? ['reserved:unknown (any)'] : labelsOf.get(e.identity) ?? ['?'];
      labels.forEach((l, i) => rows.push(i === 0
        ? [e.deny ? 'Deny' : 'Allow', e.direction === 'ingress' ? 'Ingress' : 'Egress', String(e.identity), l, portProto(e),
          String(hits ? hits[e.index] ?? 0 : 0), String(e.prefixLength), origin(e)]
        : ['', '', '', l, '', '', '', '']));
    }
    blocks.push(`${head}\n${rows.length > 1 ? table(rows) : '(no entries: policy enforcement "default", all allowed)'}\n`);
  }
  return blocks.join('\n');
}

export function renderAllTables(program: EbpfProgram, hits?: ArrayLike<number>): string {
  const warn = program.warnings.map((w) => `warning: ${w}\n`).join('');
  return `${warn}# identities\n${renderIdentities(program)}\n# ipcache\n${renderIpcache(program)}\n# policy maps\n` +
    `# probe sequence: ${program.probeSequence}\n${renderPolicyTable(program, hits)}`;
}
