/**
 * Every capture in captures/formats and captures/damaged against its row in captures/formats/expected.json
 * (written by make_captures.py from how each packet was built): records, decoded flow of every row,
 * timestamps, link types, and where and why a damaged file stops.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { openCapture } from '../../../src/traffic/pcap/reader.js';
import { readAll, type Row } from './rows.js';

const CAPTURES = join(import.meta.dirname, '../../../captures');

interface Expected {
  format: string | null;
  records: number;
  linkTypes: number[];
  rows: Row[];
  damage: { offset: number; reason: string } | null;
  error: string | null;
}

const table = JSON.parse(readFileSync(join(CAPTURES, 'formats/expected.json'), 'utf8')) as Record<string, Expected>;

describe('shipped captures read as expected.json says', () => {
  it('covers every format and link type the brief lists', () => {
    const linkTypes = new Set(Object.values(table).flatMap((e) => e.linkTypes));
    for (const lt of [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]) expect(linkTypes).toContain(lt);
    expect(Object.values(table).filter((e) => e.damage !== null).length).toBeGreaterThanOrEqual(7);
  });

  for (const [name, want] of Object.entries(table)) {
    const path = join(CAPTURES, name);
    if (want.error !== null) {
      it(`${name} is refused: ${want.error}`, () => {
        expect(() => openCapture(path)).toThrow(InputError);
        expect(() => openCapture(path)).toThrow(path);
        expect(() => openCapture(path)).toThrow(want.error!);
      });
      continue;
    }
    it(`${name}: ${want.records} records${want.damage ? `, damage at ${want.damage.offset}` : ''}`, () => {
      const got = readAll(path, 3);
      expect(got.format).toBe(want.format);
      expect(got.recordsRead).toBe(want.records);
      got.rows.forEach((r, i) => {
        const { recordIndex, linkType, wireLength, capturedLength, bytes, ...flow } = r;
        expect(flow, `${name} row ${i}`).toEqual(want.rows[i]);
        expect(recordIndex).toBe(i);
        expect(want.linkTypes).toContain(linkType);
        expect(capturedLength).toBe(bytes.length / 2);
        expect(wireLength).toBeGreaterThanOrEqual(capturedLength);
      });
      expect(new Set(got.rows.map((r) => r.linkType))).toEqual(new Set(want.linkTypes));
      if (want.damage === null) expect(got.damage).toBeNull();
      else {
        expect(got.damage?.offset).toBe(want.damage.offset);
        expect(got.damage?.reason).toContain(want.damage.reason);
        expect(got.bytesRead).toBe(want.damage.offset);
      }
    });
  }
});
