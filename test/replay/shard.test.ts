import { describe, expect, it } from 'vitest';
import { FlowBatch, RowFlag } from '../../src/wire/flow-batch.js';
import { shardOf } from '../../src/replay/shard.js';
import { COPIED_COLUMNS, copyRow, LEFT_COLUMNS, SHARED_COLUMNS, sharedSlot } from '../../src/replay/slots.js';
import { mulberry32 } from '../../src/clustergen/prng.js';

function fillRow(b: FlowBatch, i: number, rnd: () => number): void {
  b.family[i] = 4;
  for (let w = 0; w < 4; w++) {
    b.src[i * 4 + w] = (rnd() * 2 ** 32) >>> 0;
    b.dst[i * 4 + w] = (rnd() * 2 ** 32) >>> 0;
    b.innerSrc[i * 4 + w] = (rnd() * 2 ** 32) >>> 0;
    b.innerDst[i * 4 + w] = (rnd() * 2 ** 32) >>> 0;
  }
  b.proto[i] = 6;
  b.srcPort[i] = (rnd() * 65536) | 0;
  b.dstPort[i] = (rnd() * 65536) | 0;
  b.innerProto[i] = 17;
}

function swapEnds(b: FlowBatch, i: number): void {
  for (let w = 0; w < 4; w++) {
    const s = b.src[i * 4 + w]!;
    b.src[i * 4 + w] = b.dst[i * 4 + w]!;
    b.dst[i * 4 + w] = s;
  }
  const p = b.srcPort[i]!;
  b.srcPort[i] = b.dstPort[i]!;
  b.dstPort[i] = p;
}

describe('replay shards', () => {
  it('a connection lands in one shard from both directions, whatever its ports (fragments carry none)', () => {
    const b = new FlowBatch(1);
    const rnd = mulberry32(3);
    const seen = new Set<number>();
    for (let k = 0; k < 2000; k++) {
      fillRow(b, 0, rnd);
      const there = shardOf(b, 0, 3);
      seen.add(there);
      swapEnds(b, 0);
      expect(shardOf(b, 0, 3)).toBe(there);
      b.srcPort[0] = 0;
      b.dstPort[0] = 0;
      b.flags[0] = RowFlag.LATER_FRAGMENT;
      expect(shardOf(b, 0, 3)).toBe(there);
      b.flags[0] = 0;
    }
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });

  it('pod-like addresses (one /16, numbered in order) spread evenly over 2, 3 and 8 shards', () => {
    const b = new FlowBatch(1);
    for (const n of [2, 3, 8]) {
      const counts = new Array<number>(n).fill(0);
      const rows = 40_000;
      for (let k = 0; k < rows; k++) {
        b.family[0] = 4;
        b.proto[0] = k % 7 === 0 ? 17 : 6;
        b.src[0] = (0x0a000000 + (k % 5000)) >>> 0;
        b.dst[0] = (0x0a000000 + ((k * 7919) % 5000) + 5000) >>> 0;
        counts[shardOf(b, 0, n)]! += 1;
      }
      for (const c of counts) expect(Math.abs(c - rows / n) / (rows / n)).toBeLessThan(0.1);
    }
  });

  it('an ICMP error goes to the shard of the flow it quotes', () => {
    const b = new FlowBatch(2);
    const rnd = mulberry32(5);
    for (let k = 0; k < 500; k++) {
      fillRow(b, 0, rnd);
      fillRow(b, 1, rnd);
      // Row 1 quotes row 0's flow (as sent by row 0's source), and comes from elsewhere.
      for (let w = 0; w < 4; w++) {
        b.innerSrc[4 + w] = b.src[w]!;
        b.innerDst[4 + w] = b.dst[w]!;
      }
      b.innerProto[1] = b.proto[0]!;
      b.proto[1] = 1;
      b.flags[1] = RowFlag.ICMP_ERROR;
      expect(shardOf(b, 1, 4)).toBe(shardOf(b, 0, 4));
    }
  });

  it('copyRow carries every FlowBatch column the stage reads; a new column must be named either way', () => {
    expect([...COPIED_COLUMNS, ...LEFT_COLUMNS].sort()).toEqual([...SHARED_COLUMNS].sort());
    const from = new FlowBatch(3);
    const slot = sharedSlot(3);
    const rnd = mulberry32(9);
    const cols = from as unknown as Record<string, Uint32Array>;
    for (const name of COPIED_COLUMNS) {
      const a = cols[name]!;
      for (let k = 0; k < a.length; k++) a[k] = (rnd() * 200) | 0;
    }
    copyRow(from, 2, slot.batch, 1);
    const to = slot.batch as unknown as Record<string, Uint32Array>;
    for (const name of COPIED_COLUMNS) {
      const per = cols[name]!.length / 3;
      expect([...to[name]!.subarray(per, 2 * per)], name).toEqual([...cols[name]!.subarray(2 * per, 3 * per)]);
      expect(to[name]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });
});
