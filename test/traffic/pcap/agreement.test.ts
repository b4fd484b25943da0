/**
 * pcap-parser is the reference reader for classic pcap: every shipped classic capture is read by both,
 * and the records must be identical (timestamps, lengths, bytes). pcap-parser knows only the microsecond
 * magic, so a nanosecond file is handed to it with the magic rewritten: its "microseconds" field is then
 * the raw sub-second field, which must equal our nanoseconds. On a damaged file we stop at the damage
 * where pcap-parser may read on (it trusts any captured length): the records before it must agree.
 */
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { readAll } from './rows.js';

interface ParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}
interface Parser {
  on(event: 'packet', f: (p: ParserPacket) => void): void;
  on(event: 'end', f: () => void): void;
  on(event: 'error', f: (e: Error) => void): void;
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(input: Readable): Parser };

const CAPTURES = join(import.meta.dirname, '../../../captures');

function classicCaptures(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return classicCaptures(path);
    return name.endsWith('.pcap') ? [path] : [];
  });
}

function referenceRead(bytes: Buffer): Promise<{ packets: ParserPacket[]; nano: boolean }> {
  const copy = Buffer.from(bytes);
  const magic = copy.length >= 4 ? copy.readUInt32LE(0) : 0;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (magic === 0xa1b23c4d) copy.writeUInt32LE(0xa1b2c3d4, 0);
  if (magic === 0x4d3cb2a1) copy.writeUInt32BE(0xa1b2c3d4, 0);
  return new Promise((resolve, reject) => {
    const packets: ParserPacket[] = [];
    const parser = pcapParser.parse(Readable.from([copy]));
    parser.on('packet', (p) => packets.push({ header: { ...p.header }, data: Buffer.from(p.data) }));
    parser.on('error', reject);
    parser.on('end', () => resolve({ packets, nano }));
  });
}

const files = classicCaptures(CAPTURES);

describe('netsieve and pcap-parser read the same records', () => {
  it('finds the shipped classic captures', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  for (const path of files) {
    it(path.slice(CAPTURES.length + 1), async () => {
      let ours;
      try {
        ours = readAll(path, 5, { decode: false });
      } catch (e) {
        expect(e).toBeInstanceOf(InputError); // refused files (empty, not a capture) have no records to compare
        return;
      }
      const ref = await referenceRead(readFileSync(path));
      if (ours.damage === null) expect(ours.rows.length).toBe(ref.packets.length);
      else expect(ref.packets.length).toBeGreaterThanOrEqual(ours.rows.length);
      ours.rows.forEach((r, i) => {
        const h = ref.packets[i]!.header;
        expect(r.tsSec, `record ${i}`).toBe(h.timestampSeconds);
        expect(r.tsNsec, `record ${i}`).toBe(ref.nano ? h.timestampMicroseconds : h.timestampMicroseconds * 1000);
        expect(r.capturedLength, `record ${i}`).toBe(h.capturedLength);
        expect(r.wireLength, `record ${i}`).toBe(h.originalLength);
        expect(r.bytes, `record ${i}`).toBe(ref.packets[i]!.data.toString('hex'));
      });
    });
  }
});
