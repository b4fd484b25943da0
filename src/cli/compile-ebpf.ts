/**
 * `compile --model ebpf`: the compiled identities, ipcache and policy maps, as one JSON document or as
 * text tables. The `compile` command (src/cli/compile.ts) parses the flags and calls this.
 *
 * With `out`, writes into that directory: `ebpf.json` (the whole document, shape `EbpfJson` in
 * src/compile/ebpf/dump.ts), `identities.txt`, `ipcache.txt` and `policy.txt` (the tables), and prints
 * a one-line summary on stderr; without it, prints the JSON or the tables on stdout. In the JSON, each
 * policy map entry is one line.
 */
import { compileEbpf } from '../compile/ebpf/compile.js';
import type { ChunkSink } from '../compile/text.js';
import { renderIdentities, renderIpcache, streamAllTables, streamJson, streamPolicyTable } from '../compile/ebpf/dump.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions } from '../model/evaluate.js';
import { InputError } from '../errors.js';
import { groupDigits } from '../report/digits.js';
import { withProgressBar, withStatus } from './progress.js';
import { writeStreamedFiles } from './streamed-files.js';

export interface EbpfCompileOptions {
  readonly out?: string;
  readonly output: 'json' | 'table';
  readonly options?: EvalOptions;
  /** Hit counters per entry (after a replay), shown in the PACKETS column. */
  readonly hits?: ArrayLike<number>;
}

/**
 * Everything is streamed, one policy map entry at a time (src/compile/ebpf/dump.ts): the real tier's
 * 5M entries, as objects and then one JSON string, ran V8 out of heap after a minute. On stdout the
 * chunks go to process.stdout.write, synchronous for files and terminals, and for pipes since the
 * command sets them blocking (./netsieve.ts), so nothing queues behind a slow reader.
 */
export function runEbpfCompile(index: ClusterIndex, opts: EbpfCompileOptions): void {
  // Status and bars only to a person at a terminal, and not with JSON output.
  const show = opts.output !== 'json' && process.stderr.isTTY;
  const program = withStatus(show, (status) => {
    status.show(`compiling the eBPF model of ${groupDigits(index.cluster.policies.length)} policies`);
    return compileEbpf(index, opts.options ?? DEFAULT_EVAL_OPTIONS);
  });
  for (const w of program.warnings) process.stderr.write(`netsieve: warning: ${w}\n`);
  if (opts.out === undefined) {
    const stdout: ChunkSink = (chunk) => { process.stdout.write(chunk); };
    if (opts.output === 'json') {
      streamJson(program, opts.hits, stdout);
      stdout('\n');
    } else streamAllTables(program, opts.hits, stdout);
    return;
  }
  // Long at scale (the real tier's 5M entries: about 50 s): a bar per large file on a terminal.
  const shown = (file: string, write: (progress?: (entries: number) => void) => void): void =>
    withProgressBar(show, `entries written to ${file}`, program.policyMap.count, write);
  try {
    writeStreamedFiles(opts.out, [
      ['ebpf.json', (sink) => shown('ebpf.json', (progress) => { streamJson(program, opts.hits, sink, true, progress); sink('\n'); })],
      ['identities.txt', (sink) => sink(renderIdentities(program))],
      ['ipcache.txt', (sink) => sink(renderIpcache(program))],
      ['policy.txt', (sink) => shown('policy.txt', (progress) => streamPolicyTable(program, opts.hits, sink, progress))],
    ]);
  } catch (err) {
    throw new InputError(`-o ${opts.out}: cannot write the eBPF maps: ${(err as Error).message}`);
  }
  process.stderr.write(`netsieve: wrote ebpf.json, identities.txt, ipcache.txt, policy.txt to ${opts.out}: ` +
    `${program.identities.length} identities, ${program.ipcache.length} ipcache entries, ${program.policyMap.count} policy entries\n`);
}
