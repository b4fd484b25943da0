import { mkdtempSync, readFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { LinkType, PcapWriter, memorySink, openPcapWriter } from '../../src/traffic/pcap/writer.js';

const require = createRequire(import.meta.url);
const pcapp = require('pcap-parser') as { parse(s: NodeJS.ReadableStream): NodeJS.EventEmitter };

interface Rec { sec: number; usec: number; caplen: number; len: number; data: Buffer }

function readWithPcapParser(path: string): Promise<{ link: number; records: Rec[] }> {
  return new Promise((resolve, reject) => {
    const parser = pcapp.parse(createReadStream(path));
    let link = -1;
    const records: Rec[] = [];
    parser.on('globalHeader', (h: { linkLayerType: number }) => { link = h.linkLayerType; });
    parser.on('packet', (p: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }) => {
      records.push({ sec: p.header.timestampSeconds, usec: p.header.timestampMicroseconds, caplen: p.header.capturedLength, len: p.header.originalLength, data: Buffer.from(p.data) });
    });
    parser.on('error', reject);
    parser.on('end', () => resolve({ link, records }));
  });
}

function frame(n: number, fill: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (fill + i) & 255;
  return b;
}

describe('pcap writer', () => {
  it('writes records that pcap-parser reads back identically, across buffer flushes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ns-writer-')), 'w.pcap');
    // A small buffer forces many flushes, so the flush path is exercised.
    const w = openPcapWriter(path, { linkType: LinkType.RAW, bufferSize: 2000, snapLength: 1600 });
    const sizes = [60, 1500, 64, 576, 1, 1514, 40];
    sizes.forEach((n, i) => w.write(1700000000 + i, i * 1_000_123, frame(n, i), 0, n, n + 4));
    w.close();
    const got = await readWithPcapParser(path);
    expect(got.link).toBe(LinkType.RAW);
    expect(got.records.map((r) => r.caplen)).toEqual(sizes);
    got.records.forEach((r, i) => {
      expect(r.sec).toBe(1700000000 + i);
      expect(r.usec).toBe(Math.floor((i * 1_000_123) / 1000));
      expect(r.len).toBe(sizes[i]! + 4);
      expect(Buffer.compare(r.data, Buffer.from(frame(sizes[i]!, i)))).toBe(0);
    });
    expect(w.records).toBe(sizes.length);
    expect(readFileSync(path).length).toBe(w.bytes);
  });

  it('copies from an offset inside a larger chunk', () => {
    const sink = memorySink();
    const w = new PcapWriter(sink);
    const chunk = frame(100, 7);
    w.write(1, 0, chunk, 30, 20);
    w.close();
    const out = sink.result();
    expect(out.length).toBe(24 + 16 + 20);
    expect(Buffer.from(out.subarray(40))).toEqual(Buffer.from(chunk.subarray(30, 50)));
  });

  it('writes the nanosecond magic and keeps nanoseconds whole', () => {
    const sink = memorySink();
    const w = new PcapWriter(sink, { nanosecond: true });
    w.write(5, 123_456_789, frame(10, 0), 0, 10);
    w.close();
    const v = new DataView(sink.result().buffer);
    expect(v.getUint32(0, true)).toBe(0xa1b23c4d);
    expect(v.getUint32(24 + 4, true)).toBe(123_456_789);
  });

  it('refuses a record longer than the snapshot length', () => {
    const w = new PcapWriter(memorySink(), { snapLength: 100 });
    expect(() => w.write(0, 0, frame(101, 0), 0, 101)).toThrow(/snapshot length/);
  });

  it('builds records in place through reserve without a copy', () => {
    const sink = memorySink();
    const w = new PcapWriter(sink, { bufferSize: 64 });
    for (let i = 0; i < 5; i++) {
      const at = w.reserve(i, 0, 30, 30);
      w.buffer.fill(i + 1, at, at + 30);
    }
    w.close();
    const out = sink.result();
    expect(out.length).toBe(24 + 5 * 46);
    for (let i = 0; i < 5; i++) expect(out[24 + i * 46 + 16 + 29]).toBe(i + 1);
  });
});

describe('pcap writer begin/commit', () => {
  it('builds a record of a length known only afterwards, across flushes', () => {
    const sink = memorySink();
    const w = new PcapWriter(sink, { bufferSize: 100, snapLength: 60 });
    for (let i = 0; i < 6; i++) {
      const at = w.begin(60);
      w.buffer.fill(0xa0 + i, at, at + 10 + i);
      w.commit(i, 0, 10 + i);
    }
    w.close();
    const out = sink.result();
    let at = 24;
    for (let i = 0; i < 6; i++) {
      const v = new DataView(out.buffer, at);
      expect(v.getUint32(8, true)).toBe(10 + i);
      expect(out[at + 16]).toBe(0xa0 + i);
      at += 16 + 10 + i;
    }
    expect(at).toBe(out.length);
  });
});
