/**
 * The TypeScript side of the native walk allocates nothing per call: over 790,000 calls of `fillRun` (and
 * of `fill`, and of `fillReplay` on one replay and on two lanes) on a capture, batches of one row, no
 * garbage collection starts. One call per packet makes a
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
import { bindNativeLanes, bindNativeReplay, finishNativeLanes, type NativeReplay } from '../../src/native/replay.js';
import { buildServiceNat } from '../../src/replay/nat.js';
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

  type Mode = 'fill' | 'run' | 'replay' | 'lanes';

  /** The native replay of `batch` (of the seed model): one replay handle, or `lanes` of them. */
  function replayOf(batch: FlowBatch, lanes: number): NativeReplay {
    const nm = nativeEbpf(addon!, loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS)));
    const nat = buildServiceNat(index);
    const one = (k: number): NativeReplay => bindNativeReplay(lanes === 1 ? nm : nm.lane(k), newConntrack(), nat, batch, new Int32Array(1), 1 << 20);
    // The hand-over, whose calls are one a batch (the split walk's are one a chunk, the rows all in C).
    return lanes === 1 ? one(0) : bindNativeLanes(Array.from({ length: lanes }, (_, k) => one(k)), false, false);
  }

  /** gc count over the calls after a warm-up; `allocate` adds one object per call (the control). */
  async function gcsOver(mode: Mode, allocate: boolean): Promise<{ gcs: number; calls: number }> {
    const nm = nativeEbpf(addon!, loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS)));
    const ct = newConntrack();
    const reader = openNativeCapture(addon!, path);
    const batch = new FlowBatch(1);
    const replay = mode === 'replay' || mode === 'lanes' ? replayOf(batch, mode === 'lanes' ? 2 : 1) : null;
    const next = (): number => (replay ? reader.fillReplay(replay, batch, 0) : mode === 'run' ? reader.fillRun(nm, ct, batch) : reader.fill(batch));
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
    if (mode === 'lanes') {
      finishNativeLanes(replay!);
      expect(replay!.stats[0]).toBe(calls + WARM); // every packet was run, by one lane or the other
    }
    return { gcs, calls };
  }

  it('positive control: one object per call starts collections', async () => {
    const r = await gcsOver('run', true);
    expect(r.calls).toBeGreaterThan(700_000);
    expect(r.gcs).toBeGreaterThan(STRAY_COLLECTIONS);
  });

  const LOOPS: [Mode, string][] = [
    ['run', 'fillRun (walk, decode, conntrack, model)'],
    ['fill', 'fill (walk and decode)'],
    ['replay', 'fillReplay (the fused replay: DNAT, conntrack, model, connections)'],
    ['lanes', 'fillReplay on two lanes (each row handed to a lane and run by another thread)'],
  ];
  for (const [mode, what] of LOOPS) {
    it(`${what}: no collection`, async () => {
      const r = await gcsOver(mode, false);
      expect(r.calls).toBeGreaterThan(700_000);
      expect(r.gcs).toBeLessThanOrEqual(STRAY_COLLECTIONS);
    }, 60_000);
  }
});
