/**
 * The reference model's verdict cache against a Map keyed by the flow as text: the same answers for
 * seeded flows (IPv4 and IPv6, protocols with and without ports, repeats), across every growth and
 * across the restart at its bound.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/clustergen/prng.js';
import { hashTuple } from '../../src/conntrack/table.js';
import { VerdictCache } from '../../src/replay/verdict-cache.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';

const PROTOS = [6, 17, 132, 1, 58, 47];

function randomFlow(batch: FlowBatch, next: () => number): void {
  const v6 = next() < 0.3;
  batch.family[0] = v6 ? 6 : 4;
  for (let w = 0; w < 4; w++) {
    // Few distinct values, so that flows repeat and differ from one another in a single word or field.
    batch.src[w] = v6 || w === 0 ? Math.floor(next() * 6) : 0;
    batch.dst[w] = v6 || w === 0 ? Math.floor(next() * 6) : 0;
  }
  batch.proto[0] = PROTOS[Math.floor(next() * PROTOS.length)]!;
  batch.dstPort[0] = Math.floor(next() * 8);
  batch.srcPort[0] = Math.floor(next() * 65536);
}

/** What the evaluator reads: a port only for TCP, UDP and SCTP; never the source port. */
function text(batch: FlowBatch, ports: boolean): string {
  return [batch.family[0], ...batch.src.subarray(0, 4), '>', ...batch.dst.subarray(0, 4), batch.proto[0], ports ? batch.dstPort[0] : '-'].join(' ');
}

function drive(cache: VerdictCache, oracle: Map<string, number>, flows: number, seed: number, bound: number): { hits: number; restarts: number } {
  const next = mulberry32(seed);
  const batch = new FlowBatch(1);
  let hits = 0;
  let restarts = 0;
  for (let n = 0; n < flows; n++) {
    randomFlow(batch, next);
    const ports = [6, 17, 132].includes(batch.proto[0]!);
    const key = text(batch, ports);
    const found = cache.find(batch, 0, ports);
    expect(found, key).toBe(oracle.get(key) ?? -1);
    if (found >= 0) {
      hits++;
      continue;
    }
    if (oracle.size === bound) {
      oracle.clear();
      restarts++;
    }
    const verdict = next() < 0.5 ? 0 : 1;
    cache.store(verdict);
    oracle.set(key, verdict);
    expect(cache.size).toBe(oracle.size);
  }
  return { hits, restarts };
}

describe('reference verdict cache', () => {
  it('answers as a map of the flows it was told, growing from 4,096 slots to hold them all', () => {
    const oracle = new Map<string, number>();
    const { hits } = drive(new VerdictCache(), oracle, 200_000, 7, Infinity);
    // 6 x 6 addresses (or 6^8 for IPv6), 6 protocols, 8 ports: many repeats, and tens of thousands of flows.
    expect(hits).toBeGreaterThan(50_000);
    expect(oracle.size).toBeGreaterThan(20_000);
  });

  it('tells apart two flows whose hashes collide, differing in the destination port alone', () => {
    // Two TCP flows between the same addresses whose 30-bit hashes are equal: found by search.
    const key = new Uint32Array(10);
    key[0] = 0x0af40003;
    key[4] = 0x0af40002;
    key[8] = (4 << 8) | 6;
    const byHash = new Map<number, number>();
    let pair: [number, number] | null = null;
    for (let dst = 1; pair === null && dst < 1 << 20; dst++) {
      key[4] = 0x0a000000 + (dst >>> 16);
      key[9] = dst & 0xffff;
      const h = hashTuple(key, 0);
      const seen = byHash.get(h);
      if (seen !== undefined && seen >>> 16 === dst >>> 16) pair = [seen, dst];
      else byHash.set(h, dst);
    }
    expect(pair).not.toBeNull();
    const cache = new VerdictCache();
    const batch = new FlowBatch(1);
    const flow = (dst: number): void => {
      batch.family[0] = 4;
      batch.proto[0] = 6;
      batch.src[0] = 0x0af40003;
      batch.dst[0] = 0x0a000000 + (dst >>> 16);
      batch.dstPort[0] = dst & 0xffff;
    };
    flow(pair![0]);
    expect(cache.find(batch, 0, true)).toBe(-1);
    cache.store(1);
    flow(pair![1]);
    expect(cache.find(batch, 0, true)).toBe(-1);
    cache.store(0);
    flow(pair![0]);
    expect(cache.find(batch, 0, true)).toBe(1);
    flow(pair![1]);
    expect(cache.find(batch, 0, true)).toBe(0);
  });

  it('starts again empty past its bound, and answers as before after', () => {
    const oracle = new Map<string, number>();
    const { restarts, hits } = drive(new VerdictCache(4096), oracle, 60_000, 11, 4096);
    expect(restarts).toBeGreaterThan(3);
    expect(hits).toBeGreaterThan(1000);
  });
});
