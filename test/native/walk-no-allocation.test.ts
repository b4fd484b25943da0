/**
 * The TypeScript side of the native walk allocates nothing per call: over 790,000 calls of `fillRun` (and
 * of `fill`) on a capture, batches of one row, no garbage collection starts. One call per packet makes a
 * leak visible: a call keeping even a two-element array would fill 25 MB of young generation, more than
 * V8 lets it grow to (checked once: that mutation of walk.ts made 6 collections). The same loop made to
 * allocate one small object per call does start collections (the positive control). As the other
 * no-allocation tests, it tolerates STRAY_COLLECTIONS (one scavenge V8 may start for its own work: seen
 * once here too, in a parallel run under load); the leak above made six.
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { newConntrack } from '../../src/conntrack/index.js';
import { loadEbpf } from '../../src/match/ebpf.js';
import { nativeEbpf } from '../../src/native/engine.js';
import { openNativeCapture } from '../../src/native/walk.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { seedIndex } from '../replay/seed-model.js';
import { gcCountDuring, STRAY_COLLECTIONS } from '../conntrack/support/gc-counter.js';
import { requireAddon } from './support.js';
import { synthBytes, writeTemp } from './walk-support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;
const PACKETS = 800_000;
const WARM = 5_000;

d('the native walk allocates nothing per call', () => {
  const index = seedIndex(false, true);
  const path = writeTemp(synthBytes(index, PACKETS, '64', 3), 'no-alloc.pcap');

  /** gc count over the calls after a warm-up; `allocate` adds one object per call (the control). */
  async function gcsOver(run: boolean, allocate: boolean): Promise<{ gcs: number; calls: number }> {
    const nm = nativeEbpf(addon!, loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS)));
    const ct = newConntrack();
    const reader = openNativeCapture(addon!, path);
    const batch = new FlowBatch(1);
    const next = (): number => (run ? reader.fillRun(nm, ct, batch) : reader.fill(batch));
    for (let k = 0; k < WARM; k++) next();
    let calls = 0;
    const kept: unknown[] = [null];
    const gcs = await gcCountDuring(() => {
      while (next() > 0) {
        calls++;
        if (allocate) kept[0] = { calls, rows: [batch.count] };
      }
    });
    reader.close();
    return { gcs, calls };
  }

  it('positive control: one object per call starts collections', async () => {
    const r = await gcsOver(true, true);
    expect(r.calls).toBeGreaterThan(700_000);
    expect(r.gcs).toBeGreaterThan(STRAY_COLLECTIONS);
  });

  it('fillRun (walk, decode, conntrack, model): no collection', async () => {
    const r = await gcsOver(true, false);
    expect(r.calls).toBeGreaterThan(700_000);
    expect(r.gcs).toBeLessThanOrEqual(STRAY_COLLECTIONS);
  });

  it('fill (walk and decode): no collection', async () => {
    const r = await gcsOver(false, false);
    expect(r.calls).toBeGreaterThan(700_000);
    expect(r.gcs).toBeLessThanOrEqual(STRAY_COLLECTIONS);
  });
});
