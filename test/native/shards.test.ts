/**
 * The merge of `replay --threads` (src/replay/shard-merge.ts over native/src/addon-shards.cc), on
 * hand-made shard tables: the merged table is every shard's rows in opening order (capture, then
 * record), each shard scattered from its own columns (as a worker does from its C table), cut at the cap with the packets of the rows cut counted as overflow; the C copy refuses
 * positions and columns outside its buffers; the hit counters summed slice by slice equal the plain sum.
 * The end-to-end equality with one thread is test/native/replay.test.ts's.
 */
import { describe, expect, it } from 'vitest';
import { columnOffsets, columnsOf, CONNECTION_COLUMNS, type PackedConnections, type ShardColumns } from '../../src/native/replay.js';
import { Count, RECORD_DOUBLES, RECORD_WORDS } from '../../src/replay/connections.js';
import { mergeKeysOf, planMerge, scatterShard, sumHitsSlice } from '../../src/replay/shard-merge.js';
import { requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

/** A shard's table of connections opened at (file, record) `opens`, each column filled from its opening record. */
function shardTable(opens: readonly [number, number][], overflow = 0): PackedConnections {
  const { offsets, total } = columnOffsets(opens.length);
  const p: PackedConnections = { buffer: new SharedArrayBuffer(Math.max(8, total)), offsets, count: opens.length, overflow };
  const c = columnsOf(p);
  opens.forEach(([file, record], i) => {
    const tag = file * 1000 + record;
    c.firstFile[i] = file;
    c.firstRecord[i] = record;
    c.verdict[i] = tag % 3;
    c.ctState[i] = tag % 5;
    c.service[i] = tag - 7;
    c.hashes[i] = tag * 31;
    for (let w = 0; w < 10; w++) c.key[i * RECORD_WORDS + w] = tag * 10 + w;
    c.counts[i * RECORD_DOUBLES + Count.PACKETS] = tag * 100;
    c.counts[i * RECORD_DOUBLES + Count.BYTES] = tag * 100 + 1;
    c.counts[i * RECORD_DOUBLES + Count.DROPPED] = tag * 100 + 2;
  });
  return p;
}

/** The rows of a table as one plain object per connection (every column), in table order. */
function rows(p: PackedConnections): Record<string, number[]>[] {
  const c = columnsOf(p) as unknown as Record<string, unknown>;
  return Array.from({ length: p.count }, (_, i) => {
    const row: Record<string, number[]> = {};
    for (const [name, col] of Object.entries(c)) {
      if (!ArrayBuffer.isView(col)) continue;
      const per = (col as Uint8Array).length / p.count;
      row[name] = Array.from((col as Uint8Array).subarray(i * per, (i + 1) * per));
    }
    return row;
  });
}

/** A packed table's columns as a worker's ShardColumns (each column's bytes, `count` rows). */
function shardColumnsOf(p: PackedConnections): ShardColumns {
  const columns = CONNECTION_COLUMNS.map(([, bytes], k) => new Uint8Array(p.buffer as ArrayBuffer, p.offsets[k]!, bytes * p.count));
  return { columns, count: p.count, overflow: p.overflow };
}

/** As the workers do it: the plan from the shards' merge keys, each shard scattered from its own columns. */
function merged(parts: PackedConnections[], max: number): PackedConnections {
  const shards = parts.map(shardColumnsOf);
  const plan = planMerge(addon!, shards.map(mergeKeysOf), max);
  const cut = shards.reduce((n, s, k) => n + scatterShard(addon!, s, plan.target, plan.positions[k]!), 0);
  return { ...plan.target, overflow: plan.target.overflow + cut };
}

d('the merge of the shards of a --threads replay', () => {
  // Two captures; the shards' opening packets interleave, one shard is empty.
  const a: [number, number][] = [[0, 1], [0, 4], [0, 5], [1, 0], [1, 9]];
  const b: [number, number][] = [[0, 2], [0, 3], [0, 8], [1, 2]];
  const byOpening = [...a, ...b].sort((x, y) => x[0] - y[0] || x[1] - y[1]);

  it('every row of every shard, column for column, in the order of the opening packets', () => {
    const target = merged([shardTable(a), shardTable([]), shardTable(b)], 1 << 22);
    expect(target.count).toBe(9);
    expect(target.overflow).toBe(0);
    expect(rows(target)).toEqual(rows(shardTable(byOpening)));
  });

  it('a cap keeps the first connections in opening order; the packets of the others (and the shards\' own) are overflow', () => {
    const target = merged([shardTable(a, 5), shardTable(b, 2)], 6);
    expect(rows(target)).toEqual(rows(shardTable(byOpening.slice(0, 6))));
    const cut = byOpening.slice(6).reduce((n, [file, record]) => n + (file * 1000 + record) * 100, 0);
    expect(target.overflow).toBe(5 + 2 + cut);
  });

  it('the C copy refuses a position past the target or a column outside a buffer', () => {
    const from = shardTable(a);
    const into = shardTable([[2, 0], [2, 1], [2, 2], [2, 3], [2, 4]]);
    const bytes = (p: PackedConnections) => new Uint8Array(p.buffer as ArrayBuffer);
    const ok = Float64Array.of(0, 0, 1);
    expect(() => addon!.scatterRows(bytes(from), bytes(into), ok, Int32Array.of(0, 1, 2, 3, 5), 5, 5)).toThrow(/past the target/);
    expect(() => addon!.scatterRows(bytes(from), bytes(into), Float64Array.of(0, bytes(into).length - 2, 1), Int32Array.of(0, 1, 2, 3, 4), 5, 5)).toThrow(/does not fit/);
    expect(() => addon!.scatterRows(bytes(from), bytes(into), Float64Array.of(0, 0, 1.5), Int32Array.of(0, 1, 2, 3, 4), 5, 5)).toThrow(/does not fit/);
    // One-byte rows at offset 0: the first bytes of `from` (key word 0 of its first record: 10) land reversed.
    addon!.scatterRows(bytes(from), bytes(into), ok, Int32Array.of(4, 3, 2, 1, -1), 5, 5);
    expect(Array.from(bytes(into).subarray(0, 5))).toEqual([20000 & 255, 0, 0, 0, 10]);
  });

  it('huge pages are asked for under whole 2 MiB pages only', () => {
    expect(addon!.adviseHugePages(new Uint8Array(new SharedArrayBuffer(4096)))).toBe(0);
    const advised = addon!.adviseHugePages(new Uint8Array(new SharedArrayBuffer(8 << 20)));
    expect(advised % (2 << 20)).toBe(0);
    expect(advised).toBeLessThanOrEqual(8 << 20);
  });

  it('the hit counters summed slice by slice into the first array equal the plain sum', () => {
    const hits = [0, 1, 2].map((k) => Float64Array.from({ length: 1001 }, (_, e) => ((e * (k + 3)) % 7 === 0 ? 0 : e + k)));
    const sum = hits[0]!.map((v, e) => v + hits[1]![e]! + hits[2]![e]!);
    for (let s = 0; s < 3; s++) sumHitsSlice(addon!, hits, s, 3);
    expect(Array.from(hits[0]!)).toEqual(Array.from(sum));
    sumHitsSlice(addon!, [null, hits[1]!], 0, 1); // iptables: no counters, nothing to do
    expect(() => addon!.addSlice(hits[0]!, new Float64Array(10), 0, 11)).toThrow(/within both/);
    expect(() => addon!.addSlice(hits[0]!, hits[1]!, 5, 4)).toThrow(/within both/);
  });
});
