import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/clustergen/prng.js';
import { groupDigits } from '../../src/report/digits.js';

describe('groupDigits', () => {
  it('writes whole numbers as toLocaleString(\'en-US\') does', () => {
    const next = mulberry32(3);
    const values = [0, 1, 999, 1000, 1001, 999_999, 1_000_000, Number.MAX_SAFE_INTEGER, -1, -1000, -Number.MAX_SAFE_INTEGER];
    for (let k = 0; k < 5000; k++) {
      const digits = 1 + Math.floor(next() * 16);
      values.push(Math.floor(next() * 10 ** digits) * (next() < 0.2 ? -1 : 1));
    }
    for (const v of values) expect(groupDigits(v), String(v)).toBe(v.toLocaleString('en-US'));
  });

  it('hands anything else to toLocaleString', () => {
    for (const v of [12.5, 1234.5678, 2 ** 60, Infinity, NaN]) expect(groupDigits(v)).toBe(v.toLocaleString('en-US'));
  });
});
