/**
 * Transport headers: ports, TCP flags, ICMP type/code and echo id, and the quoted flow of ICMP errors.
 * `p` is the transport header's offset, `end` the end of the bytes that belong to the IP packet and were
 * captured. A header cut short sets MALFORMED after whatever fields did fit were written.
 */
import type { FlowBatch } from './flow-batch.js';
import { RowFlag } from './flow-batch.js';
import { u16be } from './bytes.js';
import { decodeQuote4, decodeQuote6 } from './quote.js';
import {
  ICMP_CODE, ICMP_ECHO_ID, ICMP_HLEN, ICMP_QUOTE, Icmp4, Icmp6, IpProto, PORTS_LEN, SCTP_HLEN, TCP_DATA_OFFSET,
  TCP_FLAGS, TCP_MIN_HLEN, UDP_HLEN,
} from './offsets.js';

export function decodeTransport(
  b: Uint8Array, p: number, end: number, proto: number, family: number, batch: FlowBatch, row: number,
): void {
  if (proto === IpProto.TCP) decodeTcp(b, p, end, batch, row);
  else if (proto === IpProto.UDP || proto === IpProto.UDPLITE) decodePorts(b, p, end, UDP_HLEN, batch, row);
  else if (proto === IpProto.SCTP) decodeSctp(b, p, end, batch, row);
  else if (proto === IpProto.ICMP && family === 4) decodeIcmp4(b, p, end, batch, row);
  else if (proto === IpProto.ICMPV6 && family === 6) decodeIcmp6(b, p, end, batch, row);
}

function decodePorts(b: Uint8Array, p: number, end: number, hlen: number, batch: FlowBatch, row: number): void {
  const have = end - p;
  if (have >= PORTS_LEN) {
    batch.srcPort[row] = u16be(b, p);
    batch.dstPort[row] = u16be(b, p + 2);
  }
  if (have < hlen) batch.flags[row] |= RowFlag.MALFORMED;
}

/**
 * SCTP: ports, and the type of the first chunk (+1, so 0 says "none") for connection tracking, which lets
 * only some chunk types start an association (nf_conntrack_proto_sctp.c). A packet with no chunk keeps 0.
 */
function decodeSctp(b: Uint8Array, p: number, end: number, batch: FlowBatch, row: number): void {
  decodePorts(b, p, end, SCTP_HLEN, batch, row);
  if (end - p > SCTP_HLEN) batch.sctpChunk[row] = b[p + SCTP_HLEN]! + 1;
}

function decodeTcp(b: Uint8Array, p: number, end: number, batch: FlowBatch, row: number): void {
  decodePorts(b, p, end, TCP_MIN_HLEN, batch, row);
  if (end - p > TCP_FLAGS) {
    batch.tcpFlags[row] = b[p + TCP_FLAGS]!;
    // RFC 9293 3.1: data offset counts 32-bit words and is at least 5.
    if (b[p + TCP_DATA_OFFSET]! >> 4 < 5) batch.flags[row] |= RowFlag.MALFORMED;
  }
}

function decodeIcmp4(b: Uint8Array, p: number, end: number, batch: FlowBatch, row: number): void {
  if (end - p < 2) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  const t = b[p]!;
  batch.icmpType[row] = t;
  batch.icmpCode[row] = b[p + ICMP_CODE]!;
  if (t === Icmp4.ECHO || t === Icmp4.ECHO_REPLY) echoId(b, p, end, batch, row);
  else if (t === Icmp4.DEST_UNREACH || t === Icmp4.TIME_EXCEEDED || t === Icmp4.PARAM_PROBLEM
    || t === Icmp4.SOURCE_QUENCH || t === Icmp4.REDIRECT) {
    batch.flags[row] |= RowFlag.ICMP_ERROR;
    decodeQuote4(b, p + ICMP_QUOTE, end, batch, row);
  } else if (end - p < ICMP_HLEN) batch.flags[row] |= RowFlag.MALFORMED;
}

function decodeIcmp6(b: Uint8Array, p: number, end: number, batch: FlowBatch, row: number): void {
  if (end - p < 2) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  const t = b[p]!;
  batch.icmpType[row] = t;
  batch.icmpCode[row] = b[p + ICMP_CODE]!;
  if (t === Icmp6.ECHO || t === Icmp6.ECHO_REPLY) echoId(b, p, end, batch, row);
  else if (t >= Icmp6.DEST_UNREACH && t <= Icmp6.PARAM_PROBLEM) {
    batch.flags[row] |= RowFlag.ICMP_ERROR;
    decodeQuote6(b, p + ICMP_QUOTE, end, batch, row);
  } else if (end - p < 4) batch.flags[row] |= RowFlag.MALFORMED; // RFC 4443 2.1: type, code, checksum
}

/** Echo request/reply: the identifier is what conntrack keys ICMP "connections" on (nf_conntrack_proto_icmp). */
function echoId(b: Uint8Array, p: number, end: number, batch: FlowBatch, row: number): void {
  batch.flags[row] |= RowFlag.ICMP_ECHO;
  if (end - p >= ICMP_ECHO_ID + 2) {
    const id = u16be(b, p + ICMP_ECHO_ID);
    batch.srcPort[row] = id;
    batch.dstPort[row] = id;
  }
  if (end - p < ICMP_HLEN) batch.flags[row] |= RowFlag.MALFORMED;
}
