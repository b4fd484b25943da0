/**
 * What a replay's connection trackers came to, per model: whether a table filled, and so whether the
 * verdicts are those of a node with that table size, and (with --threads) whether they are one thread's.
 *
 * With --threads each shard tracks its own connections in a table of the full capacity. While no table
 * fills, every shard holds exactly the entries one thread's table would hold for its connections, so the
 * results are one thread's (./shard.ts). Once a table is full the tracker evicts (the kernel's early
 * drop) and the shards' choices of victim differ from one table's: the replay then says so.
 */
import { conntrackStats, type Conntrack } from '../conntrack/index.js';
import { groupDigits } from '../report/digits.js';

export interface TrackerSummary {
  /** Entries each tracker holds at most (the kernel's nf_conntrack_max). */
  capacity: number;
  /** How many trackers the model ran: 1, or one per shard with --threads. */
  trackers: number;
  /**
   * The most entries held at once. With several trackers, their peaks summed: at least the peak one table
   * would have reached over all the shards' connections (the shards' peaks need not be at the same time).
   */
  peakEntries: number;
  /** Entries evicted from a full table to make room for a new connection, over all trackers. */
  evictions: number;
}

export function emptyTrackerSummary(): TrackerSummary {
  return { capacity: 0, trackers: 0, peakEntries: 0, evictions: 0 };
}

/** The trackers of one model (one, or one per shard) summed. */
export function summarizeTrackers(trackers: readonly Conntrack[]): TrackerSummary {
  const into = emptyTrackerSummary();
  for (const ct of trackers) {
    const s = conntrackStats(ct);
    addTrackerSummary(into, { capacity: s.capacity, trackers: 1, peakEntries: s.peakEntries, evictions: s.evictions });
  }
  return into;
}

/** Another shard's trackers added to `into` (every shard's tracker has the same capacity). */
export function addTrackerSummary(into: TrackerSummary, from: TrackerSummary): void {
  into.capacity = Math.max(into.capacity, from.capacity);
  into.trackers += from.trackers;
  into.peakEntries += from.peakEntries;
  into.evictions += from.evictions;
}

/**
 * Warnings for the user, per model: a table that filled, and with several trackers, any run in which one
 * table might have filled (the summed peaks above the capacity) though no shard's did.
 */
export function trackerWarnings(models: readonly { name: string; tracker: TrackerSummary }[]): string[] {
  const out: string[] = [];
  for (const { name, tracker: t } of models) {
    const table = `the ${name} model's conntrack table (${groupDigits(t.capacity)} entries)`;
    if (t.evictions > 0) {
      out.push(`${table} filled: ${groupDigits(t.evictions)} entries were evicted to make room, as a node's early drop would (--conntrack-max sets the size)` +
        (t.trackers > 1 ? `; with ${t.trackers} threads each shard has a table of its own, so verdicts may differ from one thread's (replay with --threads 1 for those)` : ''));
    } else if (t.trackers > 1 && t.peakEntries > t.capacity) {
      out.push(`${table} may have filled on one thread: the ${t.trackers} shards held up to ${groupDigits(t.peakEntries)} entries together, ` +
        'so verdicts may differ from one thread\'s (replay with --threads 1 for those)');
    }
  }
  return out;
}
