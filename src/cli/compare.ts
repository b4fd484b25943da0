/**
 * `netsieve compare <capture...> --cluster <path...> [--synth N] [--exchanges N] [--sweep] [--html F] [--output json]`:
 * the iptables and eBPF models on the same traffic, side by side (see src/compare/).
 * Exit codes: 0; 1 when the models disagree on any packet (a bug: they implement one semantics), or an
 * engine does (native against TypeScript), on the traffic or at any --sweep size; 2 bad input; 3 a
 * capture read only up to damage.
 */
import { cpus } from 'node:os';
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { InputError } from '../errors.js';
import { indexCluster } from '../model/cluster-index.js';
import { chooseEngine, nativeAddon, parseEngine, type NativeAddon } from '../native/load.js';
import { compareModels, MODELS, type CompareOptions, type Comparison } from '../compare/compare.js';
import { trackerWarnings } from '../replay/trackers.js';
import { DEFAULT_SWEEP_SIZES, sweep, type SweepPoint } from '../compare/sweep.js';
import { decodeCaptures, synthTraffic, type DecodedTraffic } from '../compare/traffic.js';
import { MAX_EXCHANGES } from '../traffic/synth/index.js';
import { buildCompareJson, compareFailure, renderCompareTable } from '../report/compare-report.js';
import { renderCompareHtml } from '../report/compare-html.js';
import { groupDigits } from '../report/digits.js';
import type { EvalOptions } from '../model/evaluate.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { addConntrackOption, parseConntrackMax } from './conntrack-option.js';
import { addSemanticsOptions, parseChoice, semanticsFromOptions } from './semantics-options.js';
import { withStatus } from './progress.js';
import { wholeNumber } from './whole-number.js';

export function registerCompare(program: Command): void {
  const cmd = program.command('compare')
    .description('both dataplane models on the same traffic: disagreements, throughput, rules walked vs probes, compile time, size, memory')
    .argument('[capture...]', 'pcap or pcapng files (not needed with --synth)')
    .option('--synth <n>', 'instead of captures, N seeded synthetic 64-byte packets for the cluster')
    .option('--seed <n>', 'seed for --synth and --sweep', '1')
    .option('--exchanges <n>', 'request/response exchanges per allowed TCP connection of --synth and --sweep traffic (6 + 2n packets each)', '1')
    .option('--sweep', 'also regenerate policy sets of growing size and chart both models\' cost per packet against policy count')
    .option('--sweep-sizes <list>', 'policy counts for --sweep, comma-separated', DEFAULT_SWEEP_SIZES.join(','))
    .option('--sweep-pods <n>', 'pods of the --sweep clusters', '1000')
    .option('--html <file>', 'write a self-contained HTML report (inline SVG charts)')
    .option('--engine <engine>', 'native or js: js measures TypeScript only; default also measures native when the addon loads')
    .option('--output <format>', 'table or json', 'table');
  addConntrackOption(cmd);
  addClusterOptions(cmd);
  addSemanticsOptions(cmd);
  cmd.action((captures: string[], opts: Record<string, string | boolean>) => runCompare(captures, opts));
}

function runCompare(captures: string[], opts: Record<string, string | boolean>): void {
  const s = opts as Record<string, string>;
  const output = parseChoice(s['output']!, '--output', ['table', 'json'] as const);
  const synth = s['synth'] === undefined ? null : wholeNumber(s['synth'], '--synth', { min: 1 });
  const seed = wholeNumber(s['seed']!, '--seed', { min: 0 });
  const exchanges = wholeNumber(s['exchanges']!, '--exchanges', { min: 1, max: MAX_EXCHANGES });
  const conntrackCapacity = parseConntrackMax(s['conntrackMax']!);
  if (synth === null && captures.length === 0) throw new InputError('compare: give a capture, or --synth N for synthetic traffic');
  // Progress only to a person at a terminal: quiet into a pipe or a file, and with JSON output.
  const progress = output !== 'json' && process.stderr.isTTY;
  const requested = parseEngine(s['engine']);
  const { addon } = chooseEngine(requested, nativeAddon(), () => {});
  const load = nativeAddon();
  const nativeNote = addon ? null : requested === 'js' ? '--engine js' : load.addon === null ? load.reason : null;
  const { options, traffic, comparison } = loadAndCompare(s, captures, { synth, seed, exchanges }, progress, { addon, nativeNote, conntrackCapacity });
  const trackers = MODELS.map((name) => ({ name, tracker: comparison.models[name].js.tracker }));
  for (const w of trackerWarnings(trackers)) process.stderr.write(`netsieve: warning: ${w}\n`);
  const sweepPoints = opts['sweep'] ? runSweep(s, options, { seed, exchanges }, progress, addon) : null;
  const synthetic = synth !== null || sweepPoints !== null;
  const doc = buildCompareJson(comparison, {
    captures: synth !== null ? [] : captures, synth, exchanges: synthetic ? exchanges : null, damage: traffic.damage, sweep: sweepPoints, machine: machine(),
  });
  if (s['html'] !== undefined) writeHtml(s['html'], renderCompareHtml(doc));
  process.stdout.write(output === 'json' ? `${JSON.stringify(doc)}\n` : renderCompareTable(doc));
  const failure = compareFailure(doc);
  if (failure !== null) process.stderr.write(`netsieve: compare: ${failure}\n`);
  if (traffic.damage) {
    process.stderr.write(`netsieve: ${traffic.damage.file}: read only up to byte offset ${traffic.damage.offset}: ${traffic.damage.reason}\n`);
    process.exitCode = 3;
  } else if (failure !== null) process.exitCode = 1;
}

/**
 * The cluster loaded, the traffic read or made, and both models compiled and run over it. On a terminal
 * a status line names each step (seconds each at tens of thousands of pods).
 */
function loadAndCompare(
  s: Record<string, string>, captures: string[], make: { synth: number | null; seed: number; exchanges: number }, progress: boolean,
  run: CompareOptions,
): { options: EvalOptions; traffic: DecodedTraffic; comparison: Comparison } {
  return withStatus(progress, (status) => {
    status.show('loading the cluster manifests');
    const index = indexCluster(loadClusterFromOptions(s).cluster);
    const options = semanticsFromOptions(s);
    const { synth, seed, exchanges } = make;
    status.show(synth !== null ? `making ${groupDigits(synth)} packets of synthetic traffic` : 'reading the captures');
    const traffic = synth !== null ? synthTraffic(index, synth, seed, { kind: 'fixed', bytes: 64 }, options, exchanges) : decodeCaptures(captures, index);
    status.show(`compiling both models and running ${groupDigits(traffic.packets)} packets through each`);
    return { options, traffic, comparison: compareModels(index, options, traffic, run) };
  });
}

function runSweep(
  s: Record<string, string>, options: ReturnType<typeof semanticsFromOptions>, traffic: { seed: number; exchanges: number }, progress: boolean, addon: NativeAddon | null,
): SweepPoint[] {
  const sizes = s['sweepSizes']!.split(',').map((t) => wholeNumber(t.trim(), '--sweep-sizes', { min: 0 }));
  const pods = wholeNumber(s['sweepPods']!, '--sweep-pods', { min: 1 });
  return sweep(options, {
    sizes, pods, namespaces: Math.max(1, Math.round(pods / 20)), packets: 20000, ...traffic, addon,
    onPoint: progress ? (p) => process.stderr.write(`netsieve: sweep: ${p.policies} policies done\n`) : undefined,
  });
}

export function machine(): { node: string; v8: string; cpu: string; cores: number } {
  const list = cpus();
  return { node: process.versions.node, v8: process.versions.v8, cpu: list[0]?.model ?? 'unknown', cores: list.length };
}

function writeHtml(path: string, html: string): void {
  try {
    writeFileSync(path, html);
  } catch (err) {
    throw new InputError(`--html ${path}: cannot write: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
