/**
 * Fuzzing the capture readers and the packet decoder with mutated real captures: bit flips, cut
 * lengths, absurd length fields, spliced copies. Requirements: no exception but InputError (and that
 * only from openCapture), no hang (each fill consumes at least one record, so fills are bounded by the
 * file size), memory bounded (one chunk per reader, never grown), and rows that stay inside the chunk.
 *
 * Seeded: a failure prints the seed, file and mutation; NETSIEVE_FUZZ_ITERATIONS=N runs longer locally.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { FlowBatch, RowFlag } from '../../src/wire/flow-batch.js';
import { decodePacket } from '../../src/wire/decode.js';
import { openCapture, type CaptureReader } from '../../src/traffic/pcap/reader.js';
import { MAX_CAPLEN, MIN_CHUNK } from '../../src/traffic/pcap/capture.js';
import { mulberry32 } from '../support/rng.js';

const ITERATIONS = Number(process.env.NETSIEVE_FUZZ_ITERATIONS ?? 40);
const SEED = Number(process.env.NETSIEVE_FUZZ_SEED ?? 20261126);
const CAPTURES = join(import.meta.dirname, '../../captures');
const dir = mkdtempSync(join(tmpdir(), 'netsieve-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function listCaptures(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    if (statSync(p).isDirectory()) return listCaptures(p);
    return /\.pcap(ng)?$/.test(n) ? [p] : [];
  });
}

/** mulberry32: small, seeded. */
const rng = mulberry32;

const ABSURD = [0, 1, 7, 11, 0xffffffff, 0x7fffffff, 0x80000000, MAX_CAPLEN + 1, 0x0a0d0d0a, 0x1a2b3c4d];

function mutate(src: Buffer, r: () => number): { bytes: Buffer; how: string } {
  const b = Buffer.from(src);
  const at = (n = b.length): number => Math.floor(r() * Math.max(n, 1));
  switch (Math.floor(r() * 4)) {
    case 0: {
      const flips = 1 + at(8);
      for (let i = 0; i < flips && b.length > 0; i++) b[at()]! ^= 1 << at(8);
      return { bytes: b, how: `${flips} bit flips` };
    }
    case 1: {
      const len = at(b.length + 1);
      return { bytes: b.subarray(0, len), how: `cut to ${len} bytes` };
    }
    case 2: {
      if (b.length < 4) return { bytes: b, how: 'unchanged' };
      const o = r() < 0.7 ? at(b.length >> 2) * 4 : at(b.length - 3), v = ABSURD[at(ABSURD.length)]!;
      if (r() < 0.5) b.writeUInt32LE(v, o); else b.writeUInt32BE(v, o);
      return { bytes: b, how: `u32 0x${v.toString(16)} at ${o}` };
    }
    default: {
      const from = at(), to = from + at(b.length - from), into = at();
      return { bytes: Buffer.concat([b.subarray(0, into), b.subarray(from, to), b.subarray(into)]), how: `spliced ${from}-${to} at ${into}` };
    }
  }
}

/** Decoder invariants of a row: a known family, only defined flag bits, no addresses without a family. */
function checkFlow(batch: FlowBatch, i: number): void {
  const f = batch.family[i]!;
  if (f !== 0 && f !== 4 && f !== 6) throw new Error(`row ${i}: family ${f}`);
  if ((batch.flags[i]! & ~0x1f) !== 0) throw new Error(`row ${i}: flags ${batch.flags[i]}`);
  if (f === 0 && (batch.src[i * 4] !== 0 || batch.dst[i * 4] !== 0)) throw new Error(`row ${i}: addresses without a family`);
  if (f === 4 && (batch.src[i * 4 + 1] !== 0 || batch.dst[i * 4 + 3] !== 0)) throw new Error(`row ${i}: IPv4 with IPv6 words`);
}

/** Reads a whole (possibly broken) file, checking the reader's invariants; returns records read. */
function drain(reader: CaptureReader, fileLength: number, batch: FlowBatch): number {
  const maxFills = Math.floor(fileLength / 12) + 2;
  let fills = 0, records = 0;
  for (let n = reader.fill(batch); n > 0; n = reader.fill(batch)) {
    if (++fills > maxFills) throw new Error(`more than ${maxFills} fills for ${fileLength} bytes: a hang`);
    // Plain checks, not expect(): this runs for every row of every mutant.
    for (let i = 0; i < n; i++) {
      if (batch.recordIndex[i] !== records + i) throw new Error(`row ${i}: recordIndex ${batch.recordIndex[i]}`);
      if (batch.capturedLength[i]! > MAX_CAPLEN) throw new Error(`row ${i}: captured length ${batch.capturedLength[i]}`);
      if (batch.dataOffset[i]! + batch.capturedLength[i]! > reader.chunk.length) throw new Error(`row ${i}: outside the chunk`);
      checkFlow(batch, i);
    }
    records += n;
  }
  expect(reader.chunk.length).toBe(MIN_CHUNK); // one chunk, never grown
  expect(reader.recordsRead).toBe(records);
  if (reader.damage !== null) {
    expect(reader.damage.offset).toBe(reader.bytesRead);
    expect(reader.damage.offset).toBeLessThanOrEqual(fileLength);
  } else expect(reader.bytesRead).toBe(fileLength);
  return records;
}

describe('fuzzing the readers with mutated real captures', () => {
  const files = listCaptures(CAPTURES).filter((p) => statSync(p).size > 0);

  it(`${files.length} captures x ${ITERATIONS} mutants: no crash, no hang, bounded memory`, () => {
    const r = rng(SEED);
    const batch = new FlowBatch(7);
    const path = join(dir, 'mutant');
    const heapBefore = process.memoryUsage().heapUsed;
    let opened = 0, refused = 0, damaged = 0;
    for (const file of files) {
      const original = readFileSync(file);
      for (let k = 0; k < ITERATIONS; k++) {
        const { bytes, how } = mutate(original, r);
        writeFileSync(path, bytes);
        const where = `seed ${SEED}, ${file}, mutant ${k}: ${how}`;
        let reader: CaptureReader;
        try {
          reader = openCapture(path, { chunkSize: MIN_CHUNK });
        } catch (e) {
          expect(e, where).toBeInstanceOf(InputError);
          expect((e as Error).message, where).toContain(path);
          refused++;
          continue;
        }
        try {
          drain(reader, bytes.length, batch);
        } catch (e) {
          throw new Error(`${where}: ${(e as Error).message}`);
        } finally {
          reader.close();
        }
        opened++;
        if (reader.damage !== null) damaged++;
      }
    }
    expect(opened).toBeGreaterThan(files.length * ITERATIONS * 0.5);
    expect(refused + damaged).toBeGreaterThan(0);
    // Garbage is fine; growth proportional to the work is not (each reader's chunk is freed on close).
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(128 * 1024 * 1024);
  });
});

describe('fuzzing the decoder with mutated packets and random bytes', () => {
  it('never throws and leaves consistent rows, for every link type', () => {
    const r = rng(SEED + 1);
    const samples = listCaptures(join(CAPTURES, 'formats')).flatMap((p) => {
      try {
        const reader = openCapture(p, { decode: false });
        const batch = new FlowBatch(64), out: Buffer[] = [];
        while (reader.fill(batch) > 0) {
          for (let i = 0; i < batch.count; i++) {
            out.push(Buffer.from(reader.chunk.subarray(batch.dataOffset[i]!, batch.dataOffset[i]! + batch.capturedLength[i]!)));
          }
        }
        reader.close();
        return out;
      } catch {
        return [];
      }
    });
    expect(samples.length).toBeGreaterThan(50);
    const links = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];
    const batch = new FlowBatch(1);
    const buf = new Uint8Array(2048);
    let malformed = 0;
    for (let k = 0; k < 50000; k++) {
      const s = samples[Math.floor(r() * samples.length)]!;
      buf.set(s.subarray(0, buf.length), 16);
      const flips = Math.floor(r() * 4);
      for (let i = 0; i < flips; i++) buf[16 + Math.floor(r() * s.length)]! ^= 1 << Math.floor(r() * 8);
      const len = r() < 0.5 ? s.length : Math.floor(r() * (s.length + 1));
      const wire = r() < 0.8 ? s.length : Math.floor(r() * 70000);
      const link = links[Math.floor(r() * links.length)]!;
      try {
        decodePacket(buf, 16, len, wire, link, batch, 0);
        checkFlow(batch, 0);
      } catch (e) {
        throw new Error(`seed ${SEED + 1}, iteration ${k}, link ${link}: ${(e as Error).message}`);
      }
      if (batch.flags[0]! & RowFlag.MALFORMED) malformed++;
    }
    expect(malformed).toBeGreaterThan(500);
  });
});
