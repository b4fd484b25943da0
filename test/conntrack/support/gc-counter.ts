/**
 * Counts garbage collections that start while `fn` runs: the proof that a hot loop allocates nothing.
 * A loop that allocates even one small object per iteration fills V8's young generation within a few
 * hundred thousand iterations and triggers scavenges; a loop that allocates nothing triggers none.
 * Only GC entries whose start falls inside the loop are counted, so the test runner's own work before
 * or after does not count. (The tests also run this on an allocating loop to show that it can fail.)
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';

export async function gcCountDuring(fn: () => void): Promise<number> {
  const starts: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) starts.push(entry.startTime);
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

/** A loop that allocates a small object per iteration: the positive control. */
let sink: unknown = null;
export function allocatingLoop(iterations: number): unknown {
  // Stored where escape analysis cannot remove it: a real allocation per iteration.
  for (let i = 0; i < iterations; i++) sink = { a: i, b: [i] };
  return sink;
}
