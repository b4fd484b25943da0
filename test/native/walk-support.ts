/** Captures for the native walk tests: synth sessions, rewritten into other byte orders and units, and damaged. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterIndex } from '../../src/model/cluster-index.js';
import { memorySink } from '../../src/traffic/pcap/writer.js';
import { parseSize, synthToSink } from '../../src/traffic/synth/index.js';
import { makeRng } from '../support/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'ns-walk-'));
let files = 0;

export function writeTemp(bytes: Uint8Array, name: string): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, bytes);
  return path;
}

/** Synth sessions as a little-endian microsecond pcap (the writer's own form), in memory. */
export function synthBytes(index: ClusterIndex, packets: number, size: string, seed: number): Uint8Array {
  const sink = memorySink();
  synthToSink(index, { packets, seed, size: parseSize(size) }, sink);
  return sink.result();
}

/**
 * The same capture rewritten: big-endian and/or nanosecond (every header field swapped, sub-seconds times
 * 1000 and the nanosecond magic), so that both byte orders and units cross chunk boundaries too.
 */
export function rewrite(le: Uint8Array, bigEndian: boolean, nano: boolean): Uint8Array {
  const out = Uint8Array.from(le);
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const dst = new DataView(out.buffer);
  const w32 = (o: number, v: number): void => dst.setUint32(o, v, !bigEndian);
  w32(0, nano ? 0xa1b23c4d : 0xa1b2c3d4);
  dst.setUint16(4, src.getUint16(4, true), !bigEndian);
  dst.setUint16(6, src.getUint16(6, true), !bigEndian);
  for (const o of [8, 12, 16, 20]) w32(o, src.getUint32(o, true));
  for (let p = 24; p + 16 <= le.length;) {
    const caplen = src.getUint32(p + 8, true);
    w32(p, src.getUint32(p, true));
    w32(p + 4, src.getUint32(p + 4, true) * (nano ? 1000 : 1));
    w32(p + 8, caplen);
    w32(p + 12, src.getUint32(p + 12, true));
    p += 16 + caplen;
  }
  return out;
}

/** Record header offsets of a well-formed capture in the given byte order. */
export function recordOffsets(bytes: Uint8Array, littleEndian: boolean): number[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let p = 24; p + 16 <= bytes.length; p += 16 + v.getUint32(p + 8, littleEndian)) out.push(p);
  return out;
}

/**
 * Damaged copies of a capture, each with the damage past the first chunk: cut inside a record header,
 * cut inside a record's data, a captured length above the snapshot length, and an absurd one.
 */
export function damaged(bytes: Uint8Array, littleEndian: boolean, seed: number): { name: string; bytes: Uint8Array }[] {
  const rng = makeRng(seed);
  const offsets = recordOffsets(bytes, littleEndian).filter((o) => o > 600_000);
  const at = (): number => offsets[rng.int(0, offsets.length - 1)]!;
  const withCaplen = (caplen: number): Uint8Array => {
    const out = Uint8Array.from(bytes);
    new DataView(out.buffer).setUint32(at() + 8, caplen, littleEndian);
    return out;
  };
  const snaplen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(16, littleEndian);
  return [
    { name: 'cut-in-header', bytes: bytes.slice(0, at() + rng.int(1, 15)) },
    { name: 'cut-in-data', bytes: bytes.slice(0, at() + 16 + rng.int(1, 40)) },
    { name: 'over-snaplen', bytes: withCaplen(snaplen + 1) },
    { name: 'absurd', bytes: withCaplen(0x7fffffff) },
  ];
}
