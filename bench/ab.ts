/**
 * `npm run bench:ab -- --base DIR [--tier small] [--model ebpf] [--pairs 16] [--threads 1] [--packets 1000000] [--exchanges 1]`:
 * this build's native replay against another build's (DIR: a checkout of it with its own `dist/` and
 * native addon built, e.g. `git worktree add /tmp/base <rev>`, then `npm ci` there), both loaded in this
 * one process, replays alternated. On this project's shared VMs a process's replays run in modes that
 * differ by half (2026-11-28: 3.3-4.0 against 5.5-6.1 Mpps at the small tier, the mode changing between
 * replays of one process), and fresh processes in turns mix the modes into their ratios; two replays
 * side by side in one process meet the same mode far more often. Each build compiles the tier's model once
 * and runs the bench's replay on it (tier-model.ts: fresh tracker and counters, from a settled heap);
 * pairs swap their order every time. Prints, and writes to `results/ab-<date>.json`, the median and
 * quartiles of the per-pair ratios (this build over the base).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadCluster } from '../src/manifests/load.js';
import { indexCluster } from '../src/model/cluster-index.js';
import { fileSink } from '../src/traffic/pcap/writer.js';
import { MAX_EXCHANGES, synthToSink } from '../src/traffic/synth/index.js';
import { arg, failer, machine, quantile, ROOT, settleHeap } from './lib.js';
import { clusterFile, SEED, tierByName } from './tiers.js';

const fail: (message: string) => never = failer('ab');

/** One build's replay, ready to run: the packets a second of one replay. */
type Runner = () => Promise<number>;

/** The median and quartiles of trial[k] / base[k]. */
export function pairStats(base: readonly number[], trial: readonly number[]): { median: number; q1: number; q3: number } {
  if (base.length === 0 || base.length !== trial.length) throw new Error(`pairStats: ${base.length} base and ${trial.length} trial figures`);
  const ratios = base.map((b, k) => trial[k]! / b);
  return { median: quantile(ratios, 0.5), q1: quantile(ratios, 0.25), q3: quantile(ratios, 0.75) };
}

/* The other build's modules are loaded by path, so they are untyped here (`any`). */
async function runnerOf(root: string, cluster: string, pcap: string, model: 'ebpf' | 'iptables', threads: number): Promise<Runner> {
  const load = async (path: string): Promise<any> => {
    try {
      return await import(pathToFileURL(join(root, 'dist', path)).href);
    } catch (e) {
      fail(`${root}: cannot load dist/${path} (${(e as Error).message}); build it there first (npm ci)`);
    }
  };
  const [{ loadCluster: load2 }, { indexCluster: index2 }, { DEFAULT_EVAL_OPTIONS }, { replay }, { newConntrack }, native] = await Promise.all([
    load('src/manifests/load.js'), load('src/model/cluster-index.js'), load('src/model/evaluate.js'), load('src/replay/replay.js'),
    load('src/conntrack/index.js'), load('src/native/load.js'),
  ]);
  const got = native.nativeAddon();
  if (!got.addon) fail(`${root}: its native addon does not load (${got.reason})`);
  const addon = got.addon, tables = native.nativeTables(addon);
  const index = index2(load2([cluster]).cluster);
  let rowModel: (allocate: unknown) => unknown;
  if (model === 'ebpf') {
    const [{ compileEbpf }, { loadEbpf, newHitCounters, classifyRow }] = await Promise.all([load('src/compile/ebpf/compile.js'), load('src/match/ebpf.js')]);
    const loaded = loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS), tables);
    rowModel = (allocate) => {
      const fresh = { ...loaded, hits: newHitCounters(loaded.hits.length, tables) };
      return { name: 'ebpf', loaded: fresh, conntrack: newConntrack({ allocate }), orphanFragments: 0, classify: (b: unknown, i: number) => classifyRow(fresh, b, i) };
    };
  } else {
    const [{ compileIptables }, { loadIptables, classifyRow }, { withOwnCounters }] = await Promise.all([
      load('src/compile/iptables/index.js'), load('src/match/iptables.js'), load('src/match/iptables-pack.js')]);
    const m = loadIptables(compileIptables(index, DEFAULT_EVAL_OPTIONS));
    rowModel = (allocate) => {
      const fresh = { ...m, v4: withOwnCounters(m.v4, tables.allocateSparse), v6: withOwnCounters(m.v6, tables.allocateSparse) };
      return { name: 'iptables', matcher: fresh, conntrack: newConntrack({ allocate }), orphanFragments: 0, classify: (b: unknown, i: number) => classifyRow(fresh, b, i) };
    };
  }
  return async () => {
    settleHeap();
    await new Promise((done) => setImmediate(done));
    const r = replay([pcap], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon, threads, rowModels: () => rowModel(native.hugeAllocator(addon)) });
    return r.packets / r.seconds;
  };
}

function positive(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(arg(name) ?? fallback);
  if (!Number.isInteger(v) || v < 1 || v > max) fail(`${name}: an integer from 1 to ${max}, not ${arg(name)}`);
  return v;
}

async function main(): Promise<void> {
  const baseArg = arg('--base');
  if (!baseArg) fail('--base DIR: a checkout of the build to compare with, its dist/ and native addon built');
  const base = resolve(baseArg);
  const tier = tierByName(arg('--tier') ?? 'small');
  const model = arg('--model') ?? 'ebpf';
  if (model !== 'ebpf' && model !== 'iptables') fail(`--model: ebpf or iptables, not ${model}`);
  const pairs = positive('--pairs', 16), threads = positive('--threads', 1, 64), packets = positive('--packets', 1_000_000);
  const exchanges = positive('--exchanges', 1, MAX_EXCHANGES);
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-ab-'));
  try {
    const cluster = clusterFile(tier, dir);
    const pcap = join(dir, 'traffic.pcap');
    synthToSink(indexCluster(loadCluster([cluster]).cluster), { packets, seed: SEED, size: { kind: 'fixed', bytes: 64 }, exchanges }, fileSink(pcap));
    const runBase = await runnerOf(base, cluster, pcap, model, threads);
    const runThis = await runnerOf(ROOT, cluster, pcap, model, threads);
    const baseRuns: number[] = [], thisRuns: number[] = [];
    for (let k = 0; k < pairs; k++) {
      if (k % 2 === 0) { baseRuns.push(await runBase()); thisRuns.push(await runThis()); }
      else { thisRuns.push(await runThis()); baseRuns.push(await runBase()); }
      process.stderr.write(`bench: ab: pair ${k + 1}/${pairs}: ${(thisRuns[k]! / baseRuns[k]!).toFixed(3)}x\n`);
    }
    const stats = pairStats(baseRuns, thisRuns);
    const date = new Date().toISOString();
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const result = { date, machine: machine(), base, tier: tier.name, model, threads, packets, exchanges, pairs, baseMpps: baseRuns.map((v) => v / 1e6), thisMpps: thisRuns.map((v) => v / 1e6), ratio: stats };
    writeFileSync(join(outDir, `ab-${date.slice(0, 19).replace(/:/g, '-')}.json`), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${tier.name} tier, ${model}, ${threads} thread(s), ${packets} packets, ${pairs} pairs: this build / ${base} = ${stats.median.toFixed(3)}x (quartiles ${stats.q1.toFixed(3)}-${stats.q3.toFixed(3)})\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]).endsWith(join('bench', 'ab.js'))) void main();
