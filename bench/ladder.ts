/**
 * Where a one-thread native replay's time goes, stage by stage, on the tier's capture: the same file
 * read four ways, each adding a stage to the one before, in turns (best of five each):
 *
 *   walk      the native record walk alone (src/native/walk.ts `fill`, decode off);
 *   decode    the walk and decode (`fill`);
 *   track     the walk, decode, conntrack and the model (`fillRun`: src/replay/models.ts runRow in C),
 *             each row's tracker slot prefetched as far ahead as the replay's loop does;
 *   replay    `replay()` itself, fused, one thread, its prefault helper off: the above, Service DNAT,
 *             the connection table and the report's tables.
 *
 * Differences between neighbours are each stage's nanoseconds a packet; every run starts from a fresh
 * tracker (fresh memory, as a replay's), on the one compiled model. Issue 6's 15 and 25 Mpps are 67 and
 * 40 ns a packet; this says which stages would have to give how much (README "Performance").
 */
import { newConntrack } from '../src/conntrack/index.js';
import type { NativeModelHandle } from '../src/native/engine.js';
import { hugeAllocator, type NativeAddon } from '../src/native/load.js';
import { openNativeCapture } from '../src/native/walk.js';
import { replay, type ReplayOptions } from '../src/replay/replay.js';
import { FlowBatch } from '../src/wire/flow-batch.js';
import { type Ladder, RUNGS, seconds, settleForReplay } from './lib.js';

const BATCH_ROWS = 4096;
/* Rounds; best of them: fresh memory moves a run by a third on this project's VMs (bench/README.md). */
const ROUNDS = 5;
/* native/src/replay.cc HINT_AHEAD: the rows ahead replay_lane prefetches a row's tracker home slot. */
const PREFETCH_ROWS = 16;

function timed(fn: () => number): { rows: number; seconds: number } {
  const t = process.hrtime.bigint();
  const rows = fn();
  return { rows, seconds: seconds(t) };
}

/** One pass of the native walk over `pcap`: decoding or not, and with `run` each batch through conntrack and the model. */
function walkPass(addon: NativeAddon, pcap: string, decode: boolean, run: NativeModelHandle | null): number {
  const reader = openNativeCapture(addon, pcap, { decode, prefetch: PREFETCH_ROWS });
  const batch = new FlowBatch(BATCH_ROWS);
  const ct = run ? newConntrack({ allocate: hugeAllocator(addon) }) : null;
  let rows = 0;
  try {
    for (;;) {
      const n = run ? reader.fillRun(run, ct!, batch) : reader.fill(batch);
      if (n === 0) break;
      rows += n;
    }
  } finally {
    reader.close();
  }
  return rows;
}

/**
 * The four rungs over `pcap`, ROUNDS rounds, each round every rung once in order; throws if a rung saw
 * another number of packets than the replay (a stage that skipped records would look fast).
 */
export async function stageLadder(addon: NativeAddon, model: NativeModelHandle, pcap: string, replayOptions: ReplayOptions): Promise<Ladder> {
  const best = { walk: Infinity, decode: Infinity, track: Infinity, replay: Infinity };
  let packets = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // As the bench's replays (tier-model.ts replayOnce): from a settled heap, the last run's tables freed.
    await settleForReplay(addon);
    const r = timed(() => replay([pcap], { ...replayOptions, addon, threads: 1, prefault: false }).packets);
    const runs = {
      walk: timed(() => walkPass(addon, pcap, false, null)),
      decode: timed(() => walkPass(addon, pcap, true, null)),
      track: timed(() => walkPass(addon, pcap, true, model)),
      replay: r,
    };
    packets = r.rows;
    for (const rung of RUNGS) {
      if (runs[rung].rows !== packets) throw new Error(`stage ladder: ${rung} saw ${runs[rung].rows} packets, the replay ${packets}`);
      best[rung] = Math.min(best[rung], runs[rung].seconds);
    }
  }
  return { packets, walk: packets / best.walk, decode: packets / best.decode, track: packets / best.track, replay: packets / best.replay };
}
