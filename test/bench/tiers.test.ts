import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { clusterFile, TIERS, tierByName } from '../../bench/tiers.js';

describe('benchmark tiers', () => {
  test('the tiers are the sizes issue 6 names', () => {
    expect(TIERS.map((t) => [t.name, t.pods, t.namespaces, t.policies])).toEqual([
      ['small', 1000, 50, 100], ['real', 5400, 600, 14000], ['large', 50000, 500, 500], ['stress', 150000, 10000, 50000],
    ]);
    expect(() => tierByName('huge')).toThrow(/unknown tier "huge": one of small, real, large, stress/);
  });

  test('the small tier cluster file has its pods, namespaces and policies (plus kube-system and coredns)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-bench-test-'));
    try {
      const list = JSON.parse(readFileSync(clusterFile(tierByName('small'), dir), 'utf8')) as { items: { kind: string }[] };
      const count = (kind: string): number => list.items.filter((i) => i.kind === kind).length;
      expect([count('Pod'), count('Namespace'), count('NetworkPolicy')]).toEqual([1001, 51, 100]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
