/**
 * bench/ladder.ts on a small synthetic capture: every rung counts the capture's packets (it throws
 * when one skips records), and its rates are rates, not zeros. Its figures are times; no threshold here
 * (the bench states them).
 */
import { describe, expect, it } from 'vitest';
import { stageLadder } from '../../bench/ladder.js';
import { RUNGS } from '../../bench/lib.js';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { loadEbpf } from '../../src/match/ebpf.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { nativeEbpf } from '../../src/native/engine.js';
import { requireAddon } from '../native/support.js';
import { synthBytes, writeTemp } from '../native/walk-support.js';
import { seedIndex } from '../replay/seed-model.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;
const PACKETS = 20_000;

d('the stage ladder', () => {
  it('runs every rung over every packet of the capture', async () => {
    const index = seedIndex(false, true);
    const path = writeTemp(synthBytes(index, PACKETS, '64', 5), 'ladder.pcap');
    const model = nativeEbpf(addon!, loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS)));
    const ladder = await stageLadder(addon!, model, path, { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'] });
    expect(ladder.packets).toBe(PACKETS);
    for (const rung of RUNGS) {
      expect(Number.isFinite(ladder[rung])).toBe(true);
      expect(ladder[rung]).toBeGreaterThan(0);
    }
  });
});
