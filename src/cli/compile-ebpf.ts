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
import type { EbpfProgram } from '../compile/ebpf/program.js';
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
    process.stdout.write(dumpable(program, () => opts.output === 'json' ? `${JSON.stringify(toJson(program, opts.hits), null, 2)}\n` : renderAllTables(program, opts.hits)));
    return;
  }
  const files = dumpable(program, () => ({
    'ebpf.json': `${JSON.stringify(toJson(program, opts.hits), null, 2)}\n`, 'identities.txt': renderIdentities(program),
    'ipcache.txt': renderIpcache(program), 'policy.txt': renderPolicyTable(program, opts.hits),
  }));
  try {
    mkdirSync(opts.out, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(opts.out, name), text);
  } catch (err) {
    throw new InputError(`-o ${opts.out}: cannot write the eBPF maps: ${(err as Error).message}`);
  }
  process.stderr.write(`netsieve: wrote ebpf.json, identities.txt, ipcache.txt, policy.txt to ${opts.out}: ` +
    `${program.identities.length} identities, ${program.ipcache.length} ipcache entries, ${program.policyMap.count} policy entries\n`);
}

/**
 * The dumps list every policy map entry as an object, then as text: past V8's longest array (about
 * 2^27 elements) or string (2^29 - 24 characters) that cannot be done, as at the stress tier (141M
 * entries, tens of GB of JSON). Said as such, instead of an internal error or a false "cannot write".
 */
function dumpable<T>(program: EbpfProgram, render: () => T): T {
  try {
    return render();
  } catch (e) {
    if (!(e instanceof RangeError && /Invalid (array|string) length/.test(e.message))) throw e;
    throw new InputError(`the eBPF program has ${program.policyMap.count} policy map entries, more than can be dumped as JSON or ` +
      'text tables in Node.js (its longest array or string); `replay` and `compare` work at this size');
  }
}
