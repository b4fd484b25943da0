/**
 * A small seeded PRNG for tests and generators: mulberry32 (32-bit state, full period 2^32, good enough
 * for test-case generation and fast). Never Math.random: every run of a seed must be the same run.
 */
import { mulberry32 } from '../../src/clustergen/prng.js';

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Each item kept independently with probability p, order kept. */
  subset<T>(items: readonly T[], p: number): T[];
  /** A choice by weight: `[[weight, value], ...]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T;
}

export { mulberry32 };

export function makeRng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('rng.pick from an empty list');
      return items[int(0, items.length - 1)]!;
    },
    subset: (items, p) => items.filter(() => next() < p),
    weighted: (choices) => {
      const total = choices.reduce((s, [w]) => s + w, 0);
      let r = next() * total;
      for (const [w, v] of choices) {
        if (r < w) return v;
        r -= w;
      }
      return choices[choices.length - 1]![1];
    },
  };
}
