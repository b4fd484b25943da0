/**
 * Packs one family's IR rules into parallel typed arrays for the matcher: integer fields per rule,
 * port ranges and set matches in flat side arrays addressed by start/count. Same data as the IR, laid
 * out for the hot loop.
 */
import { ipToWords } from '../model/ip.js';
import type { FamilyProgram } from '../compile/iptables/ir.js';
import { maskWords } from './iptables-sets.js';
import { carveArrays, type BufferAllocator } from '../conntrack/arena.js';

export interface PackedFamily {
  readonly entry: number;
  readonly chainStart: Int32Array;
  readonly chainEnd: Int32Array;
  readonly proto: Uint8Array;
  readonly ctMask: Uint8Array;
  readonly markValue: Uint32Array;
  readonly markMask: Uint32Array;
  /** -1: no `-s`/`-d`; base and mask as 4 words per rule. */
  readonly srcPrefix: Int16Array;
  readonly srcBase: Uint32Array;
  readonly srcMask: Uint32Array;
  readonly dstPrefix: Int16Array;
  readonly dstBase: Uint32Array;
  readonly dstMask: Uint32Array;
  readonly portStart: Int32Array;
  readonly portCount: Uint8Array;
  readonly portLo: Uint16Array;
  readonly portHi: Uint16Array;
  readonly setStart: Int32Array;
  readonly setCount: Uint8Array;
  readonly setId: Int32Array;
  /** 0 src, 1 dst (also `dst,dst`). */
  readonly setDir: Uint8Array;
  readonly setNeg: Uint8Array;
  readonly target: Uint8Array;
  readonly targetArg: Uint32Array;
  readonly targetMask: Uint32Array;
  /** Like `iptables -L -v`: packets and bytes of every rule that matched. */
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
}

/**
 * Zeroed packet and byte counters for `rules` rules, in memory from `allocate` when given: on the native
 * engine, the addon's quiet 4 KiB pages (src/native/load.ts nativeTables allocateSparse), which V8 does
 * not count. A replay writes the counters of the rules its packets walk, and at the stress tier's 1.4M
 * rules ordinary arrays were 45 MB of external memory that V8 counted as a replay's model or lane was
 * made: "external memory pressure" then started a marking of the whole heap (600 MB there) beside the
 * replay, which ran at half its speed (bench/NOTES.md).
 */
export function ruleCounters(rules: number, allocate?: BufferAllocator): Pick<PackedFamily, 'packets' | 'bytes'> {
  return carveArrays({ packets: [Float64Array, rules], bytes: [Float64Array, rules] }, allocate);
}

/** The family with zeroed packet and byte counters of its own (the rest shared, read only); `allocate` as ruleCounters takes it. */
export function withOwnCounters(f: PackedFamily, allocate?: BufferAllocator): PackedFamily {
  return { ...f, ...ruleCounters(f.packets.length, allocate) };
}

/** `allocate`: the memory of the rule counters (ruleCounters). */
export function packFamily(fp: FamilyProgram, allocate?: BufferAllocator): PackedFamily {
  const n = fp.rules.length;
  const ports = fp.rules.reduce((k, r) => k + r.dports.length, 0);
  const sets = fp.rules.reduce((k, r) => k + r.sets.length, 0);
  const p: PackedFamily = {
    entry: fp.entry,
    chainStart: Int32Array.from(fp.chains.map((c) => c.start)),
    chainEnd: Int32Array.from(fp.chains.map((c) => c.end)),
    proto: new Uint8Array(n), ctMask: new Uint8Array(n), markValue: new Uint32Array(n), markMask: new Uint32Array(n),
    srcPrefix: new Int16Array(n).fill(-1), srcBase: new Uint32Array(n * 4), srcMask: new Uint32Array(n * 4),
    dstPrefix: new Int16Array(n).fill(-1), dstBase: new Uint32Array(n * 4), dstMask: new Uint32Array(n * 4),
    portStart: new Int32Array(n), portCount: new Uint8Array(n), portLo: new Uint16Array(ports), portHi: new Uint16Array(ports),
    setStart: new Int32Array(n), setCount: new Uint8Array(n), setId: new Int32Array(sets), setDir: new Uint8Array(sets), setNeg: new Uint8Array(sets),
    target: new Uint8Array(n), targetArg: new Uint32Array(n), targetMask: new Uint32Array(n),
    ...ruleCounters(n, allocate),
  };
  let portAt = 0;
  let setAt = 0;
  fp.rules.forEach((r, i) => {
    p.proto[i] = r.proto;
    p.ctMask[i] = r.ctstate;
    p.markValue[i] = r.markValue;
    p.markMask[i] = r.markMask;
    if (r.src) packCidr(r.src, p.srcPrefix, p.srcBase, p.srcMask, i);
    if (r.dst) packCidr(r.dst, p.dstPrefix, p.dstBase, p.dstMask, i);
    p.portStart[i] = portAt;
    p.portCount[i] = r.dports.length;
    for (const range of r.dports) { p.portLo[portAt] = range.lo; p.portHi[portAt] = range.hi; portAt++; }
    p.setStart[i] = setAt;
    p.setCount[i] = r.sets.length;
    for (const s of r.sets) { p.setId[setAt] = s.set; p.setDir[setAt] = s.dir === 'src' ? 0 : 1; p.setNeg[setAt] = s.negate ? 1 : 0; setAt++; }
    p.target[i] = r.target;
    p.targetArg[i] = r.targetArg;
    p.targetMask[i] = r.targetMask;
  });
  return p;
}

function packCidr(c: { family: 4 | 6; base: bigint; prefix: number }, prefix: Int16Array, base: Uint32Array, mask: Uint32Array, i: number): void {
  prefix[i] = c.prefix;
  ipToWords({ family: c.family, value: c.base }, base, i * 4);
  maskWords(c.prefix, mask, i * 4);
}
