/**
 * The benchmark tiers of issue 6, and their clusters: made by the cluster generator (the same code as
 * `netsieve cluster-gen`) into a work directory, once per run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeStreamedFile } from '../src/cli/streamed-files.js';
import { generateCluster } from '../src/clustergen/generate.js';
import { streamList } from '../src/clustergen/write.js';

export interface Tier {
  readonly name: string;
  readonly pods: number;
  readonly namespaces: number;
  readonly policies: number;
}

export const TIERS: readonly Tier[] = [
  { name: 'small', pods: 1000, namespaces: 50, policies: 100 },
  // About the size of one published production cluster.
  { name: 'real', pods: 5400, namespaces: 600, policies: 14000 },
  { name: 'large', pods: 50000, namespaces: 500, policies: 500 },
  { name: 'stress', pods: 150000, namespaces: 10000, policies: 50000 },
];

export const SEED = 1;

export function tierByName(name: string): Tier {
  const t = TIERS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown tier ${JSON.stringify(name)}: one of ${TIERS.map((x) => x.name).join(', ')}`);
  return t;
}

/** Seconds spent generating each tier's cluster file in this process. */
export const generated = new Map<string, number>();

/** The tier's cluster as a JSON `kind: List` in `dir` (generated once). */
export function clusterFile(tier: Tier, dir: string, services = 0): string {
  const path = join(dir, services > 0 ? `cluster-${tier.name}-${services}-services.json` : `cluster-${tier.name}.json`);
  if (!existsSync(path)) {
    const started = process.hrtime.bigint();
    writeStreamedFile(path, (sink) => streamList(generateCluster({ ...tier, seed: SEED, services }), 'json', sink));
    generated.set(tier.name, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return path;
}
