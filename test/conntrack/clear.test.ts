/**
 * clearConntrack (src/conntrack/state.ts): a tracker emptied in place is a new tracker. compare's timed
 * passes reuse one table this way; a field left behind would carry connections, counters or fragments
 * from one pass into the next.
 */
import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { clearConntrack, newConntrack, type Conntrack } from '../../src/conntrack/index.js';
import { join } from 'node:path';
import { decodeCaptures, synthTraffic } from '../../src/compare/traffic.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { nativeHandleOf, buildRowModel, runRow } from '../../src/replay/models.js';
import { runNative } from '../../src/native/engine.js';
import { nativeAddon } from '../../src/native/load.js';

const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 80, namespaces: 4, policies: 10, seed: 3 }))).cluster);

/** Every typed array of the tracker, by name (the table's, the entries', the fragments', the scratch). */
function arrays(ct: Conntrack): Record<string, number[]> {
  const t = ct.table;
  const named = {
    slots: t.slots, tuples: t.tuples, prev: t.prev, next: t.next, free: t.free, meta: t.meta,
    state: ct.state, status: ct.status, lastIndex: ct.lastIndex, lastDir: ct.lastDir, expires: ct.expires, streamAt: ct.streamAt,
    counters: ct.counters, fragKeys: ct.fragments.keys, fragVerdict: ct.fragments.verdict, fragCtState: ct.fragments.ctState,
    fragExpires: ct.fragments.expires, key: ct.key, now: ct.now,
  };
  return Object.fromEntries(Object.entries(named).map(([k, a]) => [k, Array.from(a as ArrayLike<number>)]));
}

describe('clearConntrack', () => {
  it('leaves a tracker that filled, evicted and held fragments as a new one, and the next pass runs the same', () => {
    // A small table that fills: entries taken, freed and reused, evictions counted; then the edge-case
    // capture's first and later fragments.
    const batches = [
      ...synthTraffic(index, 6000, 11, { kind: 'imix' }, DEFAULT_EVAL_OPTIONS).batches,
      ...decodeCaptures([join('captures', 'formats', 'ip-edge-cases.pcap')], index).batches,
    ];
    const addon = nativeAddon().addon;
    for (const engine of addon ? ['js', 'native'] : ['js']) {
      const model = buildRowModel('ebpf', index, DEFAULT_EVAL_OPTIONS);
      const native = engine === 'native' ? nativeHandleOf(addon!, model) : null;
      const pass = (ct: Conntrack): number[] => {
        const out: number[] = [];
        for (const b of batches) {
          if (native) runNative(native, ct, b);
          else for (let i = 0; i < b.count; i++) if (b.family[i] !== 0) runRow({ ...model, conntrack: ct }, b, i);
          for (let i = 0; i < b.count; i++) out.push(b.verdict[i]!, b.ctState[i]!);
        }
        return out;
      };
      const used = newConntrack({ capacity: 300 });
      const first = pass(used);
      const after = arrays(used);
      expect(after.counters[1], `${engine}: evictions`).toBeGreaterThan(100);
      expect(after.fragExpires!.some((x) => x > 0), `${engine}: fragments held`).toBe(true);
      clearConntrack(used);
      expect(arrays(used), engine).toEqual(arrays(newConntrack({ capacity: 300 })));
      expect(pass(used), engine).toEqual(first);
      expect(arrays(used), engine).toEqual(after);
    }
  });
});
