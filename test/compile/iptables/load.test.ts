/**
 * The compiled files load into the real kernel: `ipset restore`, `iptables-restore` and
 * `ip6tables-restore` inside a private network namespace (`unshare -n`: nothing to clean up, nothing
 * outside touched), with both the nft and the legacy iptables backends, and `iptables-save` prints
 * back exactly the rule lines we rendered (so the text is canonical, and what the matcher walks is
 * what the kernel holds). Named scenarios plus random ones under every switch combination.
 *
 * Needs root, unshare, iptables and ipset (Debian: `apt-get install -y iptables ipset`). Where they are
 * missing the test is skipped with the reason; with CI=true it fails instead.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileIptables, renderIpsets, renderRules } from '../../../src/compile/iptables/index.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions } from '../../../src/model/evaluate.js';
import type { Cluster } from '../../../src/model/types.js';
import { randomScenario } from '../../support/random-cluster.js';
import { NAMED_SCENARIOS } from './scenarios.js';

const BACKENDS = ['nft', 'legacy'] as const;
const RANDOM_SEEDS = 12;

function missingPrerequisite(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  for (const bin of ['unshare', 'ipset', ...BACKENDS.flatMap((b) => [`iptables-${b}-restore`, `ip6tables-${b}-restore`])]) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} not installed (apt-get install -y iptables ipset)`;
  }
  const probe = spawnSync('unshare', ['-n', 'true']);
  return probe.status === 0 ? null : `unshare -n failed: ${probe.stderr.toString().trim()}`;
}

const missing = missingPrerequisite();
if (missing && process.env['CI'] === 'true') throw new Error(`iptables load test cannot run in CI: ${missing}`);
if (missing) console.warn(`\n*** iptables load test NOT RUN: ${missing} ***\n`);

const dir = mkdtempSync(join(tmpdir(), 'netsieve-iptables-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads the three files in a fresh network namespace and returns what the tools save back. */
function loadAndSave(files: Record<string, string>, backend: (typeof BACKENDS)[number]): { v4: string; v6: string; ipset: string } {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const script = [
    'set -e', `cd ${dir}`, 'ipset restore < ipsets.restore',
    `iptables-${backend}-restore < rules.v4`, `ip6tables-${backend}-restore < rules.v6`,
    `iptables-${backend}-save > saved.v4`, `ip6tables-${backend}-save > saved.v6`, 'ipset save > saved.ipset',
  ].join('\n');
  const run = spawnSync('unshare', ['-n', 'sh', '-c', script]);
  if (run.status !== 0) throw new Error(`loading failed (${backend}): ${run.stderr.toString()}`);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { v4: read('saved.v4'), v6: read('saved.v6'), ipset: read('saved.ipset') };
}

const lines = (text: string, prefix: string): string[] => text.split('\n').filter((l) => l.startsWith(prefix)).sort();

function checkLoads(cluster: Cluster, options: EvalOptions, backend: (typeof BACKENDS)[number]): void {
  const program = compileIptables(indexCluster(cluster), options);
  const files = { 'ipsets.restore': renderIpsets(program), 'rules.v4': renderRules(program, 4), 'rules.v6': renderRules(program, 6) };
  const saved = loadAndSave(files, backend);
  expect(lines(saved.v4, '-A '), 'rules.v4 saved back').toEqual(lines(files['rules.v4'], '-A '));
  expect(lines(saved.v6, '-A '), 'rules.v6 saved back').toEqual(lines(files['rules.v6'], '-A '));
  expect(lines(saved.ipset, 'add '), 'ipset members saved back').toEqual(lines(files['ipsets.restore'], 'add '));
  expect(lines(saved.v4, ':NS-').length).toBe(program.v4.chains.length - 3);
}

const OPTION_SETS: readonly EvalOptions[] = [
  DEFAULT_EVAL_OPTIONS,
  { ipBlockMatchesPods: false, allowLoopback: false, allowNodeTraffic: false },
];

describe.skipIf(missing !== null)('the compiled files load into the kernel and save back unchanged', () => {
  for (const backend of BACKENDS) {
    it(`named scenarios (${Object.keys(NAMED_SCENARIOS).join(', ')}) with iptables-${backend}`, () => {
      for (const make of Object.values(NAMED_SCENARIOS)) checkLoads(make(), DEFAULT_EVAL_OPTIONS, backend);
    });
    it(`${RANDOM_SEEDS} random scenarios under two switch settings with iptables-${backend}`, () => {
      for (let seed = 1; seed <= RANDOM_SEEDS; seed++) {
        checkLoads(randomScenario(seed, { flowsPerScenario: 0 }).cluster, OPTION_SETS[seed % 2]!, backend);
      }
    });
  }
});
