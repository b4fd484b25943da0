/**
 * The native record walk (src/native/walk.ts, native/src/walk.cc) gives exactly the TypeScript reader's
 * rows: every FlowBatch column of every row, the row count of every fill, recordsRead, bytesRead and the
 * damage (offset and reason), and the same refusals; for every shipped capture and for synth traffic in
 * both byte orders and units, with chunk sizes that make records straddle chunk boundaries and batch
 * sizes down to one row. Then the fused walk+decode+conntrack+model call equals the reader + runRow.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openNativeCapture } from '../../src/native/walk.js';
import { MIN_CHUNK } from '../../src/traffic/pcap/capture.js';
import { openCapture } from '../../src/traffic/pcap/reader.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { seedIndex } from '../replay/seed-model.js';
import { SEED_PCAP } from '../replay/helpers.js';
import { firstDifference, requireAddon } from './support.js';
import { damaged, rewrite, synthBytes, writeTemp } from './walk-support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

/** Every typed-array column of a FlowBatch, with its elements per row. */
const COLUMNS = Object.entries(new FlowBatch(1)).filter(([, v]) => ArrayBuffer.isView(v)).map(([k, v]) => [k, (v as Uint8Array).length] as const);

function sameRows(a: FlowBatch, b: FlowBatch, what: string): string | null {
  if (a.count !== b.count) return `${what}: count js ${a.count} native ${b.count}`;
  for (const [col, per] of COLUMNS) {
    const x = (a as unknown as Record<string, Uint8Array>)[col]!, y = (b as unknown as Record<string, Uint8Array>)[col]!;
    const i = firstDifference(x, y, a.count * per);
    if (i >= 0) return `${what}: row ${Math.floor(i / per)} ${col}: js ${x[i]} native ${y[i]}`;
  }
  return null;
}

interface Compared { problem: string | null; rows: number; fills: number; damage: string | null }

/** Both readers over `path`, fill by fill; the first difference, or null. */
function compare(path: string, chunkSize: number, capacity: number, decode = true): Compared {
  let js;
  try {
    js = openCapture(path, { chunkSize, decode });
  } catch (e) {
    // Refused outright: the native reader refuses with the same message.
    expect(() => openNativeCapture(addon!, path, { chunkSize, decode })).toThrow((e as Error).message);
    return { problem: null, rows: 0, fills: 0, damage: `refused: ${(e as Error).message}` };
  }
  const nat = openNativeCapture(addon!, path, { chunkSize, decode });
  const a = new FlowBatch(capacity), b = new FlowBatch(capacity);
  let rows = 0, fills = 0;
  const done = (problem: string | null): Compared => ({ problem, rows, fills, damage: js.damage ? js.damage.reason : null });
  try {
    for (;;) {
      const n = js.fill(a);
      nat.fill(b);
      fills++;
      const what = `${path} (chunk ${chunkSize}, batch ${capacity}) fill ${fills}`;
      const problem = sameRows(a, b, what) ??
        (js.recordsRead !== nat.recordsRead ? `${what}: recordsRead ${js.recordsRead} vs ${nat.recordsRead}` : null) ??
        (js.bytesRead !== nat.bytesRead ? `${what}: bytesRead ${js.bytesRead} vs ${nat.bytesRead}` : null) ??
        (JSON.stringify(js.damage) !== JSON.stringify(nat.damage) ? `${what}: damage ${JSON.stringify(js.damage)} vs ${JSON.stringify(nat.damage)}` : null);
      if (problem) return done(problem);
      rows += n;
      if (n === 0) return done(null);
    }
  } finally {
    js.close();
    nat.close();
  }
}

const shipped = ['captures/formats', 'captures/damaged', 'captures/seed'].flatMap((dir) =>
  readdirSync(dir).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(dir, f)));
/** Chunk sizes: the smallest allowed, and odd sizes so chunk ends fall at other places in records. */
const CHUNKS = [MIN_CHUNK, MIN_CHUNK + 37, MIN_CHUNK + 1001];

d('the native record walk equals the TypeScript reader', () => {
  it(`every shipped capture (${shipped.length}), decoded and not, batches of 1024, 7 and 1 rows`, () => {
    let rows = 0, damagedSeen = 0, refused = 0;
    for (const path of shipped) {
      for (const [capacity, decode] of [[1024, true], [7, true], [1, false], [1024, false]] as const) {
        const r = compare(path, MIN_CHUNK, capacity, decode);
        expect(r.problem, r.problem ?? '').toBeNull();
        rows += r.rows;
        if (r.damage?.startsWith('refused')) refused++;
        else if (r.damage !== null) damagedSeen++;
      }
    }
    expect(rows).toBeGreaterThan(400);
    expect(damagedSeen).toBeGreaterThanOrEqual(4 * 4); // truncated header/record, over snaplen, absurd, pcapng ones
    expect(refused).toBeGreaterThan(0);
  });

  for (const [v6, size] of [[false, '64'], [true, '64'], [false, 'imix'], [true, 'imix']] as const) {
    it(`synth ${size} IPv${v6 ? 6 : 4}, little/big-endian, micro/nanoseconds, records straddling chunks`, () => {
      const le = synthBytes(seedIndex(v6, true), size === '64' ? 30_000 : 3_000, size, 5);
      expect(le.length).toBeGreaterThan(MIN_CHUNK + 1001); // so every chunk size below cuts records
      for (const [be, nano] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const bytes = be || nano ? rewrite(le, be, nano) : le;
        const path = writeTemp(bytes, `synth-${be ? 'be' : 'le'}-${nano ? 'ns' : 'us'}.pcap`);
        for (const chunk of CHUNKS) {
          for (const capacity of [4096, 333]) {
            const r = compare(path, chunk, capacity);
            expect(r.problem, r.problem ?? '').toBeNull();
            expect(r.damage).toBeNull();
            expect(r.rows).toBe(size === '64' ? 30_000 : 3_000);
          }
        }
        for (const bad of damaged(bytes, !be, 3)) {
          const path2 = writeTemp(bad.bytes, `${bad.name}.pcap`);
          for (const chunk of CHUNKS) {
            const r = compare(path2, chunk, 1000);
            expect(r.problem, `${bad.name}: ${r.problem}`).toBeNull();
            expect(r.damage, bad.name).not.toBeNull();
          }
        }
      }
    });
  }
});
