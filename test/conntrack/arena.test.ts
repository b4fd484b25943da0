import { describe, expect, it } from 'vitest';
import { carveArrays } from '../../src/conntrack/arena.js';
import { newConntrack } from '../../src/conntrack/index.js';

describe('carveArrays: the tracker\'s arrays over one supplied buffer', () => {
  it('gives each array its length over disjoint, 64-byte aligned ranges of the one buffer', () => {
    let given: ArrayBuffer | null = null;
    const a = carveArrays({ d: [Float64Array, 3], b: [Uint8Array, 5], w: [Int32Array, 17] } as const, (n) => (given = new ArrayBuffer(n)));
    expect([a.d.length, a.b.length, a.w.length]).toEqual([3, 5, 17]);
    for (const x of [a.d, a.b, a.w]) {
      expect(x.buffer).toBe(given);
      expect(x.byteOffset % 64).toBe(0);
    }
    a.d.fill(-1);
    a.w.fill(-1);
    expect(Array.from(a.b)).toEqual([0, 0, 0, 0, 0]);
  });

  it('refuses a buffer smaller than asked for', () => {
    expect(() => carveArrays({ d: [Float64Array, 100] } as const, () => new ArrayBuffer(64))).toThrow(/gave 64 bytes for 832/);
  });

  it('a tracker over a supplied allocator takes its entry arrays from it, empty', () => {
    const buffers: ArrayBuffer[] = [];
    const ct = newConntrack({ capacity: 1000, allocate: (n) => { const b = new ArrayBuffer(n); buffers.push(b); return b; } });
    expect(buffers).toHaveLength(1);
    for (const x of [ct.table.tuples, ct.table.slots, ct.expires, ct.status]) expect(x.buffer).toBe(buffers[0]);
    // Empty, and no entry's memory touched yet: entries are taken (and their arrays written) one by one.
    expect(Array.from(ct.table.meta)).toEqual([-1, -1, 0, 0, 0]);
    for (const x of [ct.table.free, ct.table.prev, ct.table.next, ct.table.tuples]) expect(x.every((v) => v === 0)).toBe(true);
  });
});
