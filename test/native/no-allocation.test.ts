/**
 * The TypeScript side of the native path allocates nothing per call once bound: 200,000 calls of
 * classifyNative and of runNative (each a whole small batch) start no garbage collection, where a loop
 * allocating one small object per iteration starts several (the positive control). The reference model
 * too, once its flows are known (its evaluator, called back per new flow, allocates).
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { newConntrack } from '../../src/conntrack/index.js';
import { loadEbpf } from '../../src/match/ebpf.js';
import { loadIptables } from '../../src/match/iptables.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { classifyNative, nativeEbpf, nativeIptables, runNative } from '../../src/native/engine.js';
import { buildRowModel, nativeHandleOf } from '../../src/replay/models.js';
import { randomScenario } from '../support/random-cluster.js';
import { allocatingLoop, gcCountDuring } from '../conntrack/support/gc-counter.js';
import { conntrackRows, requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;
const CALLS = 200_000;

d('the native path allocates nothing per call', () => {
  const s = randomScenario(5, { flowsPerScenario: 40 });
  const index = indexCluster(s.cluster);
  const batch = conntrackRows(s.flows, 16, 5);
  const models = {
    ebpf: () => nativeEbpf(addon!, loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS))),
    iptables: () => nativeIptables(addon!, loadIptables(compileIptables(index, DEFAULT_EVAL_OPTIONS))),
    // The evaluator is asked once per flow, during the warm-up; after it, every flow is in C's cache.
    reference: () => nativeHandleOf(addon!, buildRowModel('reference', index, DEFAULT_EVAL_OPTIONS), batch)!,
  };

  it('the positive control: a loop allocating per iteration is seen collecting', async () => {
    expect(await gcCountDuring(() => allocatingLoop(CALLS * 10))).toBeGreaterThan(0);
  });

  for (const [name, make] of Object.entries(models)) {
    it(`${name}: ${CALLS} classifyNative and ${CALLS} runNative calls, no collection`, async () => {
      const nm = make();
      const ct = newConntrack();
      for (let k = 0; k < 1000; k++) { classifyNative(nm, batch); runNative(nm, ct, batch); } // warm-up: bind, JIT
      let orphans = 0;
      const gcs = await gcCountDuring(() => {
        for (let k = 0; k < CALLS; k++) {
          classifyNative(nm, batch);
          orphans += runNative(nm, ct, batch);
        }
      });
      expect(gcs).toBe(0);
      expect(orphans).toBeGreaterThanOrEqual(0);
    });
  }
});
