import { describe, expect, it } from 'vitest';
import { TupleInterner } from '../../src/report/tuple-interner.js';
import { makeRng } from '../support/rng.js';

function internWords(t: TupleInterner, words: readonly number[]): number {
  t.probe.set(words);
  return t.intern();
}

describe('TupleInterner', () => {
  it('gives dense ids in order of first appearance, the same id to the same tuple, through many growths', () => {
    const t = new TupleInterner(3, 2, 4);
    // 400,000 random tuples: a dozen or so pairs share their 32-bit hash, so telling tuples apart by
    // their words (not by the hash alone) is exercised too.
    const rng = makeRng(11);
    const words = Array.from({ length: 800_000 }, () => rng.int(0, 0xffffffff));
    const tuple = (k: number) => [0, words[2 * k]!, words[2 * k + 1]!];
    let wrong = 0;
    for (let k = 0; k < 400_000; k++) if (internWords(t, tuple(k)) !== k) wrong++;
    for (let k = 399_999; k >= 0; k -= 3) if (internWords(t, tuple(k)) !== k) wrong++;
    expect(wrong).toBe(0);
    expect(t.size).toBe(400_000);
    expect(Array.from(t.keys.subarray(3 * 12_345, 3 * 12_346))).toEqual(tuple(12_345));
  });

  it('tells apart tuples that differ in one word only, whichever word', () => {
    const t = new TupleInterner(5, 1);
    const base = [4, 0x0af40003, 0, 0, 0];
    expect(internWords(t, base)).toBe(0);
    for (let w = 0; w < 5; w++) {
      const other = [...base];
      other[w] = (other[w]! + 1) >>> 0;
      expect(internWords(t, other)).toBe(w + 1);
    }
    expect(internWords(t, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff])).toBe(6);
    expect(internWords(t, base)).toBe(0);
  });

  it('keeps each id\'s sums apart and through growth', () => {
    const t = new TupleInterner(1, 2, 2);
    for (let k = 0; k < 1000; k++) {
      const id = internWords(t, [k % 100]);
      t.addTo(id, 0, k);
      t.addTo(id, 1, 1);
    }
    expect(t.size).toBe(100);
    for (let id = 0; id < 100; id++) {
      // Tuple id was interned for k = id, id + 100, ..., id + 900.
      expect(t.sum(id, 0)).toBe(10 * id + 4500);
      expect(t.sum(id, 1)).toBe(10);
    }
  });
});
