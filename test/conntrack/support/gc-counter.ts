/**
 * Counts garbage collections that start while `fn` runs: the proof that a hot loop allocates nothing.
 * A loop that allocates even one small object per iteration fills V8's young generation within a few
 * hundred thousand iterations and triggers scavenges; a loop that allocates nothing triggers none.
 *
 * Only young-generation collections (scavenges) whose start falls inside the loop are counted: per-packet
 * garbage always shows up there first, while a major collection can be finished inside the loop for
 * reasons of its own (incremental marking begun earlier, external memory of typed arrays made before).
 * A full collection runs first, when V8 lets us have `gc` (the flag is set at run time, below), so the
 * loop starts on a clean heap. The tests also run this on an allocating loop to show that it can fail.
 */
import { PerformanceObserver, performance, constants } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

function exposedGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

const fullGc = exposedGc();

export async function gcCountDuring(fn: () => void): Promise<number> {
  fullGc?.();
  const starts: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) starts.push(entry.startTime);
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  fn();
  const t1 = performance.now();
  // GC entries are delivered asynchronously: give the observer a moment to receive them.
  await new Promise((resolve) => setTimeout(resolve, 100));
  observer.disconnect();
  return starts.filter((s) => s >= t0 && s <= t1).length;
}

/**
 * Collections a loop that allocates nothing may still see: one scavenge that V8 starts for its own work
 * (code and feedback objects of a late recompilation) when the young generation was nearly full as the
 * loop began. Seen once in a clean CI run of a loop that allocates nothing. The loops these tests time
 * run two million iterations, so one small object per iteration (16 bytes or more, 32 MB in all)
 * triggers several scavenges, well above this: the positive controls check exactly that.
 */
export const STRAY_COLLECTIONS = 1;

/** A loop that allocates a small object per iteration: the positive control. */
let sink: unknown = null;
export function allocatingLoop(iterations: number): unknown {
  // Stored where escape analysis cannot remove it: a real allocation per iteration.
  for (let i = 0; i < iterations; i++) sink = { a: i, b: [i] };
  return sink;
}
