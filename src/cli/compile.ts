/**
 * `netsieve compile --cluster <path...> --model iptables|ebpf [-o DIR] [--output json|table]`.
 *
 * iptables: with `-o DIR` writes `ipsets.restore`, `rules.v4` and `rules.v6` there (load them with
 * `ipset restore < ipsets.restore && iptables-restore < rules.v4 && ip6tables-restore < rules.v6`)
 * and prints a summary on stderr (or the summary as JSON on stdout with `--output json`); without
 * `-o` prints the three files on stdout (as one JSON document with `--output json`).
 * ebpf: delegates to `runEbpfCompile` (src/cli/compile-ebpf.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { compileIptables, renderIpsets, renderRules, summarize, type IptablesSummary } from '../compile/iptables/index.js';
import { InputError } from '../errors.js';
import { indexCluster, type ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { runEbpfCompile } from './compile-ebpf.js';
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
  const index = indexCluster(loadClusterFromOptions(opts).cluster);
  const out = opts['out'];
  if (model === 'ebpf') {
    runEbpfCompile(index, { output, options, ...(out === undefined ? {} : { out }) });
    return;
  }
  runIptablesCompile(index, options, out, output);
}

export interface IptablesCompileResult {
  readonly files: Readonly<Record<'ipsets.restore' | 'rules.v4' | 'rules.v6', string>>;
  readonly summary: IptablesSummary;
  readonly compileSeconds: number;
}

/** Compiles and renders; timing covers compilation and rendering, not loading the manifests. */
export function compileIptablesFiles(index: ClusterIndex, options: EvalOptions): IptablesCompileResult {
  const started = process.hrtime.bigint();
  const program = compileIptables(index, options);
  const files = { 'ipsets.restore': renderIpsets(program), 'rules.v4': renderRules(program, 4), 'rules.v6': renderRules(program, 6) };
  const compileSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { files, summary: summarize(program), compileSeconds };
}

function runIptablesCompile(index: ClusterIndex, options: EvalOptions, out: string | undefined, output: 'table' | 'json'): void {
  const result = compileIptablesFiles(index, options);
  const summaryDoc = { model: 'iptables', ...result.summary, compileSeconds: result.compileSeconds };
  if (out === undefined) {
    if (output === 'json') process.stdout.write(`${JSON.stringify({ ...summaryDoc, files: result.files }, null, 2)}\n`);
    else for (const [name, text] of Object.entries(result.files)) process.stdout.write(`# ---- ${name}\n${text}`);
    return;
  }
  writeFiles(out, result.files);
  if (output === 'json') process.stdout.write(`${JSON.stringify({ ...summaryDoc, out }, null, 2)}\n`);
  else process.stderr.write(`${summaryLine(result, out)}\n`);
}

function writeFiles(dir: string, files: Readonly<Record<string, string>>): void {
  try {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  } catch (err) {
    throw new InputError(`-o ${dir}: cannot write the iptables files: ${(err as Error).message}`);
  }
}

export function summaryLine(result: IptablesCompileResult, dir: string): string {
  const s = result.summary;
  return `netsieve: iptables: ${s.chains.v4} chains / ${s.rules.v4} rules (IPv4), ${s.chains.v6} chains / ${s.rules.v6} rules (IPv6), ` +
    `${s.sets} ipsets with ${s.members} members, compiled in ${(result.compileSeconds * 1000).toFixed(1)} ms; ` +
    `wrote ${dir}/ipsets.restore, rules.v4, rules.v6`;
}
