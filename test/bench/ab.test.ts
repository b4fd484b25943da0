import { describe, expect, test } from 'vitest';
import { pairStats } from '../../bench/ab.js';

describe('bench:ab pair statistics', () => {
  test('the median and quartiles are of the per-pair ratios, not ratios of medians', () => {
    // Pairs in two host modes: the builds' own medians are 4 and 5.5 (ratio 1.375), the pairs say 1.1.
    const base = [4, 4, 4, 5, 5];
    const trial = [4.4, 4.4, 5.5, 5.5, 6.6];
    const s = pairStats(base, trial);
    expect(s.median).toBeCloseTo(1.1, 10);
    expect(s.q1).toBeCloseTo(1.1, 10);
    expect(s.q3).toBeCloseTo(1.32, 10);
  });

  test('the trial is the numerator: a slower trial gives a ratio below 1', () => {
    expect(pairStats([10, 10, 10], [8, 9, 9.5]).median).toBeCloseTo(0.9, 10);
  });

  test('mismatched or empty series are refused', () => {
    expect(() => pairStats([1, 2], [1])).toThrow(/2 base and 1 trial/);
    expect(() => pairStats([], [])).toThrow(/0 base and 0 trial/);
  });
});
