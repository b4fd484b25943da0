/**
 * `netsieve cluster-gen`: seeded benchmark clusters, written as a `kind: List` (JSON, or YAML when the
 * file name ends in .yaml/.yml).
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { yamlLib } from '../manifests/yaml-lib.js';
import { InputError } from '../errors.js';
import { generateCluster } from '../clustergen/generate.js';

export function registerClusterGen(program: Command): void {
  program.command('cluster-gen')
    .description('generate a benchmark cluster with realistic shapes (seeded, deterministic)')
    .requiredOption('--pods <n>', 'number of pods')
    .requiredOption('--namespaces <n>', 'number of namespaces')
    .requiredOption('--policies <n>', 'number of NetworkPolicies')
    .option('--seed <n>', 'seed', '1')
    .requiredOption('-o, --out <file>', 'output file (.json, or .yaml/.yml)')
    .action((opts: Record<string, string>) => {
      const pods = count(opts['pods']!, '--pods', 1);
      const namespaces = count(opts['namespaces']!, '--namespaces', 1);
      const policies = count(opts['policies']!, '--policies', 0);
      const seed = count(opts['seed']!, '--seed', 0);
      const list = generateCluster({ pods, namespaces, policies, seed });
      const out = opts['out']!;
      const text = /\.ya?ml$/.test(out) ? yamlLib().stringify(list) : JSON.stringify(list);
      try {
        writeFileSync(out, text);
      } catch (err) {
        throw new InputError(`-o ${out}: cannot write: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      process.stderr.write(`netsieve: wrote ${out}: ${pods} pods, ${namespaces} namespaces, ${policies} policies (seed ${seed})\n`);
    });
}

function count(text: string, flag: string, min: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new InputError(`${flag}: ${JSON.stringify(text)} is not a whole number >= ${min}`);
  }
  return Number(text);
}
