/**
 * The streaming reader's own behaviour: records that straddle chunk boundaries, blocks larger than the
 * chunk, pipes, refusals, damage in the middle of a large file, and pcapng clock arithmetic.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { FlowBatch } from '../../../src/wire/flow-batch.js';
import { openCapture } from '../../../src/traffic/pcap/reader.js';
import { MIN_CHUNK } from '../../../src/traffic/pcap/capture.js';
import { Interfaces } from '../../../src/traffic/pcap/interfaces.js';
import { ngBlock, ngHeader, ngPacket, pcapFile, udpFrame } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'netsieve-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 20 000 frames of 42..1541 bytes: about 16 MB, so 30+ chunks of MIN_CHUNK. */
const SIZES = Array.from({ length: 20000 }, (_, i) => 42 + ((i * 7919) % 1500));
const FRAMES = SIZES.map((s, i) => udpFrame(s, i % 65536));

interface Summary { records: number; ports: number[]; lengths: number[]; digest: string; damage: unknown; bytesRead: number }

function summarize(path: string, capacity: number, chunkSize?: number): Summary {
  const reader = openCapture(path, chunkSize ? { chunkSize } : {});
  const batch = new FlowBatch(capacity);
  const hash = createHash('sha256');
  const ports: number[] = [], lengths: number[] = [];
  try {
    while (reader.fill(batch) > 0) {
      for (let i = 0; i < batch.count; i++) {
        ports.push(batch.srcPort[i]!);
        lengths.push(batch.capturedLength[i]!);
        hash.update(reader.chunk.subarray(batch.dataOffset[i]!, batch.dataOffset[i]! + batch.capturedLength[i]!));
      }
    }
    expect(reader.fill(batch)).toBe(0); // stays at the end
    expect(batch.count).toBe(0);
    return { records: reader.recordsRead, ports, lengths, digest: hash.digest('hex'), damage: reader.damage, bytesRead: reader.bytesRead };
  } finally {
    reader.close();
  }
}

function expectedDigest(frames: Buffer[]): string {
  const hash = createHash('sha256');
  for (const f of frames) hash.update(f);
  return hash.digest('hex');
}

describe('records across chunk boundaries', () => {
  const pcapPath = join(dir, 'many.pcap');
  const pcap = pcapFile(FRAMES);
  writeFileSync(pcapPath, pcap);

  it('classic pcap: the smallest chunk and the default chunk return every record, whole and in order', () => {
    const small = summarize(pcapPath, 61, MIN_CHUNK);
    const big = summarize(pcapPath, 1000);
    expect(small.records).toBe(FRAMES.length);
    expect(small.ports).toEqual(FRAMES.map((_, i) => i % 65536));
    expect(small.lengths).toEqual(SIZES);
    expect(small.digest).toBe(expectedDigest(FRAMES));
    expect(small).toEqual(big);
    expect(small.damage).toBeNull();
    expect(small.bytesRead).toBe(pcap.length);
  });

  it('pcapng: the same, with an unknown block larger than the chunk skipped in the middle', () => {
    const path = join(dir, 'many.pcapng');
    const huge = ngBlock(0x40000bad, Buffer.alloc(3 * MIN_CHUNK + 4, 0xab));
    const blocks = FRAMES.map((f, i) => ngPacket(f, BigInt(1700000000 + i) * 1000000n));
    const file = Buffer.concat([ngHeader(), ...blocks.slice(0, 9000), huge, ...blocks.slice(9000)]);
    writeFileSync(path, file);
    const small = summarize(path, 61, MIN_CHUNK);
    expect(small.records).toBe(FRAMES.length);
    expect(small.digest).toBe(expectedDigest(FRAMES));
    expect(small.damage).toBeNull();
    expect(small.bytesRead).toBe(file.length);
    expect(summarize(path, 1000)).toEqual(small);
  });

  it('pcapng: a file that ends inside a block larger than the chunk is damage at that block', () => {
    const path = join(dir, 'cut-huge.pcapng');
    const head = Buffer.concat([ngHeader(), ngPacket(FRAMES[0]!, 0n)]);
    const huge = ngBlock(0x40000bad, Buffer.alloc(2 * MIN_CHUNK));
    writeFileSync(path, Buffer.concat([head, huge.subarray(0, huge.length - 100)]));
    const s = summarize(path, 8, MIN_CHUNK);
    expect(s.records).toBe(1);
    expect(s.damage).toEqual({ offset: head.length, reason: expect.stringContaining('file ends inside') });
  });

  it('a damaged record deep in a large file keeps every record before it', () => {
    const path = join(dir, 'damaged-deep.pcap');
    const bad = Buffer.from(pcap);
    let at = 24;
    for (let i = 0; i < 15000; i++) at += 16 + SIZES[i]!;
    bad.writeUInt32LE(300000, at + 8); // record 15000 claims 300 000 captured bytes
    writeFileSync(path, bad);
    const s = summarize(path, 64, MIN_CHUNK);
    expect(s.records).toBe(15000);
    expect(s.lengths).toEqual(SIZES.slice(0, 15000));
    expect(s.damage).toEqual({ offset: at, reason: expect.stringContaining('absurd') });
    expect(s.bytesRead).toBe(at);
  });

  it('reads a pipe (no seeking) the same as a file', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', pcapPath, fifo], { stdio: 'ignore' });
    const done = new Promise((resolve) => writer.on('exit', resolve));
    try {
      const s = summarize(fifo, 100, MIN_CHUNK);
      expect(s.records).toBe(FRAMES.length);
      expect(s.digest).toBe(expectedDigest(FRAMES));
    } finally {
      writer.kill();
      await done;
    }
  });
});

describe('memory stays one chunk whatever the capture size', () => {
  it('streams 1 GiB through a pipe with resident memory flat', async () => {
    // A child writes a pcap header and then the same 1 MiB of 1514-byte records over and over: the
    // capture never exists on disk, so nothing but streaming can read it.
    const fifo = join(dir, 'big-fifo');
    execFileSync('mkfifo', [fifo]);
    const perBlock = Math.floor((1 << 20) / (16 + 1514));
    const blocks = 1024;
    const script = `
      const fs = require('fs');
      const f = Buffer.alloc(1514); f.writeUInt16BE(0x0800, 12); f[14] = 0x45; f.writeUInt16BE(1500, 16); f[23] = 17;
      const rec = Buffer.alloc(16); rec.writeUInt32LE(1514, 8); rec.writeUInt32LE(1514, 12);
      const block = Buffer.concat(Array.from({ length: ${perBlock} }, () => Buffer.concat([rec, f])));
      const head = Buffer.alloc(24); head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6);
      head.writeUInt32LE(65535, 16); head.writeUInt32LE(1, 20);
      const fd = fs.openSync(process.argv[1], 'w');
      fs.writeSync(fd, head);
      for (let i = 0; i < ${blocks}; i++) fs.writeSync(fd, block);
      fs.closeSync(fd);`;
    const writer = spawn(process.execPath, ['-e', script, fifo], { stdio: 'ignore' });
    const done = new Promise((resolve) => writer.on('exit', resolve));
    try {
      const reader = openCapture(fifo);
      const batch = new FlowBatch(1024);
      let records = 0, peak = 0;
      const rss0 = process.memoryUsage().rss;
      while (reader.fill(batch) > 0) {
        records += batch.count;
        if ((records & 0xffff) < batch.count) peak = Math.max(peak, process.memoryUsage().rss - rss0);
      }
      reader.close();
      expect(records).toBe(perBlock * blocks);
      expect(reader.bytesRead).toBe(24 + perBlock * blocks * (16 + 1514)); // just under 1 GiB
      expect(reader.damage).toBeNull();
      expect(peak).toBeLessThan(64 * 1024 * 1024);
    } finally {
      writer.kill();
      await done;
    }
  });
});

describe('refusals name the file', () => {
  it('a missing file', () => {
    const path = join(dir, 'no-such.pcap');
    expect(() => openCapture(path)).toThrow(InputError);
    expect(() => openCapture(path)).toThrow(`${path}: cannot open capture: ENOENT`);
  });

  it('a directory', () => {
    const path = join(dir, 'a-directory');
    mkdirSync(path);
    expect(() => openCapture(path)).toThrow(`${path}: is a directory`);
  });

  it('a pcapng file whose first block has no byte-order magic', () => {
    const path = join(dir, 'bad-bom.pcapng');
    const head = ngHeader();
    head.writeUInt32LE(0x12345678, 8);
    writeFileSync(path, head);
    expect(() => openCapture(path)).toThrow(`${path}: pcapng section header at byte 0 has no valid byte-order magic`);
  });

  it('a classic pcap of another major version', () => {
    const path = join(dir, 'v3.pcap');
    const file = pcapFile([FRAMES[0]!]);
    file.writeUInt16LE(3, 4);
    writeFileSync(path, file);
    expect(() => openCapture(path)).toThrow(`${path}: pcap version 3.4 is not 2.x`);
  });
});

describe('pcapng clocks', () => {
  /** Seconds and nanoseconds of a 64-bit count of 1/units seconds, by exact BigInt arithmetic. */
  function reference(count: bigint, units: bigint): [number, number] {
    return [Number(count / units), Number(((count % units) * 1000000000n) / units)];
  }

  it('splits 64-bit timestamps exactly for powers of ten and of two', () => {
    const ifs = new Interfaces();
    const resolutions = [0, 3, 6, 9, 12, 0x80, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 32];
    for (const r of resolutions) expect(ifs.add(1, 0, r, 0)).toBeNull();
    const batch = new FlowBatch(1);
    const view = new DataView(new ArrayBuffer(8));
    let seed = 12345;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let k = 0; k < 2000; k++) {
      const i = k % resolutions.length;
      const r = resolutions[i]!;
      const units = r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r);
      // A plausible count (around now) half the time, any 64-bit value the other half.
      // (Picoseconds since 1970 overflow 64 bits: such counts wrap, as they would in the file.)
      const count = (k % 2 === 0 ? BigInt(1700000000 + (next() % 100000000)) * units + BigInt(next()) % units
        : (BigInt(next()) << 32n) | BigInt(next())) & 0xffffffffffffffffn;
      // pcapng: the high 32 bits first, then the low, each in the section's byte order.
      const le = k % 3 !== 0;
      view.setUint32(0, Number(count >> 32n), le);
      view.setUint32(4, Number(count & 0xffffffffn), le);
      ifs.stamp(i, view, 0, le, batch, 0);
      const [sec, ns] = reference(count, units);
      // Seconds beyond 2^53 cannot be exact doubles; compare those as doubles.
      expect(batch.tsSec[0], `count ${count} units ${units}`).toBe(sec);
      if (units <= 1000000000n || units % 1000000000n === 0n) expect(batch.tsNsec[0], `count ${count} units ${units}`).toBe(ns);
      else expect(Math.abs(batch.tsNsec[0]! - ns)).toBeLessThanOrEqual(1);
    }
  });

  it('refuses an if_tsresol beyond 2^-63', () => {
    expect(new Interfaces().add(1, 0, 0x80 | 64, 0)).toContain('out of range');
  });
});
