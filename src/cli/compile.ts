/**
 * `netsieve compile --cluster <path...> --model iptables|ebpf [-o DIR] [--output json|table]`.
 *
 * iptables: with `-o DIR` writes `ipsets.restore`, `rules.v4` and `rules.v6` there (load them with
 * `ipset restore < ipsets.restore && iptables-restore < rules.v4 && ip6tables-restore < rules.v6`)
 * and prints a summary on stderr (or the summary as JSON on stdout with `--output json`); without
 * `-o` prints the three files on stdout (as one JSON document with `--output json`).
 * ebpf: delegates to `runEbpfCompile` (src/cli/compile-ebpf.ts).
 */
import type { Command } from 'commander';
import {
  compileIptables, renderIpsets, renderRules, streamIpsets, streamRules, summarize, type ChunkSink, type IptablesSummary,
} from '../compile/iptables/index.js';
import type { IptablesProgram } from '../compile/iptables/ir.js';
import { InputError } from '../errors.js';
import { indexCluster, type ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { runEbpfCompile } from './compile-ebpf.js';
import { groupDigits } from '../report/digits.js';
import { withProgressBar, withStatus } from './progress.js';
import { writeStreamedFiles } from './streamed-files.js';
import { addSemanticsOptions, parseChoice, semanticsFromOptions } from './semantics-options.js';

export function registerCompile(program: Command): void {
  const cmd = program.command('compile')
    .description('compile the policies into a dataplane: iptables (ipsets.restore, rules.v4, rules.v6) or ebpf (identities, ipcache, policy maps)')
    .requiredOption('--model <name>', 'iptables or ebpf')
    .option('-o, --out <dir>', 'write the compiled files into this directory')
    .option('--output <format>', 'table (text) or json', 'table');
  addClusterOptions(cmd);
  addSemanticsOptions(cmd);
  cmd.action((opts: Record<string, string>) => runCompile(opts));
}

function runCompile(opts: Record<string, string>): void {
  const model = parseChoice(opts['model']!, '--model', ['iptables', 'ebpf'] as const);
  const output = parseChoice(opts['output']!, '--output', ['table', 'json'] as const);
  const options = semanticsFromOptions(opts);
  const index = withStatus(output !== 'json' && process.stderr.isTTY, (status) => {
    status.show('loading the cluster manifests');
    return indexCluster(loadClusterFromOptions(opts).cluster);
  });
  const out = opts['out'];
  if (model === 'ebpf') {
    runEbpfCompile(index, { output, options, ...(out === undefined ? {} : { out }) });
    return;
  }
  runIptablesCompile(index, options, out, output);
}

type IptablesFile = 'ipsets.restore' | 'rules.v4' | 'rules.v6';

/**
 * The three files as strings. Past V8's longest string (2^29 - 24 characters: the stress tier's ipset
 * text is 3.7 GB) only the streamed form exists, so that case is refused with what to do instead.
 */
function renderAll(program: IptablesProgram): Record<IptablesFile, string> {
  try {
    return { 'ipsets.restore': renderIpsets(program), 'rules.v4': renderRules(program, 4), 'rules.v6': renderRules(program, 6) };
  } catch (e) {
    if (!(e instanceof RangeError && /Invalid string length/.test(e.message))) throw e;
    const s = summarize(program);
    throw new InputError(`the iptables files (${s.rules.v4 + s.rules.v6} rules, ${s.members} set members) are longer than the longest ` +
      'string Node.js can hold, so they cannot be printed as one JSON document; write them with -o DIR (streamed, any size)');
  }
}

function runIptablesCompile(index: ClusterIndex, options: EvalOptions, out: string | undefined, output: 'table' | 'json'): void {
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  const show = output !== 'json' && process.stderr.isTTY;
  const program = withStatus(show, (status) => {
    status.show(`compiling the iptables model of ${groupDigits(index.cluster.policies.length)} policies`);
    return compileIptables(index, options);
  });
  const summary = summarize(program);
  if (out === undefined && output === 'json') {
    const files = renderAll(program);
    process.stdout.write(`${JSON.stringify({ model: 'iptables', ...summary, compileSeconds: seconds(), files }, null, 2)}\n`);
    return;
  }
  if (out === undefined) {
    // Streamed too: stdout is synchronous (a pipe set blocking by ./netsieve.ts), so chunks are not queued in memory.
    for (const name of IPTABLES_FILES) {
      process.stdout.write(`# ---- ${name}\n`);
      streamFile(program, name, (chunk) => process.stdout.write(chunk));
    }
    return;
  }
  writeIptablesFiles(out, program, show);
  // Here the rendering is streamed into the files, so its time includes writing them.
  const compileSeconds = seconds();
  if (output === 'json') process.stdout.write(`${JSON.stringify({ model: 'iptables', ...summary, compileSeconds, out }, null, 2)}\n`);
  else process.stderr.write(`${summaryLine(summary, compileSeconds, out)}\n`);
}

const IPTABLES_FILES: readonly IptablesFile[] = ['ipsets.restore', 'rules.v4', 'rules.v6'];

/** One file streamed; `progress` hears the set members or rules written so far, of `total`. */
function streamFile(program: IptablesProgram, name: IptablesFile, sink: ChunkSink, progress?: (done: number) => void): void {
  if (name === 'ipsets.restore') streamIpsets(program, sink, progress);
  else streamRules(program, name === 'rules.v4' ? 4 : 6, sink, progress);
}

/** What streamFile's progress counts in `name`, and how many there are. */
function progressUnit(summary: IptablesSummary, name: IptablesFile): [string, number] {
  if (name === 'ipsets.restore') return ['set members', summary.members];
  return ['rules', name === 'rules.v4' ? summary.rules.v4 : summary.rules.v6];
}

/**
 * Writes the three files into `dir`, each streamed in chunks of lines (src/compile/text.ts),
 * never held whole: the stress tier's ipset text alone is 3.7 GB, past V8's longest string (about a
 * minute to write: with `showProgress`, a bar per file on stderr). Returns the bytes written.
 */
export function writeIptablesFiles(dir: string, program: IptablesProgram, showProgress = false): number {
  const summary = showProgress ? summarize(program) : null;
  const stream = (name: IptablesFile, sink: ChunkSink): void => {
    if (!summary) return streamFile(program, name, sink);
    const [unit, total] = progressUnit(summary, name);
    withProgressBar(true, `${unit} written to ${name}`, total, (progress) => streamFile(program, name, sink, progress));
  };
  try {
    return writeStreamedFiles(dir, IPTABLES_FILES.map((name) => [name, (sink: ChunkSink) => stream(name, sink)] as const));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`-o ${dir}: cannot write the iptables files: ${(err as Error).message}`);
  }
}

function summaryLine(s: IptablesSummary, compileSeconds: number, dir: string): string {
  return `netsieve: iptables: ${s.chains.v4} chains / ${s.rules.v4} rules (IPv4), ${s.chains.v6} chains / ${s.rules.v6} rules (IPv6), ` +
    `${s.sets} ipsets with ${s.members} members, compiled in ${(compileSeconds * 1000).toFixed(1)} ms; ` +
    `wrote ${dir}/ipsets.restore, rules.v4, rules.v6`;
}
