/**
 * `npm run bench:cold [-- --tiers small,real] [--packets 1000000] [--rounds 8] [--idle 4] [--model ebpf]`:
 * what a one-shot `netsieve replay` costs, as a user runs it: the CLI in a fresh process per run, after
 * `--idle` seconds with nothing running, one thread and two threads in turns (the order swapped every
 * round). The main bench takes the best of three replays in one process: its later runs reuse memory the
 * earlier ones freed, which this project's VMs back at once, while memory a VM has handed back to its host
 * (free page reporting, a couple of seconds after it was freed) costs about 1.6 ms a MiB at first touch
 * (README "Performance"). The idle pause lets that happen, as between two runs of a user's.
 *
 * Per tier: the replay's own seconds (the JSON report's `seconds`) and the process's wall seconds, medians
 * of the rounds, and the per-round ratio of one thread's replay seconds to two threads' (median and
 * quartiles). Writes bench/results/cold-<date>.json and prints a markdown table.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexCluster } from '../src/model/cluster-index.js';
import { loadCluster } from '../src/manifests/load.js';
import { fileSink } from '../src/traffic/pcap/writer.js';
import { synthToSink } from '../src/traffic/synth/index.js';
import { arg, CLI_NODE_OPTIONS, DIST, failer, machine, quantile, ROOT, seconds } from './lib.js';
import { clusterFile, SEED, type Tier, tierByName } from './tiers.js';

/** One CLI run: the report's replay seconds and the process's wall seconds. */
export interface ColdRun {
  readonly replay: number;
  readonly wall: number;
}

/** The rounds of one tier: per round, one run on one thread and one on two. */
export interface ColdRound {
  readonly one: ColdRun;
  readonly two: ColdRun;
}

export interface ColdSummary {
  readonly rounds: number;
  readonly oneReplay: number;
  readonly twoReplay: number;
  readonly oneWall: number;
  readonly twoWall: number;
  /** Per round, one thread's replay seconds over two threads': the speed-up of two; median and quartiles. */
  readonly speedup: { readonly median: number; readonly low: number; readonly high: number };
}

export function summarizeCold(rounds: readonly ColdRound[]): ColdSummary {
  if (!rounds.length) throw new Error('bench: cold: no rounds to summarize');
  const median = (f: (r: ColdRound) => number): number => quantile(rounds.map(f), 0.5);
  const ratios = rounds.map((r) => r.one.replay / r.two.replay);
  return {
    rounds: rounds.length,
    oneReplay: median((r) => r.one.replay), twoReplay: median((r) => r.two.replay),
    oneWall: median((r) => r.one.wall), twoWall: median((r) => r.two.wall),
    speedup: { median: quantile(ratios, 0.5), low: quantile(ratios, 0.25), high: quantile(ratios, 0.75) },
  };
}

export function coldTable(rows: readonly { tier: string; packets: number; s: ColdSummary }[], model: string, idle: number): string {
  const lines = [
    `One-shot CLI replays (\`netsieve replay --model ${model} --output json\`), a fresh process per run after ${idle} s idle, ` +
      'one and two threads in turns; medians of the rounds, the speed-up as the median (quartiles) of the per-round ratios of replay seconds:', '',
    '| tier | packets | rounds | replay s, 1 thread | replay s, 2 threads | speed-up of 2 threads | wall s, 1 thread | wall s, 2 threads | Mpps, 1 / 2 threads |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ tier, packets, s }) =>
      `| ${tier} | ${packets} | ${s.rounds} | ${s.oneReplay.toFixed(3)} | ${s.twoReplay.toFixed(3)} | ` +
      `${s.speedup.median.toFixed(2)}x (${s.speedup.low.toFixed(2)}-${s.speedup.high.toFixed(2)}) | ${s.oneWall.toFixed(2)} | ${s.twoWall.toFixed(2)} | ` +
      `${(packets / s.oneReplay / 1e6).toFixed(2)} / ${(packets / s.twoReplay / 1e6).toFixed(2)} |`),
  ];
  return `${lines.join('\n')}\n`;
}

const fail: (message: string) => never = failer('cold');

function sleep(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

/** The CLI as `npm run build` makes it. */
const CLI = join(DIST, 'src', 'cli', 'netsieve.js');

/**
 * One `netsieve replay` (the script `cli`) in a fresh process, after `idle` seconds, started as the
 * `netsieve` command's shebang starts it (lib.ts CLI_NODE_OPTIONS).
 */
export function cliRun(pcap: string, cluster: string, model: string, threads: number, idle: number, cli = CLI): ColdRun {
  if (idle > 0) sleep(idle);
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [...CLI_NODE_OPTIONS, cli, 'replay', pcap, '--cluster', cluster, '--model', model,
    '--threads', String(threads), '--output', 'json'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = seconds(started);
  if (run.status !== 0) fail(`netsieve replay exited ${run.status}: ${run.stderr.trim().split('\n').pop()}`);
  const replay = (JSON.parse(run.stdout) as { seconds?: unknown }).seconds;
  if (typeof replay !== 'number') fail('the replay report has no "seconds"');
  return { replay, wall };
}

function coldTier(tier: Tier, dir: string, packets: number, rounds: number, idle: number, model: string): ColdRound[] {
  const cluster = clusterFile(tier, dir);
  const pcap = join(dir, `traffic-${tier.name}.pcap`);
  synthToSink(indexCluster(loadCluster([cluster]).cluster), { packets, seed: SEED, size: { kind: 'fixed', bytes: 64 } }, fileSink(pcap));
  const results: ColdRound[] = [];
  for (let k = 0; k < rounds; k++) {
    process.stderr.write(`bench: cold: ${tier.name}, round ${k + 1} of ${rounds} ...\n`);
    const order = k % 2 === 0 ? [1, 2] : [2, 1];
    const runs = new Map(order.map((threads) => [threads, cliRun(pcap, cluster, model, threads, idle)]));
    results.push({ one: runs.get(1)!, two: runs.get(2)! });
  }
  return results;
}

function main(): void {
  const tiers = (arg('--tiers') ?? 'small,real').split(',').map((t) => {
    try {
      return tierByName(t.trim());
    } catch (e) {
      return fail(`--tiers: ${(e as Error).message}`);
    }
  });
  const packets = Number(arg('--packets') ?? 1_000_000);
  const rounds = Number(arg('--rounds') ?? 8);
  const idle = Number(arg('--idle') ?? 4);
  const model = arg('--model') ?? 'ebpf';
  if (!(packets > 0 && rounds > 0 && idle >= 0)) fail('--packets and --rounds must be positive, --idle not negative');
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-cold-'));
  const started = machine();
  try {
    const rows = tiers.map((tier) => {
      const runs = coldTier(tier, dir, packets, rounds, idle, model);
      return { tier: tier.name, packets, s: summarizeCold(runs), runs };
    });
    started.loadEnd = loadavg()[0]!;
    const date = new Date().toISOString();
    const out = join(ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `cold-${date.slice(0, 19).replace(/:/g, '-')}.json`), `${JSON.stringify({ date, machine: started, model, idle, rows }, null, 2)}\n`);
    process.stdout.write(coldTable(rows, model, idle));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('cold.js')) main();
