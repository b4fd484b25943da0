/**
 * `netsieve cluster-gen`: seeded benchmark clusters, written as a `kind: List` (JSON, or YAML when the
 * file name ends in .yaml/.yml).
 */
import { Command } from 'commander';
import { InputError } from '../errors.js';
import { appCount, generateCluster } from '../clustergen/generate.js';
import { streamList } from '../clustergen/write.js';
import { writeStreamedFile } from './streamed-files.js';
import { wholeNumber } from './whole-number.js';

export function registerClusterGen(program: Command): void {
  program.command('cluster-gen')
    .description('generate a benchmark cluster with realistic shapes (seeded, deterministic)')
    .requiredOption('--pods <n>', 'number of pods')
    .requiredOption('--namespaces <n>', 'number of namespaces')
    .requiredOption('--policies <n>', 'number of NetworkPolicies')
    .option('--seed <n>', 'seed', '1')
    .option('--services <n>', 'ClusterIP Services, one per app for that many apps (port 80 to the pods\' http port)', '0')
    .requiredOption('-o, --out <file>', 'output file (.json, or .yaml/.yml)')
    .action((opts: Record<string, string>) => {
      const pods = wholeNumber(opts['pods']!, '--pods', { min: 1 });
      const namespaces = wholeNumber(opts['namespaces']!, '--namespaces', { min: 1 });
      const policies = wholeNumber(opts['policies']!, '--policies', { min: 0 });
      const seed = wholeNumber(opts['seed']!, '--seed', { min: 0 });
      const services = wholeNumber(opts['services']!, '--services', { min: 0, max: appCount({ pods, namespaces }) });
      const list = generateCluster({ pods, namespaces, policies, seed, services });
      const out = opts['out']!;
      const format = /\.ya?ml$/.test(out) ? 'yaml' : 'json';
      try {
        writeStreamedFile(out, (sink) => streamList(list, format, sink));
      } catch (err) {
        throw new InputError(`-o ${out}: cannot write: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      const withServices = services > 0 ? `, ${services} Services` : '';
      process.stderr.write(`netsieve: wrote ${out}: ${pods} pods, ${namespaces} namespaces, ${policies} policies${withServices} (seed ${seed})\n`);
    });
}
