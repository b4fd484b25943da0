/**
 * Shared pieces of the benchmark suite: the benchmark.js wrapper (one op = one pass over a fixed
 * workload, so ops/s times packets per op is packets per second), paths, the machine description.
 */
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Benchmark from 'benchmark';
import type { NativeAddon } from '../src/native/load.js';

/** The repository root (this file runs as dist/bench/lib.js). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');

/**
 * The Node options the `netsieve` command's shebang starts it with (src/cli/netsieve.ts: V8's background
 * threads one fewer than the cores), for the bench's own Node processes, so that they run as it does.
 */
export const CLI_NODE_OPTIONS: readonly string[] = ['--v8-pool-size=0'];

export interface Measured {
  readonly name: string;
  /** Operations per second (benchmark.js hz) and its relative margin of error, percent. */
  readonly hz: number;
  readonly rme: number;
  readonly samples: number;
  /** Packets per op times hz. */
  readonly pps: number;
}

export interface CaseSpec {
  readonly name: string;
  readonly packetsPerOp: number;
  readonly fn: () => void;
}

/** Runs each case with benchmark.js, one after the other in this process (side by side, same run). */
export function measure(cases: readonly CaseSpec[], maxTime = 2): Measured[] {
  return cases.map((c) => {
    const b = new Benchmark(c.name, c.fn, { maxTime, minSamples: 5, initCount: 1 });
    b.run();
    if (b.error) throw b.error as Error;
    return { name: c.name, hz: b.hz, rme: b.stats.rme, samples: b.stats.sample.length, pps: b.hz * c.packetsPerOp };
  });
}

/** Same as measure for a case that completes asynchronously (pcap-parser streams). */
export function measureDeferred(name: string, packetsPerOp: number, fn: (done: () => void) => void, maxTime = 3): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const b = new Benchmark(name, {
      defer: true, maxTime, minSamples: 3,
      fn: (deferred: { resolve(): void }) => fn(() => deferred.resolve()),
      onComplete: () => (b.error ? reject(b.error as Error) : resolve({ name, hz: b.hz, rme: b.stats.rme, samples: b.stats.sample.length, pps: b.hz * packetsPerOp })),
    });
    b.run({ async: true });
  });
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly v8: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews figures. */
  loadStart: number;
  loadEnd: number;
}

export function machine(): Machine {
  const list = cpus();
  return { cpu: list[0]?.model ?? 'unknown', cores: list.length, node: process.versions.node, v8: process.versions.v8, loadStart: loadavg()[0]!, loadEnd: 0 };
}

/** The value after `--name` on the command line, if any. */
export function arg(name: string): string | undefined {
  const k = process.argv.indexOf(name);
  return k >= 0 ? process.argv[k + 1] : undefined;
}

/** A bench script's way to stop on bad input or a missing tool: one line on stderr naming the script, exit 2. */
export function failer(script: string): (message: string) => never {
  return (message) => {
    process.stderr.write(`bench: ${script}: ${message}\n`);
    process.exit(2);
  };
}

/** The value at fraction q of the sorted values (nearest rank below): q = 0.5 is the median. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

export function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** bench/ladder.ts: the best packets per wall second of each rung; `packets` is the capture's. */
export interface Ladder {
  readonly packets: number;
  readonly walk: number;
  readonly decode: number;
  readonly track: number;
  readonly replay: number;
}

export const RUNGS = ['walk', 'decode', 'track', 'replay'] as const;

/** V8's `gc()`: the global one under --expose-gc, else taken from a fresh context after setting the flag. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * A full collection, its sweeping done on this thread, before a timed replay: no marking or sweeping
 * left over from the runs before it. `replay()` tells V8 of its tables as it returns, and at the large
 * and stress tiers that started a marking of the whole heap (600 MB and more), whose concurrent part ran
 * beside the next replay on the machine's other core (bench/NOTES.md, 2026-11-28). A collection alone
 * left its sweeping to the same core; with concurrent sweeping off for it, the sweeping is done before
 * it returns. Outside the timing; a one-shot `netsieve replay` has no runs before it (bench:cold).
 */
export function settleHeap(): void {
  const gc = collector();
  setFlagsFromString('--no-concurrent-sweeping');
  try {
    gc();
  } finally {
    setFlagsFromString('--concurrent-sweeping');
  }
}

/**
 * Before a timed replay: the heap settled and the event loop turned (Node frees a finished replay's
 * native tables, external ArrayBuffers, only in a finalizer it runs on a later turn), again while that
 * gives the addon's table pool more memory back, at most three times: a tracker's arrays go back a
 * collection after its handle, which goes a collection after the replay's result
 * (native/src/table-pool.cc), so that the replay takes the last one's tables, not fresh memory.
 */
export async function settleForReplay(addon: NativeAddon | null | undefined): Promise<void> {
  const kept = (): number => addon?.tablePool().keptMappings ?? 0;
  for (let round = 0, before = -1; round < 3 && kept() !== before; round++) {
    before = kept();
    settleHeap();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
