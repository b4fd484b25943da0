/**
 * When the addon gives back the table memory it keeps (native/src/table-pool.cc). It keeps what a replay
 * frees, up to 1 GiB resident, so that the next replay in the process writes into memory the host still
 * backs (bench/NOTES.md, 2026-11-28: 0.04 ms a MiB to clear it, 2-3 ms a MiB to fault in pages the VM
 * handed back). That is worth it between replays that follow one another (the bench, `compare --sweep`),
 * not for a long-lived process that replayed once: there it would look like a leak. So once the process
 * has started no replay for a full period, the kept memory is unmapped.
 *
 * An unreferenced interval: it never keeps the process alive, and a process that exits sooner leaves it
 * to the kernel.
 */
import type { NativeAddon } from './load.js';

/** The quiet period after the last replay: the kept memory is unmapped within one to two of them. */
export const TABLE_POOL_IDLE_MS = 30_000;

let timer: ReturnType<typeof setInterval> | null = null;
let replayedSinceTick = false;

/**
 * Called as each native replay returns. Each tick of the interval either sees a replay since the last
 * one (and waits another period), or unmaps what the pool keeps; a tick that finds the pool empty stops
 * the interval (tables freed by collections after the release come back before it, and are unmapped).
 */
export function releaseTablesWhenIdle(addon: NativeAddon, idleMs = TABLE_POOL_IDLE_MS): void {
  replayedSinceTick = true;
  if (timer !== null) return;
  timer = setInterval(() => {
    if (replayedSinceTick) {
      replayedSinceTick = false;
      return;
    }
    if (addon.tablePool().keptMappings === 0) stopIdleRelease();
    else addon.tablePool(true);
  }, idleMs);
  timer.unref();
}

/** Stops the interval (tests; the next replay starts it again). */
export function stopIdleRelease(): void {
  if (timer !== null) clearInterval(timer);
  timer = null;
  replayedSinceTick = false;
}
