/**
 * The native engine's probe sequence decides the hand-made precedence cases (deny entries, competing L3
 * and L4-only entries, nested port prefixes: test/compile/ebpf/precedence.ts) as the TypeScript one does.
 * The C lookup takes the deciding row's prefix length from its bucket and reads `rowDeny` only when the
 * program has deny rows (EbpfParam.HAS_DENY): the deny cases fail if that flag is not bound, the others
 * if the bucket's prefix length is not the row's.
 */
import { describe, expect, it } from 'vitest';
import { classifyRow, loadEbpf, probesSoFar, Trace } from '../../src/match/ebpf.js';
import { classifyNative, nativeEbpf } from '../../src/native/engine.js';
import { CtState, FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { ipToWords } from '../../src/model/ip.js';
import { PRECEDENCE_CASES, precedenceFlow, precedenceProgram, type PrecedenceCase } from '../compile/ebpf/precedence.js';
import { cloneBatch, requireAddon } from './support.js';

const addon = requireAddon();

/** The case's frontend -> backend flow, twice: the second row counts the same entry's hit again. */
function caseBatch(c: PrecedenceCase): FlowBatch {
  const f = precedenceFlow(c);
  const b = new FlowBatch(2);
  for (let i = 0; i < 2; i++) {
    b.family[i] = f.src.family;
    ipToWords(f.src, b.src, i * 4);
    ipToWords(f.dst, b.dst, i * 4);
    b.proto[i] = f.protocol;
    b.dstPort[i] = f.dstPort;
    b.ctState[i] = CtState.NEW;
  }
  b.count = 2;
  return b;
}

describe.skipIf(addon === null)('native eBPF precedence', () => {
  it.each(PRECEDENCE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const program = precedenceProgram(c);
    const js = loadEbpf(program);
    const nativeLoaded = loadEbpf(program);
    const a = caseBatch(c);
    const b = cloneBatch(a);
    for (let i = 0; i < a.count; i++) classifyRow(js, a, i);
    const handle = nativeEbpf(addon!, nativeLoaded);
    classifyNative(handle, b);
    // The case's own expectation, so that a shortcut both engines shared would still be caught.
    expect(js.trace[Trace.INGRESS_ENTRY]).toBe(c.decides);
    expect([...b.verdict.subarray(0, 2)]).toEqual([c.allowed ? Verdict.ACCEPT : Verdict.DROP, c.allowed ? Verdict.ACCEPT : Verdict.DROP]);
    expect([...b.decidedBy.subarray(0, 2)]).toEqual([...a.decidedBy.subarray(0, 2)]);
    expect([...b.cost.subarray(0, 2)]).toEqual([...a.cost.subarray(0, 2)]);
    expect([...nativeLoaded.hits]).toEqual([...js.hits]);
    expect(probesSoFar(nativeLoaded)).toBe(probesSoFar(js));
  });
});

