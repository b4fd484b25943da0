/**
 * Retained memory of what a step builds: the heap and ArrayBuffer bytes still reachable after a full
 * garbage collection, before and after. Node hides `gc` unless started with --expose-gc; the V8 flag can
 * be set at run time and a fresh context then exposes the function (setup code only, never per packet).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === 'function') return (gcFn = global);
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    gcFn = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** Heap plus ArrayBuffer bytes in use, after a full collection when one can be forced. */
export function liveBytes(): number {
  collector()?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Whether liveBytes() collects first (otherwise its figures include garbage). */
export function canCollect(): boolean {
  return collector() !== null;
}

/** Peak resident set size of this process so far, in bytes. */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
