/**
 * The reference model in C (native/src/reference.cc): its verdicts are the evaluator's, asked back in
 * JavaScript once per flow as NetworkPolicy sees it (family, addresses, protocol, the destination port of
 * TCP, UDP and SCTP only), through the cache's growth and its restart at 524,288 flows; conntrack decides
 * known connections without asking; a failing evaluator is an error, not a verdict.
 * The whole replay against the TypeScript reference model: test/native/replay.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { classifyNative, nativeReference } from '../../src/native/engine.js';
import { CtState, FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;
const PROTOS = [6, 17, 132, 1, 136, 47];
const MAX_FLOWS = 1 << 19;

/** Flow k as a row: a source address per 65,536 flows, the destination port from k. */
function flowRow(b: FlowBatch, i: number, k: number, proto = 6): void {
  b.family[i] = 4;
  b.src.fill(0, i * 4, i * 4 + 4);
  b.dst.fill(0, i * 4, i * 4 + 4);
  b.src[i * 4] = 0x0a000000 + Math.floor(k / 65536);
  b.dst[i * 4] = 0x0a640001;
  b.proto[i] = proto;
  b.srcPort[i] = 40000 + (k % 7);
  b.dstPort[i] = k % 65536;
  b.ctState[i] = CtState.NEW;
}

/** What the evaluator reads of row i, as text; and a verdict that is a pure function of it. */
function flowText(b: FlowBatch, i: number): string {
  const proto = b.proto[i]!;
  const port = proto === 6 || proto === 17 || proto === 132 ? b.dstPort[i] : '-';
  return `${b.family[i]} ${b.src.subarray(i * 4, i * 4 + 4).join('.')} ${b.dst.subarray(i * 4, i * 4 + 4).join('.')} ${proto} ${port}`;
}

function verdictOf(text: string): number {
  let h = 0;
  for (let c = 0; c < text.length; c++) h = (h * 31 + text.charCodeAt(c)) | 0;
  return (h >>> 3) & 1 ? Verdict.ACCEPT : Verdict.DROP;
}

d('the native reference model', () => {
  /** A reference handle whose evaluator records what it was asked, over batch `b`; and a runner of flows. */
  function asking(b: FlowBatch, protoOf: (k: number) => number) {
    const asked: string[] = [];
    const nm = nativeReference(addon!, (batch, row) => {
      const text = flowText(batch, row);
      asked.push(text);
      return verdictOf(text);
    }, b);
    /** Flows [from, to) in batches, each row's verdict checked; returns how many the evaluator was asked. */
    const run = (from: number, to: number): number => {
      const before = asked.length;
      for (let k = from; k < to; k += b.capacity) {
        b.count = Math.min(b.capacity, to - k);
        for (let i = 0; i < b.count; i++) flowRow(b, i, k + i, protoOf(k + i));
        classifyNative(nm, b);
        for (let i = 0; i < b.count; i++) {
          if (b.verdict[i] !== verdictOf(flowText(b, i))) throw new Error(`flow ${k + i}: verdict ${b.verdict[i]}`);
        }
      }
      return asked.length - before;
    };
    return { asked, run };
  }

  it('asks the evaluator once per flow as NetworkPolicy sees it, through the growth of its cache', () => {
    const { asked, run } = asking(new FlowBatch(4096), (k) => PROTOS[k % PROTOS.length]!);
    // 60,000 rows: those of TCP, UDP and SCTP (half) each a flow of its own; the others' ports do not
    // count (UDP-Lite's included), so they make one flow per protocol: 30,000 + 3 questions, all distinct.
    expect(run(0, 60_000)).toBe(30_003);
    expect(new Set(asked).size).toBe(asked.length);
    expect(run(0, 60_000)).toBe(0);
  });

  it('keeps 524,288 flows, and on the next new one starts again empty', () => {
    const { run } = asking(new FlowBatch(4096), () => 6);
    expect(run(0, MAX_FLOWS)).toBe(MAX_FLOWS);
    expect(run(0, MAX_FLOWS)).toBe(0);
    expect(run(MAX_FLOWS, MAX_FLOWS + 1)).toBe(1);
    // The restart kept only the flow that caused it.
    expect(run(MAX_FLOWS, MAX_FLOWS + 1)).toBe(0);
    expect(run(0, 2)).toBe(2);
  }, 60_000);

  it('decides known connections and non-IP rows without asking, and a failing evaluator throws its error', () => {
    const b = new FlowBatch(8);
    let asked = 0;
    const nm = nativeReference(addon!, () => {
      asked++;
      return Verdict.ACCEPT;
    }, b);
    for (let i = 0; i < 4; i++) flowRow(b, i, i);
    b.ctState[0] = CtState.ESTABLISHED;
    b.ctState[1] = CtState.RELATED;
    b.ctState[2] = CtState.INVALID;
    b.family[3] = 0;
    b.count = 4;
    classifyNative(nm, b);
    expect(Array.from(b.verdict.subarray(0, 4))).toEqual([Verdict.ACCEPT, Verdict.ACCEPT, Verdict.DROP, Verdict.NONE]);
    expect(asked).toBe(0);

    const throwing = nativeReference(addon!, () => {
      throw new Error('evaluator broke');
    }, b);
    flowRow(b, 0, 5);
    b.count = 1;
    expect(() => classifyNative(throwing, b)).toThrow('evaluator broke');
    const wrong = nativeReference(addon!, () => 7, b);
    expect(() => classifyNative(wrong, b)).toThrow('native reference model: the evaluator answered no verdict');
  });
});
