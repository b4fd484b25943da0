/**
 * The truth table's writers (src/report/truth-table.ts), which `probe` streams row by row: the JSON is
 * what JSON.stringify makes of the cells, the table is the upstream e2e layout, and each row is one
 * chunk of its own (the whole text of a table of thousands of pods is more than a string can hold).
 */
import { describe, expect, it } from 'vitest';
import { indexCluster } from '../../src/model/cluster-index.js';
import { qualifiedName } from '../../src/model/types.js';
import { probeAll, probeRows, Reach } from '../../src/match/probe.js';
import { ReferenceDataplane } from '../../src/match/reference.js';
import { truthJsonWriter, truthTableWriter } from '../../src/report/truth-table.js';
import { cluster, netpol, ns, pod } from '../support/builders.js';

/** Four pods, one IPv6-only (no common family with the IPv4-only ones), one policy allowing api -> db only. */
function scenario() {
  return indexCluster(cluster({
    namespaces: [ns('prod')],
    pods: [
      pod('prod/api', { labels: { app: 'api' }, ips: ['10.244.1.5', 'fd00::5'] }),
      pod('prod/db', { labels: { app: 'db' }, ips: ['10.244.1.6'] }),
      pod('prod/v6only', { labels: { app: 'cache' }, ips: ['fd00::7'] }),
      pod('prod/web', { labels: { app: 'web' }, ips: ['10.244.1.8'] }),
    ],
    policies: [netpol('prod/db-from-api', {
      podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }],
    })],
  }));
}

function written(make: (sink: (chunk: string) => void) => { row(from: number, row: Uint8Array): void; end(): void }) {
  const index = scenario();
  const chunks: string[] = [];
  const writer = make((c) => chunks.push(c));
  probeRows(index, new ReferenceDataplane(index), 6, 80, undefined, (from, row) => writer.row(from, row));
  writer.end();
  return chunks;
}

describe('the truth table written row by row', () => {
  it('JSON: exactly JSON.stringify of the cells with a common family, one chunk per source pod', () => {
    const index = scenario();
    const names = index.cluster.pods.map(qualifiedName);
    const chunks = written((sink) => truthJsonWriter(names, { model: 'reference', port: 80, protocol: 'TCP' }, sink));
    const cells = probeAll(index, new ReferenceDataplane(index), 6, 80).cells.filter((c) => c.allowed !== null);
    expect(chunks.join('')).toBe(`${JSON.stringify({ model: 'reference', port: 80, protocol: 'TCP', results: cells })}\n`);
    expect(cells.map((c) => `${c.from}>${c.to}:${c.allowed}`)).toEqual([
      'prod/api>prod/api:true', 'prod/api>prod/db:true', 'prod/api>prod/v6only:true', 'prod/api>prod/web:true',
      'prod/db>prod/api:true', 'prod/db>prod/db:true', 'prod/db>prod/web:true',
      'prod/v6only>prod/api:true', 'prod/v6only>prod/v6only:true',
      'prod/web>prod/api:true', 'prod/web>prod/db:false', 'prod/web>prod/web:true',
    ]);
    // The head, four rows, the end.
    expect(chunks).toHaveLength(6);
  });

  it('table: the upstream layout, `.` `X` and `-`, one chunk per source pod', () => {
    const chunks = written((sink) => truthTableWriter(scenario().cluster.pods.map(qualifiedName), 'TCP/80', sink));
    expect(chunks.join('')).toBe([
      '+-------------+----------+---------+-------------+----------+',
      '| TCP/80      | prod/api | prod/db | prod/v6only | prod/web |',
      '+-------------+----------+---------+-------------+----------+',
      '| prod/api    | .        | .       | .           | .        |',
      '| prod/db     | .        | .       | -           | .        |',
      '| prod/v6only | .        | -       | .           | -        |',
      '| prod/web    | .        | X       | -           | .        |',
      '+-------------+----------+---------+-------------+----------+',
      '. allowed   X denied   - no common address family',
      '',
    ].join('\n'));
    expect(chunks).toHaveLength(6);
  });

  it('probeRows reuses one row array and gives each source its destinations in pod order', () => {
    const index = scenario();
    const seen: Uint8Array[] = [];
    const rows: number[][] = [];
    probeRows(index, new ReferenceDataplane(index), 6, 80, 4, (_, row) => { seen.push(row); rows.push([...row]); });
    expect(new Set(seen).size).toBe(1);
    const { ALLOWED: A, DENIED: D, NO_FAMILY: N } = Reach;
    // IPv4 only (--family 4): the IPv6-only pod has no cell; a pod reaches itself; web may not reach db.
    expect(rows).toEqual([[A, A, N, A], [A, A, N, A], [N, N, N, N], [A, D, N, A]]);
  });
});
