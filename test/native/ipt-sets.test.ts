/**
 * The iptables sets handed to the addon (flattenSets): sets that share one packed table (the same member
 * list, as the compiler gives sets selecting the same pods) share one copy, and every set still reads
 * exactly its own table. The stress tier's 35,516 sets were 7 GB copied per set.
 */
import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { loadCluster } from '../../src/manifests/load.js';
import { loadIptables } from '../../src/match/iptables.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { flattenSets } from '../../src/native/engine.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function tierSets() {
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-ipt-sets-'));
  try {
    const file = join(dir, 'cluster.json');
    writeFileSync(file, JSON.stringify(generateCluster({ pods: 600, namespaces: 30, policies: 80, seed: 3 })));
    return loadIptables(compileIptables(indexCluster(loadCluster([file]).cluster), DEFAULT_EVAL_OPTIONS)).sets;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('flattenSets', () => {
  const sets = tierSets();
  const distinct = [...new Set(sets)];
  // Read as numbers only: each array's own element type does not matter here.
  const flat = flattenSets(sets) as unknown as Record<string, Uint32Array>;

  it('the generated cluster has sets sharing a packed table (else this proves nothing)', () => {
    expect(distinct.length).toBeGreaterThan(0);
    expect(distinct.length).toBeLessThan(sets.length);
  });

  it('copies each distinct table once', () => {
    expect(flat['keys']!.length).toBe(distinct.reduce((n, s) => n + s.keys.length, 0));
    expect(flat['state']!.length).toBe(distinct.reduce((n, s) => n + s.state.length, 0));
    expect(flat['prefixes']!.length).toBe(distinct.reduce((n, s) => n + s.prefixes.length, 0));
  });

  it('every set reads exactly its own table', () => {
    sets.forEach((s, i) => {
      const slot = flat['slotStart']![i]!;
      const prefix = flat['prefixStart']![i]!;
      expect(flat['kind']![i]).toBe(s.kind);
      expect(flat['mask']![i]).toBe(s.mask);
      expect(flat['prefixCount']![i]).toBe(s.prefixes.length);
      expect(Array.from(flat['keys']!.subarray(slot * 5, slot * 5 + s.keys.length))).toEqual(Array.from(s.keys));
      expect(Array.from(flat['state']!.subarray(slot, slot + s.state.length))).toEqual(Array.from(s.state));
      expect(Array.from(flat['prefixes']!.subarray(prefix, prefix + s.prefixes.length))).toEqual(Array.from(s.prefixes));
      expect(Array.from(flat['prefixMasks']!.subarray(prefix * 4, prefix * 4 + s.prefixMasks.length))).toEqual(Array.from(s.prefixMasks));
    });
  });
});
