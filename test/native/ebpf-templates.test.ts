/**
 * The native engine reads the per-template policy table as the TypeScript one does: on replicas sharing a
 * template, each replica's own entry decides and counts its hit, at the same cost (epTemplate read included).
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { classifyBatch, loadEbpf, probesSoFar } from '../../src/match/ebpf.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { classifyNative, nativeEbpf } from '../../src/native/engine.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { flow } from '../support/builders.js';
import { replicas, row } from '../match/template-replicas.js';
import { cloneBatch, requireAddon } from './support.js';

const addon = requireAddon();

/** One batch of the rows: frontend to each replica on both ports and a closed one, and to the locked pod. */
function batch(): FlowBatch {
  const flows = [0, 1, 2].flatMap((i) => [80, 443, 81].map((port) => flow('10.244.1.5', `10.244.1.${10 + i}`, 'TCP', port)));
  flows.push(flow('10.244.1.5', '10.244.1.6', 'TCP', 80));
  const b = new FlowBatch(flows.length);
  flows.forEach((f, i) => {
    const one = row(f);
    b.family[i] = one.family[0]!;
    b.src.set(one.src.subarray(0, 4), i * 4);
    b.dst.set(one.dst.subarray(0, 4), i * 4);
    b.proto[i] = one.proto[0]!;
    b.dstPort[i] = one.dstPort[0]!;
    b.ctState[i] = one.ctState[0]!;
  });
  b.count = flows.length;
  return b;
}

describe.skipIf(addon === null)('native eBPF over templates shared by replicas', () => {
  it('decidedBy, verdicts, costs, hits and probe totals equal the TypeScript engine\'s', () => {
    const program = compileEbpf(indexCluster(replicas()), { ...DEFAULT_EVAL_OPTIONS, allowNodeTraffic: false });
    const js = loadEbpf(program);
    const nativeLoaded = loadEbpf(program);
    const a = batch();
    const b = cloneBatch(a);
    classifyBatch(js, a);
    classifyNative(nativeEbpf(addon!, nativeLoaded), b);
    expect([...b.decidedBy.subarray(0, b.count)]).toEqual([...a.decidedBy.subarray(0, a.count)]);
    expect([...b.verdict.subarray(0, b.count)]).toEqual([...a.verdict.subarray(0, a.count)]);
    expect([...b.cost.subarray(0, b.count)]).toEqual([...a.cost.subarray(0, a.count)]);
    expect([...nativeLoaded.hits]).toEqual([...js.hits]);
    expect(probesSoFar(nativeLoaded)).toBe(probesSoFar(js));
    // Six distinct entries decided (two ports x three replicas), each once.
    expect(new Set([...a.decidedBy.subarray(0, a.count)].filter((e) => e >= 0)).size).toBe(6);
    expect(js.hits.filter((h) => h === 1).length).toBe(6);
  });
});
