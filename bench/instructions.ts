/**
 * `npm run bench:instructions [-- --tier small] [--packets 300000] [--models ebpf,iptables] [--threads 1] [--exchanges 1] [--services 0]`:
 * the native replay's instructions per packet, stage by stage (with --threads 2, the lanes' hand-over and
 * merge too), counted by cachegrind (valgrind) on seeded 64-byte traffic, the bench's (`--exchanges`: its
 * allowed TCP connections with that many request/response exchanges, `netsieve synth --exchanges`; `--services`: the tier's
 * cluster with that many of its apps given a ClusterIP Service, `netsieve cluster-gen --services`, so that its traffic goes
 * through Service DNAT, which the tiers' own clusters never do). Counts, unlike times, do not move with the machine's other tenants; they say
 * what one packet costs in work and where, and compare two builds exactly. Cache misses are simulated
 * for a 32 KiB first level and 32 MiB last level (valgrind's own guess from this VM's CPUID is 512 MiB).
 * Writes bench/results/instructions-<date>.json and prints a markdown table.
 *
 * The child (`node dist/bench/instructions.js child <cluster> <pcap> <model> <threads>`) runs one `replay()`
 * on the native engine; only the addon's own functions are counted (bench/cachegrind.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCluster } from '../src/manifests/load.js';
import { indexCluster } from '../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../src/model/evaluate.js';
import { nativeAddon } from '../src/native/load.js';
import { replay } from '../src/replay/replay.js';
import { fileSink } from '../src/traffic/pcap/writer.js';
import { MAX_EXCHANGES, synthToSink } from '../src/traffic/synth/index.js';
import { type Counts, ONCE, perPacketTotal, type Stage, STAGES, stageCounts } from './cachegrind.js';
import { arg, DIST, failer, machine, ROOT } from './lib.js';
import { clusterFile, SEED, type Tier, tierByName } from './tiers.js';
import { appCount } from '../src/clustergen/generate.js';

const CACHES = ['--D1=32768,8,64', '--LL=33554432,16,64'];

const fail: (message: string) => never = failer('instructions');

/** One native replay of the capture; prints its packet count. */
function child(cluster: string, pcap: string, model: 'ebpf' | 'iptables', threads: number): void {
  const load = nativeAddon();
  if (!load.addon) fail(`the native addon is not loaded (${load.reason})`);
  const addon = load.addon;
  const index = indexCluster(loadCluster([cluster]).cluster);
  const r = replay([pcap], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon, threads });
  process.stdout.write(`${JSON.stringify({ packets: r.packets })}\n`);
}

export interface ModelCounts {
  readonly model: string;
  readonly packets: number;
  /** Per packet, by stage, then the sum. */
  readonly stages: Partial<Record<Stage, Counts>>;
  readonly total: Counts;
}

function counted(cluster: string, pcap: string, model: string, threads: number, dir: string): ModelCounts {
  const out = join(dir, `cachegrind-${model}.out`);
  process.stderr.write(`bench: instructions: ${model} under cachegrind (a minute or two) ...\n`);
  const run = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=yes', ...CACHES, `--cachegrind-out-file=${out}`,
    process.execPath, join(DIST, 'bench', 'instructions.js'), 'child', cluster, pcap, model, String(threads)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (run.status !== 0 || !line.startsWith('{')) fail(`${model}: the replay under valgrind failed (exit ${run.status}): ${run.stderr.split('\n').filter((l) => !l.startsWith('==')).slice(-3).join(' | ')}`);
  const packets = (JSON.parse(line) as { packets: number }).packets;
  const annotated = spawnSync('cg_annotate', ['--show=Ir,D1mr,DLmr', '--threshold=0', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (annotated.status !== 0) fail(`cg_annotate ${out} failed: ${annotated.stderr.trim()}`);
  const byStage = stageCounts(annotated.stdout);
  if (byStage.size === 0) fail(`no function of native/src in ${out}: was the addon built with -g (native/binding.gyp)?`);
  const stages: Partial<Record<Stage, Counts>> = {};
  for (const s of STAGES) {
    const c = byStage.get(s);
    if (c) stages[s] = { ir: c.ir / packets, d1mr: c.d1mr / packets, dlmr: c.dlmr / packets };
  }
  return { model, packets, stages, total: perPacketTotal(stages) };
}

function table(runs: readonly ModelCounts[]): string {
  const rows = ['| stage | ' + runs.map((r) => `${r.model}: instructions | D1 misses | LL misses`).join(' | ') + ' |',
    '|---|' + runs.map(() => '---:|---:|---:').join('|') + '|'];
  const cells = (c: Counts | undefined) => (c ? `${c.ir.toFixed(1)} | ${c.d1mr.toFixed(2)} | ${c.dlmr.toFixed(3)}` : '- | - | -');
  for (const s of STAGES) {
    if (s === ONCE || runs.every((r) => !r.stages[s])) continue;
    rows.push(`| ${s} | ${runs.map((r) => cells(r.stages[s])).join(' | ')} |`);
  }
  rows.push(`| **total per packet** | ${runs.map((r) => cells(r.total)).join(' | ')} |`);
  if (runs.some((r) => r.stages[ONCE])) rows.push(`| ${ONCE}, spread over the packets: not in the total | ${runs.map((r) => cells(r.stages[ONCE])).join(' | ')} |`);
  return `${rows.join('\n')}\n`;
}

function main(): void {
  if (process.argv[2] === 'child') return child(process.argv[3]!, process.argv[4]!, process.argv[5] === 'iptables' ? 'iptables' : 'ebpf', Number(process.argv[6]));
  if (spawnSync('valgrind', ['--version']).status !== 0) fail('valgrind is not installed (Debian: apt-get install valgrind)');
  let tier: Tier;
  try {
    tier = tierByName(arg('--tier') ?? 'small');
  } catch (e) {
    fail(`--tier: ${(e as Error).message}`);
  }
  const packets = Number(arg('--packets') ?? 300000);
  if (!Number.isInteger(packets) || packets < 1) fail(`--packets: a positive integer, not ${arg('--packets')}`);
  const models = (arg('--models') ?? 'ebpf,iptables').split(',');
  const threads = Number(arg('--threads') ?? 1);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) fail(`--threads: 1 to 64, not ${arg('--threads')}`);
  for (const m of models) if (m !== 'ebpf' && m !== 'iptables') fail(`--models: ebpf and/or iptables, not ${m}`);
  const exchanges = Number(arg('--exchanges') ?? 1);
  if (!Number.isInteger(exchanges) || exchanges < 1 || exchanges > MAX_EXCHANGES) fail(`--exchanges: 1 to ${MAX_EXCHANGES}, not ${arg('--exchanges')}`);
  const services = Number(arg('--services') ?? 0);
  const apps = appCount(tier);
  if (!Number.isInteger(services) || services < 0 || services > apps) fail(`--services: 0 to ${apps} (one per app of the ${tier.name} tier), not ${arg('--services')}`);
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-instructions-'));
  try {
    const cluster = clusterFile(tier, dir, services);
    const pcap = join(dir, 'traffic.pcap');
    synthToSink(indexCluster(loadCluster([cluster]).cluster), { packets, seed: SEED, size: { kind: 'fixed', bytes: 64 }, exchanges }, fileSink(pcap));
    const runs = models.map((m) => counted(cluster, pcap, m, threads, dir));
    const date = new Date().toISOString();
    const results = { date, machine: machine(), tier: tier.name, packets, threads, exchanges, services, caches: CACHES, models: runs };
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `instructions-${date.slice(0, 19).replace(/:/g, '-')}.json`), `${JSON.stringify(results, null, 2)}\n`);
    const traffic = (exchanges === 1 ? '' : `, ${exchanges} exchanges per allowed TCP connection`) + (services > 0 ? `, ${services} Services` : '');
    process.stdout.write(`Native replay, ${tier.name} tier, ${packets} packets of 64 bytes${traffic}, ${threads === 1 ? 'one thread' : `${threads} threads (all threads' work)`}, per packet (cachegrind):\n\n${table(runs)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
