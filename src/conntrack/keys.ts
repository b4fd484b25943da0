/**
 * Tuples from batch rows, written into the tracker's scratch key (no allocation). The layout is
 * table.ts's: source (4 words), destination (4), family << 8 | protocol, then the "ports" word:
 * sport << 16 | dport for TCP, UDP, UDP-Lite and SCTP; echo id << 16 | type << 8 | code for ICMP and
 * ICMPv6 (the kernel's ICMP tuple is id, type and code); zero for other protocols (the generic tracker
 * knows addresses and protocol only).
 */
import type { FlowBatch } from '../wire/flow-batch.js';
import { TUPLE_WORDS } from './table.js';

const PROTO_WORD = 8;
const PORT_WORD = 9;

export function isIcmp(proto: number): boolean {
  return proto === 1 || proto === 58;
}

function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === 136;
}

/** The kernel's ICMP/ICMPv6 inverse types (invmap): query <-> reply. 0 where a type has no inverse. */
const INVERSE_TYPE = new Uint8Array(256 * 2);
for (const [a, b] of [[8, 0], [13, 14], [15, 16], [17, 18]] as const) {
  INVERSE_TYPE[a] = b + 1;
  INVERSE_TYPE[b] = a + 1;
}
for (const [a, b] of [[128, 129], [139, 140]] as const) {
  INVERSE_TYPE[256 + a] = b + 1;
  INVERSE_TYPE[256 + b] = a + 1;
}

/** The inverse ICMP type + 1 (0: none). `v6` selects ICMPv6. */
export function inverseIcmpType(v6: boolean, type: number): number {
  return INVERSE_TYPE[(v6 ? 256 : 0) + type]!;
}

/** Writes the row's tuple, as the packet travels, into key words 0-9. */
export function packetKey(key: Uint32Array, batch: FlowBatch, i: number): void {
  const w = i * 4;
  for (let k = 0; k < 4; k++) {
    key[k] = batch.src[w + k]!;
    key[4 + k] = batch.dst[w + k]!;
  }
  const proto = batch.proto[i]!;
  key[PROTO_WORD] = (batch.family[i]! << 8) | proto;
  if (hasPorts(proto)) key[PORT_WORD] = (batch.srcPort[i]! << 16) | batch.dstPort[i]!;
  else if (isIcmp(proto)) key[PORT_WORD] = (batch.srcPort[i]! << 16) | (batch.icmpType[i]! << 8) | batch.icmpCode[i]!;
  else key[PORT_WORD] = 0;
}

/**
 * Writes the reply tuple of key words 0-9 into words 10-19: addresses and ports swapped; for ICMP the
 * same id and the inverse type. Returns false when an ICMP type has no inverse (the kernel cannot
 * invert the tuple, so it creates no connection: the packet is INVALID).
 */
export function replyKey(key: Uint32Array): boolean {
  for (let k = 0; k < 4; k++) {
    key[TUPLE_WORDS + k] = key[4 + k]!;
    key[TUPLE_WORDS + 4 + k] = key[k]!;
  }
  const protoWord = key[PROTO_WORD]!;
  const proto = protoWord & 0xff;
  const ports = key[PORT_WORD]!;
  key[TUPLE_WORDS + PROTO_WORD] = protoWord;
  if (isIcmp(proto)) {
    const inv = inverseIcmpType(proto === 58, (ports >>> 8) & 0xff);
    if (inv === 0) return false;
    key[TUPLE_WORDS + PORT_WORD] = (ports & 0xffff00ff) | ((inv - 1) << 8);
  } else {
    key[TUPLE_WORDS + PORT_WORD] = ((ports & 0xffff) << 16) | (ports >>> 16);
  }
  return true;
}

/**
 * Writes into key words 0-9 the inverse of the tuple an ICMP error quotes, which is what the kernel's
 * nf_conntrack_inet_error looks up. A quoted ICMP packet is taken to be an echo request (the batch keeps
 * the quoted echo id, not its type), so its inverse is the echo reply.
 */
export function quotedReverseKey(key: Uint32Array, batch: FlowBatch, i: number): void {
  const w = i * 4;
  for (let k = 0; k < 4; k++) {
    key[k] = batch.innerDst[w + k]!;
    key[4 + k] = batch.innerSrc[w + k]!;
  }
  const proto = batch.innerProto[i]!;
  key[PROTO_WORD] = (batch.family[i]! << 8) | proto;
  if (hasPorts(proto)) key[PORT_WORD] = (batch.innerDstPort[i]! << 16) | batch.innerSrcPort[i]!;
  else if (isIcmp(proto)) key[PORT_WORD] = (batch.innerSrcPort[i]! << 16) | ((proto === 58 ? 129 : 0) << 8);
  else key[PORT_WORD] = 0;
}

/** True when the ICMP error is addressed to the quoted packet's sender (the kernel checks this). */
export function errorGoesToQuotedSender(batch: FlowBatch, i: number): boolean {
  const w = i * 4;
  for (let k = 0; k < 4; k++) if (batch.dst[w + k] !== batch.innerSrc[w + k]) return false;
  return true;
}

/** The reassembly key of a fragment: addresses, family and protocol, identification. */
export function fragmentKey(key: Uint32Array, batch: FlowBatch, i: number): void {
  const w = i * 4;
  for (let k = 0; k < 4; k++) {
    key[k] = batch.src[w + k]!;
    key[4 + k] = batch.dst[w + k]!;
  }
  key[PROTO_WORD] = (batch.family[i]! << 8) | batch.proto[i]!;
  key[PORT_WORD] = batch.fragmentId[i]!;
}
