/**
 * bench/cold.ts: its summary is the medians and quartiles of the rounds it is given (nothing
 * hard-coded: change a run, the figures change), its table carries them, and one CLI run on the seed
 * capture gives the report's replay seconds inside the process's wall time. No timing threshold.
 */
import { describe, expect, it } from 'vitest';
import { cliRun, coldTable, type ColdRound, summarizeCold } from '../../bench/cold.js';
import { BIN } from '../support/cli.js';

const round = (one: number, two: number): ColdRound => ({ one: { replay: one, wall: one + 1 }, two: { replay: two, wall: two + 1 } });

describe('the cold CLI bench', () => {
  it('summarizes rounds as medians, and the speed-up as the median and quartiles of per-round ratios', () => {
    // Ratios 1.0, 1.5, 2.0, 3.0, 4.0 (sorted): median 2.0, quartiles 1.5 and 3.0.
    const s = summarizeCold([round(0.2, 0.1), round(0.3, 0.3), round(0.3, 0.2), round(0.4, 0.1), round(0.6, 0.2)]);
    expect(s.rounds).toBe(5);
    expect(s.oneReplay).toBeCloseTo(0.3);
    expect(s.twoReplay).toBeCloseTo(0.2);
    expect(s.oneWall).toBeCloseTo(1.3);
    expect(s.speedup.median).toBeCloseTo(2.0);
    expect(s.speedup.low).toBeCloseTo(1.5);
    expect(s.speedup.high).toBeCloseTo(3.0);
    // An even count takes the lower of the middle two (nearest rank below): ratios 1, 2, 3, 4.
    const even = summarizeCold([round(0.4, 0.1), round(0.1, 0.1), round(0.3, 0.1), round(0.2, 0.1)]);
    expect([even.speedup.low, even.speedup.median, even.speedup.high].map((x) => Number(x.toFixed(6)))).toEqual([1, 2, 3]);
    expect(() => summarizeCold([])).toThrow(/no rounds/);
  });

  it('puts each tier\'s figures in its row', () => {
    const s = summarizeCold([round(0.25, 0.125)]);
    const md = coldTable([{ tier: 'small', packets: 1_000_000, s }], 'ebpf', 4);
    expect(md).toContain('after 4 s idle');
    expect(md).toContain('| small | 1000000 | 1 | 0.250 | 0.125 | 2.00x (2.00-2.00) | 1.25 | 1.13 | 4.00 / 8.00 |');
  });

  it('runs the CLI once and reads the replay seconds from its JSON report', () => {
    for (const threads of [1, 2]) {
      const run = cliRun('captures/seed/seed.pcap', 'captures/seed/cluster.yaml', 'ebpf', threads, 0, BIN);
      expect(run.replay).toBeGreaterThan(0);
      expect(run.wall).toBeGreaterThan(run.replay);
    }
  }, 30_000);
});
