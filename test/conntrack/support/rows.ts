/** Test helpers: fill FlowBatch rows by hand and run them through track -> verdict -> confirm. */
import { FlowBatch, RowFlag, Verdict } from '../../../src/wire/flow-batch.js';
import { ipToWords, mustParseIp } from '../../../src/model/ip.js';
import { confirm, track, type Conntrack } from '../../../src/conntrack/index.js';

export interface Pkt {
  src: string;
  dst: string;
  proto?: number;
  sport?: number;
  dport?: number;
  /** TCP flags as letters: S, A, F, R, P, U (e.g. 'SA'). */
  tcp?: string;
  icmpType?: number;
  icmpCode?: number;
  /** ICMP echo id (stored in srcPort and dstPort, as the decoder does). */
  id?: number;
  /** Seconds since the capture start (base 1,700,000,000). */
  t?: number;
  flags?: number;
  fragmentId?: number;
  inner?: { src: string; dst: string; proto: number; sport?: number; dport?: number };
}

const FLAG_BITS: Record<string, number> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20 };

export function tcpFlags(letters: string): number {
  let f = 0;
  for (const c of letters) f |= FLAG_BITS[c]!;
  return f;
}

function words(out: Uint32Array, i: number, text: string): void {
  out.fill(0, i * 4, i * 4 + 4);
  ipToWords(mustParseIp(text), out, i * 4);
}

export function fillRow(b: FlowBatch, i: number, p: Pkt): void {
  const family = mustParseIp(p.src).family;
  b.family[i] = family;
  words(b.src, i, p.src);
  words(b.dst, i, p.dst);
  b.proto[i] = p.proto ?? 6;
  b.srcPort[i] = p.id ?? p.sport ?? 40000;
  b.dstPort[i] = p.id ?? p.dport ?? 80;
  b.tcpFlags[i] = p.tcp === undefined ? 0 : tcpFlags(p.tcp);
  b.icmpType[i] = p.icmpType ?? 0;
  b.icmpCode[i] = p.icmpCode ?? 0;
  b.flags[i] = (p.flags ?? 0) | (p.id !== undefined ? RowFlag.ICMP_ECHO : 0) | (p.inner ? RowFlag.ICMP_ERROR : 0);
  b.fragmentId[i] = p.fragmentId ?? 0;
  const t = 1_700_000_000 + (p.t ?? 0);
  b.tsSec[i] = Math.floor(t);
  b.tsNsec[i] = Math.round((t - Math.floor(t)) * 1e9);
  if (p.inner) {
    words(b.innerSrc, i, p.inner.src);
    words(b.innerDst, i, p.inner.dst);
    b.innerProto[i] = p.inner.proto;
    b.innerSrcPort[i] = p.inner.sport ?? 0;
    b.innerDstPort[i] = p.inner.dport ?? 0;
  }
}

/** Runs one packet through conntrack with the given verdict; returns its ctState. */
export function step(ct: Conntrack, b: FlowBatch, p: Pkt, accept = true, i = 0): number {
  fillRow(b, i, p);
  track(ct, b, i);
  b.verdict[i] = accept ? Verdict.ACCEPT : Verdict.DROP;
  confirm(ct, b, i);
  return b.ctState[i]!;
}
