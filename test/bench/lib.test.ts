/**
 * bench/lib.ts settleHeap, which the bench runs before each timed replay: it collects (an object nothing
 * references is gone after it), with or without --expose-gc (vitest's workers have no global gc), and
 * it can run again.
 */
import { describe, expect, it } from 'vitest';
import { settleHeap } from '../../bench/lib.js';

/** A WeakRef to an object nothing else references, made in its own frame. */
function orphan(): WeakRef<object> {
  return new WeakRef({ payload: new Array(1000).fill(7) });
}

describe('settleHeap', () => {
  it('collects what nothing references', async () => {
    const ref = orphan();
    // A WeakRef's target is kept until the job that made it, or last dereferenced it, ends.
    const nextJob = () => new Promise((resolve) => setImmediate(resolve));
    await nextJob();
    expect(ref.deref()).toBeDefined();
    await nextJob();
    settleHeap();
    expect(ref.deref()).toBeUndefined();
  });

  it('runs again and keeps what is referenced', () => {
    const kept = { payload: [1, 2, 3] };
    const ref = new WeakRef(kept);
    settleHeap();
    settleHeap();
    expect(ref.deref()).toBe(kept);
  });
});
