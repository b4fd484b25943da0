/**
 * `npm run bench [-- --tiers small,real] [--packets N] [--capture-packets N]` (or NETSIEVE_BENCH_TIERS):
 * capture reading against pcap-parser, then per tier and model (each in its own process): compile time,
 * peak memory, output size, classification and end-to-end replay throughput; the iptables output loaded
 * by the kernel in a private namespace. Writes bench/results/<date>.json, latest.md and *.svg.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchCapture, type CaptureResult } from './capture.js';
import { arg, CLI_NODE_OPTIONS, DIST, type Ladder, machine, ROOT, seconds, type Machine } from './lib.js';
import { renderCharts, renderMarkdown } from './report.js';
import { restoreInNamespace, type RestoreResult } from './restore.js';
import { clusterFile, generated, tierByName, type Tier } from './tiers.js';
import type { EndToEnd, LongFlows } from './tier-model.js';

export interface ModelRun {
  readonly tier: string;
  readonly model: 'iptables' | 'ebpf';
  readonly loadSeconds: number;
  readonly compileSeconds: number;
  readonly packSeconds: number;
  readonly size: Record<string, number>;
  readonly rssBeforeCompile: number;
  readonly rssAfterCompile: number;
  readonly packets: number;
  readonly classify: { name: string; pps: number; rme: number }[];
  readonly costPerPacket: number;
  readonly replayPps: number;
  readonly replayNativePps: number | null;
  readonly replay?: EndToEnd;
  /** The replays again on traffic of longer connections (absent before 2026-11-28 07:30). */
  readonly longFlows?: LongFlows;
  /** bench/ladder.ts: the native replay's stages, one thread (absent before 2026-11-27 19:00, null without the addon). */
  readonly ladder?: Ladder | null;
  readonly native: string;
  readonly seconds: number;
}

export interface TierRun {
  readonly tier: Tier;
  readonly generateSeconds: number;
  readonly models: ModelRun[];
  readonly restore: RestoreResult | null;
  readonly errors: string[];
  readonly seconds: number;
}

export interface Results {
  readonly date: string;
  readonly machine: Machine;
  readonly capture: CaptureResult[] | { error: string };
  readonly tiers: TierRun[];
  readonly threads: string;
  readonly seconds: number;
}

function runTier(tier: Tier, dir: string, packets: number): TierRun {
  const started = process.hrtime.bigint();
  const models: ModelRun[] = [];
  const errors: string[] = [];
  try {
    clusterFile(tier, dir);
  } catch (e) {
    // Reported in the results rather than ending the run (cluster-gen itself failed at this size).
    return { tier, generateSeconds: seconds(started), models, restore: null, errors: [`cluster generation: ${(e as Error).message}`], seconds: seconds(started) };
  }
  const generateSeconds = generated.get(tier.name) ?? 0;
  // The stress tier's iptables output is not loaded into the kernel: 94M ipset members, where the real
  // tier's 0.86M took ipset restore about 10 s (2026-11-26 runs).
  const stress = tier.name === 'stress';
  for (const model of ['iptables', 'ebpf'] as const) {
    process.stderr.write(`bench: ${tier.name}: ${model} ...\n`);
    // V8's background threads as the `netsieve` command has them (lib.ts CLI_NODE_OPTIONS).
    const args = [`--max-old-space-size=${stress ? 16384 : 8192}`, ...CLI_NODE_OPTIONS, join(DIST, 'bench', 'tier-model.js'), tier.name, model, dir, String(packets)];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status === 0) {
      const run = JSON.parse(r.stdout) as ModelRun;
      if (run.native !== 'loaded') process.stderr.write(`bench: ${tier.name}: ${model}: native cases skipped: ${run.native}\n`);
      models.push(run);
    }
    else errors.push(`${model}: exit ${r.status ?? r.signal}: ${firstError(r.stderr)}`);
  }
  const iptables = models.find((m) => m.model === 'iptables');
  const restore = !iptables ? null : stress ? notLoaded(iptables) : restoreInNamespace(join(dir, `iptables-${tier.name}`));
  return { tier, generateSeconds, models, restore, errors, seconds: seconds(started) };
}

/** The stress tier's restore files, not loaded: how large they are says why. */
function notLoaded(run: ModelRun): RestoreResult {
  const members = run.size['members'] ?? 0;
  return {
    ok: false, ipsetSeconds: 0, iptablesSeconds: 0, ip6tablesSeconds: 0, rulesLoaded: 0,
    note: `not run at this tier (${run.size['rules']} rules, ${members} ipset members in ${((run.size['textBytes'] ?? 0) / 1e9).toFixed(1)} GB of restore text; ` +
      `at the real tier's rate, 11.9 s per million members on 2026-11-26, ipset restore alone would take about ${Math.round((members / 1e6) * 11.9 / 60)} minutes)`,
  };
}

/** The line naming the error (not the stack under it) of a failed child. */
function firstError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => /^\w*(Error|error)\b|^RangeError|^TypeError/.test(l)) ?? lines.slice(0, 2).join(' | ');
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  let tiers: Tier[];
  try {
    tiers = (arg('--tiers') ?? process.env['NETSIEVE_BENCH_TIERS'] ?? 'small,real').split(',').map((t) => tierByName(t.trim()));
  } catch (e) {
    process.stderr.write(`bench: --tiers: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const packets = Number(arg('--packets') ?? 200000);
  const capturePackets = Number(arg('--capture-packets') ?? 500000);
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-bench-'));
  const m = machine();
  try {
    process.stderr.write(`bench: capture reading (${capturePackets} packets) ...\n`);
    let capture: Results['capture'];
    try {
      capture = await benchCapture(clusterFile(tierByName('small'), dir), dir, capturePackets);
    } catch (e) {
      capture = { error: (e as Error).message };
    }
    const runs = tiers.map((t) => runTier(t, dir, packets));
    m.loadEnd = loadavg()[0]!;
    const date = new Date().toISOString();
    const results: Results = {
      date, machine: m, capture, tiers: runs, seconds: seconds(started),
      threads: 'fused 2 threads: `replay --threads 2` (the split walk: this thread walks each chunk\'s record headers and copies them into a window, and each lane decodes and runs the rows of its shard; the time includes merging the lanes\' tables)',
    };
    const out = join(ROOT, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${date.slice(0, 19).replace(/:/g, '-')}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, 'latest.md'), renderMarkdown(results));
    for (const [name, svg] of Object.entries(renderCharts(results))) writeFileSync(join(out, name), svg);
    process.stdout.write(renderMarkdown(results));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
