/**
 * "No stack traces for any input, however bad": seeded mutations of realistic manifests (a subtree
 * replaced by a value of another shape) either load or fail with an InputError, never anything else.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InputError } from '../../src/errors.js';
import { loadCluster } from '../../src/manifests/load.js';
import { FIXTURES, tempTree } from './helpers.js';
import { mulberry32 } from '../support/rng.js';

/** mulberry32: small, seeded. */
const rng = mulberry32;

const JUNK: unknown[] = [null, 0, -1, 1.5, 65536, '', 'x', 'None', 'TCP', true, [], [1], ['a'], {}, { a: 1 }, [{}], [null]];

/** Every path (list of keys) into a JSON value. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  }
  return out;
}

function mutate(root: unknown, path: (string | number)[], junk: unknown): unknown {
  if (path.length === 0) return junk;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path[path.length - 1]!] = junk;
  return copy;
}

function outcome(dir: string, value: unknown, i: number): 'loaded' | 'refused' {
  const file = join(dir, `m${i}.json`);
  writeFileSync(file, JSON.stringify(value));
  try {
    loadCluster([file]);
    return 'loaded';
  } catch (err) {
    if (!(err instanceof InputError)) throw new Error(`mutation ${i} threw ${String(err)}`);
    expect(err.message).toContain(file);
    expect(err.message).not.toMatch(/undefined|\[object Object\]|NaN/);
    return 'refused';
  }
}

describe('robustness', () => {
  for (const fixture of ['kubectl-get-all.yaml', 'workloads.yaml']) {
    it(`150 seeded mutations of ${fixture}: each loads or is an InputError naming the file`, () => {
      const docs = fixture.endsWith('workloads.yaml')
        ? [{ apiVersion: 'v1', kind: 'List', items: readFileSync(`${FIXTURES}/${fixture}`, 'utf8').split(/^---$/m).map((d) => parse(d) as unknown) }]
        : [parse(readFileSync(`${FIXTURES}/${fixture}`, 'utf8')) as unknown];
      const root = docs[0]!;
      const all = paths(root);
      const next = rng(fixture.length);
      const dir = tempTree({});
      const counts = { loaded: 0, refused: 0 };
      for (let i = 0; i < 150; i++) {
        const path = all[Math.floor(next() * all.length)]!;
        let junk = JUNK[Math.floor(next() * JUNK.length)];
        // 65536 replicas would only test how long expanding 65536 pods takes.
        if (junk === 65536 && /^(replicas|parallelism)$/.test(String(path.at(-1)))) junk = 3;
        counts[outcome(dir, mutate(root, path, junk), i)]++;
      }
      // Both outcomes occur: the mutations reach validation and also leave loadable inputs.
      expect(counts.loaded).toBeGreaterThan(10);
      expect(counts.refused).toBeGreaterThan(10);
    });
  }
});
