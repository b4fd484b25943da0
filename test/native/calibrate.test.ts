/**
 * The bench's calibration loops (native/src/calibrate.cc): they run and report wall seconds, on one
 * thread and on several, and refuse arguments they cannot honour with a message that says what they take.
 * (What the seconds are is the bench's to report: no timing is asserted here.)
 */
import { describe, expect, it } from 'vitest';
import { requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

d('machineCeiling', () => {
  it('runs each loop on one thread and on three, and gives wall seconds', () => {
    for (const kind of ['narrow', 'wide'] as const) {
      for (const threads of [1, 3]) {
        const s = addon!.machineCeiling(kind, threads, 1e5);
        expect(Number.isFinite(s) && s > 0, `${kind} x${threads}: ${s}`).toBe(true);
      }
    }
  });

  it('refuses an unknown loop, a thread count out of 1-64 or not whole, and a round count out of range', () => {
    const bad: [string, number, number][] = [['medium', 1, 10], ['wide', 0, 10], ['wide', 65, 10], ['wide', 1.5, 10], ['narrow', 1, 0], ['narrow', 1, 2e10], ['narrow', 1, Number.NaN]];
    for (const [kind, threads, rounds] of bad) {
      expect(() => addon!.machineCeiling(kind as 'wide', threads, rounds), `${kind} ${threads} ${rounds}`).toThrow(/kind 'narrow' or 'wide', threads a whole number from 1 to 64, rounds from 1 to 1e10/);
    }
  });
});
