/**
 * The eBPF dumps streamed (src/compile/ebpf/dump.ts): the real tier's 5M policy map entries, built as
 * objects and then as one JSON string, ran V8 out of heap. The streamed JSON must be the document
 * `toJson` builds (compact: byte for byte), the streams must never build every entry at once, and
 * `compile --model ebpf` must write through them on stdout and into -o DIR alike.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runEbpfCompile } from '../../../src/cli/compile-ebpf.js';
import { generateCluster } from '../../../src/clustergen/generate.js';
import { compileEbpf } from '../../../src/compile/ebpf/compile.js';
import { streamJson, streamPolicyTable, toJson } from '../../../src/compile/ebpf/dump.js';
import type { EbpfProgram } from '../../../src/compile/ebpf/program.js';
import { loadClusterFromText } from '../../../src/manifests/load.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { EBPF_SCENARIOS } from './scenarios.js';

/** While on, building the whole entry array (what `program.entries` does) throws. */
const wholeArray = { refused: false };
vi.mock('../../../src/compile/ebpf/columns.js', async (original) => {
  const real = await original<typeof import('../../../src/compile/ebpf/columns.js')>();
  return {
    ...real,
    policyEntries: (...a: Parameters<typeof real.policyEntries>) => {
      if (wholeArray.refused) throw new Error('every policy map entry built at once');
      return real.policyEntries(...a);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'netsieve-ebpf-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  wholeArray.refused = false;
});

/** Two shipped scenarios and a generated cluster of more than one chunk (dump.ts Pieces: 2,048 entries). */
function programs(): [string, EbpfProgram][] {
  const generated = loadClusterFromText(JSON.stringify(generateCluster({ pods: 1000, namespaces: 20, policies: 100, seed: 5 }))).cluster;
  return [
    ['seed', compileEbpf(indexCluster(EBPF_SCENARIOS['seed']!()))],
    ['default-deny', compileEbpf(indexCluster(EBPF_SCENARIOS['default-deny']!()))],
    ['generated', compileEbpf(indexCluster(generated))],
  ];
}

function streamed(write: (sink: (chunk: string) => void) => void): { text: string; chunks: number } {
  const chunks: string[] = [];
  write((chunk) => chunks.push(chunk));
  return { text: chunks.join(''), chunks: chunks.length };
}

describe('eBPF dumps, streamed', () => {
  it('the JSON is toJson\'s document: compact byte for byte, pretty with one entry a line', () => {
    let sawMany = false;
    for (const [name, program] of programs()) {
      const count = program.policyMap.count;
      const hits = Float64Array.from({ length: count }, (_, i) => (i * 7) % 5);
      const whole = JSON.stringify(toJson(program, hits));
      wholeArray.refused = true;
      const compact = streamed((sink) => streamJson(program, hits, sink, false));
      const pretty = streamed((sink) => streamJson(program, hits, sink));
      wholeArray.refused = false;
      expect(compact.text, name).toBe(whole);
      expect(JSON.parse(pretty.text), name).toEqual(JSON.parse(whole));
      // The long arrays other than the entries, written element by element, as JSON.stringify nests them.
      for (const field of ['identities', 'ipcache', 'endpoints'] as const) {
        expect(pretty.text, `${name}: ${field}`).toContain(`\n  "${field}": ${JSON.stringify(program[field], null, 2).replace(/\n/g, '\n  ')},\n`);
      }
      expect(pretty.text.split('\n').filter((l) => /^ {4}\{"index":\d+,/.test(l)).length, name).toBe(count);
      if (count > 2048) {
        sawMany = true;
        expect(compact.chunks, `${name}: ${count} entries in chunks`).toBeGreaterThan(4);
      }
    }
    expect(sawMany, 'a program of more than one chunk (2,048 entries)').toBe(true);
  });

  it('a program without entries writes an empty array', () => {
    const empty = compileEbpf(indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 10, namespaces: 2, policies: 0, seed: 1 }))).cluster));
    expect(empty.policyMap.count).toBe(0);
    for (const pretty of [true, false]) {
      const text = streamed((sink) => streamJson(empty, undefined, sink, pretty)).text;
      expect(text).toBe(pretty ? JSON.stringify(toJson(empty), null, 2) : JSON.stringify(toJson(empty)));
    }
  });

  it('the policy table, an endpoint block at a time, never builds every entry', () => {
    const [, program] = programs()[2]!;
    wholeArray.refused = true;
    const table = streamed((sink) => streamPolicyTable(program, undefined, sink));
    expect(table.chunks).toBe(program.endpoints.length);
    expect(table.text.match(/^(Allow|Deny) +(Ingress|Egress) /gm)?.length).toBe(program.policyMap.count);
  });

  it('compile --model ebpf streams into -o DIR and onto stdout', () => {
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 1000, namespaces: 20, policies: 100, seed: 5 }))).cluster);
    const want = JSON.parse(JSON.stringify(toJson(compileEbpf(index))));
    wholeArray.refused = true;
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    runEbpfCompile(index, { output: 'table', out: join(dir, 'maps') });
    expect(JSON.parse(readFileSync(join(dir, 'maps', 'ebpf.json'), 'utf8'))).toEqual(want);
    expect(readFileSync(join(dir, 'maps', 'policy.txt'), 'utf8')).toContain(`endpoint 0 `);
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { out.push(String(chunk)); return true; });
    runEbpfCompile(index, { output: 'json' });
    expect(out.length).toBeGreaterThan(4);
    expect(JSON.parse(out.join(''))).toEqual(want);
  });
});
