/**
 * `netsieve cluster-gen -o FILE` as users run it: the same cluster written as YAML (the `yaml` package,
 * loaded only when a YAML file is written or read) and as JSON, each loading back to the same model.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCluster } from '../../src/manifests/load.js';
import { runCli } from '../support/cli.js';

describe('netsieve cluster-gen', () => {
  it('writes one cluster as YAML and as JSON, and both load back to the same model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-cluster-gen-'));
    const args = ['cluster-gen', '--pods', '40', '--namespaces', '4', '--policies', '6', '--seed', '3', '-o'];
    for (const file of ['c.yaml', 'c.json']) {
      const r = runCli([...args, join(dir, file)]);
      expect(r.status, r.stderr).toBe(0);
    }
    expect(readFileSync(join(dir, 'c.yaml'), 'utf8')).toMatch(/^apiVersion: v1\nkind: List\n/);
    const fromYaml = loadCluster([join(dir, 'c.yaml')]).cluster;
    const fromJson = loadCluster([join(dir, 'c.json')]).cluster;
    expect(fromYaml.pods.length).toBeGreaterThanOrEqual(40);
    expect(fromYaml.policies.length).toBe(6);
    // Where each object came from (file, document) differs; addresses hold bigints, which JSON cannot.
    const strip = (c: typeof fromYaml) => JSON.parse(JSON.stringify(c, (k, v) => (k === 'source' ? undefined : typeof v === 'bigint' ? String(v) : v)));
    expect(strip(fromYaml)).toEqual(strip(fromJson));
  });

  it('--services N adds N Services; more than one per app is refused with exit 2 and one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-cluster-gen-'));
    const out = join(dir, 's.json');
    const args = ['cluster-gen', '--pods', '40', '--namespaces', '4', '--policies', '6', '--seed', '3'];
    const r = runCli([...args, '--services', '5', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(`netsieve: wrote ${out}: 40 pods, 4 namespaces, 6 policies, 5 Services (seed 3)\n`);
    expect(loadCluster([out]).cluster.services).toHaveLength(5);
    const tooMany = runCli([...args, '--services', '15', '-o', join(dir, 't.json')]);
    expect(tooMany.status).toBe(2);
    expect(tooMany.stderr).toBe('netsieve: --services: "15" is not a whole number from 0 to 14\n');
  });
});
