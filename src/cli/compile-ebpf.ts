/**
 * `compile --model ebpf`: the compiled identities, ipcache and policy maps, as one JSON document or as
 * text tables. The `compile` command (src/cli/compile.ts) parses the flags and calls this.
 *
 * With `out`, writes into that directory: `ebpf.json` (the whole document, shape `EbpfJson` in
 * src/compile/ebpf/dump.ts), `identities.txt`, `ipcache.txt` and `policy.txt` (the tables), and prints
 * a one-line summary on stderr; without it, prints the JSON or the tables on stdout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileEbpf } from '../compile/ebpf/compile.js';
import { renderAllTables, renderIdentities, renderIpcache, renderPolicyTable, toJson } from '../compile/ebpf/dump.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions } from '../model/evaluate.js';
import { InputError } from '../errors.js';

export interface EbpfCompileOptions {
  readonly out?: string;
  readonly output: 'json' | 'table';
  readonly options?: EvalOptions;
  /** Hit counters per entry (after a replay), shown in the PACKETS column. */
  readonly hits?: ArrayLike<number>;
}

export function runEbpfCompile(index: ClusterIndex, opts: EbpfCompileOptions): void {
  const program = compileEbpf(index, opts.options ?? DEFAULT_EVAL_OPTIONS);
  for (const w of program.warnings) process.stderr.write(`netsieve: warning: ${w}\n`);
  if (opts.out === undefined) {
    process.stdout.write(opts.output === 'json' ? `${JSON.stringify(toJson(program, opts.hits), null, 2)}\n` : renderAllTables(program, opts.hits));
    return;
  }
  try {
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, 'ebpf.json'), `${JSON.stringify(toJson(program, opts.hits), null, 2)}\n`);
    writeFileSync(join(opts.out, 'identities.txt'), renderIdentities(program));
    writeFileSync(join(opts.out, 'ipcache.txt'), renderIpcache(program));
    writeFileSync(join(opts.out, 'policy.txt'), renderPolicyTable(program, opts.hits));
  } catch (err) {
    throw new InputError(`-o ${opts.out}: cannot write the eBPF maps: ${(err as Error).message}`);
  }
  process.stderr.write(`netsieve: wrote ebpf.json, identities.txt, ipcache.txt, policy.txt to ${opts.out}: ` +
    `${program.identities.length} identities, ${program.ipcache.length} ipcache entries, ${program.policyMap.count} policy entries\n`);
}
