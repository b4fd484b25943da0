/**
 * `netsieve replay`: a capture through the cluster's dataplane, packet by packet, connection tracking
 * included, and the report of what was allowed and denied and why.
 * Exit codes: 0 the captures were read whole, 3 read up to damage (the report says where), 2 bad input.
 */
import { Command } from 'commander';
import { InputError } from '../errors.js';
import { compileEbpf } from '../compile/ebpf/compile.js';
import { streamJson, streamPolicyTable } from '../compile/ebpf/dump.js';
import type { EbpfProgram } from '../compile/ebpf/program.js';
import { indexCluster, type ClusterIndex } from '../model/cluster-index.js';
import { DecisionMemo } from '../model/decision-memo.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { ModelName } from '../match/dataplane.js';
import { chooseEngine, parseEngine } from '../native/load.js';
import { MAX_THREADS, replay, type ReplayOptions, type ReplayResult } from '../replay/replay.js';
import { trackerWarnings } from '../replay/trackers.js';
import { buildReplayReport } from '../report/replay-report.js';
import { renderReplayTable } from '../report/replay-table.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { addConntrackOption, parseConntrackMax } from './conntrack-option.js';
import { addSemanticsOptions, parseChoice, semanticsFromOptions } from './semantics-options.js';
import { groupDigits } from '../report/digits.js';
import { progressBar, withStatus } from './progress.js';
import { wholeNumber } from './whole-number.js';

const MODELS = ['reference', 'iptables', 'ebpf', 'all'] as const;

export function registerReplay(program: Command): void {
  const cmd = program.command('replay')
    .description('replay captures through the dataplane model(s): verdicts per packet, connections allowed and denied, and why')
    .argument('<capture...>', 'pcap or pcapng files, replayed in order as one stream')
    .option('--model <name>', 'reference, iptables, ebpf, or all (all compares them packet by packet; reference decides the report)', 'reference')
    .option('--output <format>', 'table or json', 'table')
    .option('--write-allowed <file>', 'write the packets the dataplane accepts to this pcap')
    .option('--write-dropped <file>', 'write the packets the dataplane drops to this pcap')
    .option('--limit <n>', 'denied connections to list', '100')
    .option('--engine <engine>', 'native (C addon; the default when it loads) or js (TypeScript)')
    .option('--threads <n>', 'threads, sharded by connection (results equal one thread\'s while no conntrack table fills)', '1');
  addConntrackOption(cmd)
    .option('--policy-maps', 'eBPF model: also print the policy maps with each entry\'s hit count (like `cilium bpf policy get`)');
  addClusterOptions(cmd);
  addSemanticsOptions(cmd);
  cmd.action((captures: string[], opts: Record<string, string>) => runReplay(captures, opts));
}

function runReplay(captures: string[], opts: Record<string, string>): void {
  const model = parseChoice(opts['model']!, '--model', MODELS);
  const output = parseChoice(opts['output']!, '--output', ['table', 'json'] as const);
  const limit = parseLimit(opts['limit']!);
  const threads = parseThreads(opts['threads']!);
  const conntrackCapacity = parseConntrackMax(opts['conntrackMax']!);
  const { addon } = chooseEngine(parseEngine(opts['engine']));
  const models: ModelName[] = model === 'all' ? ['reference', 'iptables', 'ebpf'] : [model];
  const { result, index, evalOptions, decisions } = loadAndReplay(captures, opts, models, output !== 'json' && process.stderr.isTTY, {
    addon, threads, conntrackCapacity,
  });
  for (const w of trackerWarnings(result.models)) process.stderr.write(`netsieve: warning: ${w}\n`);
  const report = buildReplayReport(result, index, evalOptions, limit, decisions);
  const maps = opts['policyMaps'] ? policyMapsWithHits(result, index, evalOptions) : null;
  // The policy maps are streamed (src/compile/ebpf/dump.ts): millions of entries at the real tier.
  const stdout = (chunk: string): void => { process.stdout.write(chunk); };
  if (output === 'json') {
    const json = JSON.stringify(report);
    if (!maps) stdout(`${json}\n`);
    else {
      stdout(`${json.slice(0, -1)},"ebpfPolicyMaps":`); // the report's own fields, then the maps as its last
      streamJson(maps.program, maps.hits, stdout, false);
      stdout('}\n');
    }
  } else {
    stdout(renderReplayTable(report, captures));
    if (maps) {
      stdout('\neBPF policy maps after the replay:\n');
      streamPolicyTable(maps.program, maps.hits, stdout);
    }
  }
  if (report.damage) {
    process.stderr.write(`netsieve: ${report.damage.file}: read only up to byte offset ${report.damage.offset}: ${report.damage.reason}\n`);
    process.exitCode = 3;
  }
}

/**
 * The cluster loaded and the captures replayed. On a terminal a status line names each step until the
 * progress bar can count packets (loading and building take seconds at tens of thousands of pods).
 */
function loadAndReplay(
  captures: string[], opts: Record<string, string>, models: ModelName[], onTerminal: boolean,
  run: Pick<ReplayOptions, 'addon' | 'threads' | 'conntrackCapacity'>,
): { result: ReplayResult; index: ClusterIndex; evalOptions: EvalOptions; decisions: DecisionMemo } {
  const bar = onTerminal ? progressBar('packets') : undefined;
  try {
    return withStatus(onTerminal, (status) => {
      status.show('loading the cluster manifests');
      const { cluster } = loadClusterFromOptions(opts);
      const index = indexCluster(cluster);
      const evalOptions = semanticsFromOptions(opts);
      // replay() compiles and loads the models before its first batch; the bar's first draw replaces this.
      const plural = models.length > 1 ? 's' : '';
      status.show(`building the ${models.join(', ')} model${plural} of ${groupDigits(cluster.pods.length)} pods and ${groupDigits(cluster.policies.length)} policies`);
      const decisions = new DecisionMemo(index, evalOptions);
      const result = replay(captures, {
        index, evalOptions, models, writeAllowed: opts['writeAllowed'], writeDropped: opts['writeDropped'], progress: bar?.update,
        decisions, ...run,
      });
      return { result, index, evalOptions, decisions };
    });
  } finally {
    bar?.done();
  }
}

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new InputError(`--limit: ${JSON.stringify(text)} is not a whole number`);
  return Number(text);
}

function parseThreads(text: string): number {
  return wholeNumber(text, '--threads', { min: 1, max: MAX_THREADS });
}

/**
 * The eBPF program as compiled for the replay (compilation is deterministic, so entry indexes line up
 * with the replay's counters) and the hits each entry took.
 */
function policyMapsWithHits(result: ReplayResult, index: ClusterIndex, options: EvalOptions): { program: EbpfProgram; hits: Float64Array } {
  const ebpf = result.models.find((m) => m.name === 'ebpf');
  if (!ebpf || !ebpf.mapEntryHits) throw new InputError('--policy-maps needs the eBPF model: --model ebpf or --model all');
  return { program: compileEbpf(index, options), hits: ebpf.mapEntryHits };
}
