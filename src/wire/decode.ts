/**
 * Zero-copy packet decoding into a FlowBatch row: the link layer by pcap link type, then IPv4/IPv6 and
 * the transport header. Nothing is allocated; the bytes are read where the capture reader left them.
 *
 * What a row says about a packet that does not decode cleanly:
 * - not IP (ARP, LLC, an unknown link type): family 0, no flag;
 * - a link or IP header too short or of the wrong version to give addresses: family 0, MALFORMED;
 * - addresses readable but something after them cut short or inconsistent: family 4/6, the fields that
 *   could be read, MALFORMED.
 */
import type { FlowBatch } from './flow-batch.js';
import { RowFlag } from './flow-batch.js';
import { u16be } from './bytes.js';
import { decodeIpv4, decodeIpv6 } from './ip.js';
import {
  AF_INET, AF_INET6_BSD, AF_INET6_DARWIN, AF_INET6_FREEBSD, AF_INET6_LINUX, ETH_HLEN, ETH_TYPE, EtherType,
  LOOP_HLEN, LinkType, SLL2_HLEN, SLL2_PROTO, SLL_HLEN, SLL_PROTO, VLAN_HLEN, VLAN_MAX_TAGS, VLAN_TYPE,
} from './offsets.js';

/**
 * What the link layer says, packed with the payload offset into one number (`offset * 8 + kind`) so that
 * nothing is written outside the stack: module variables cost a measurable share of the decode.
 */
const KIND_NOT_IP = 0;
const KIND_IPV4 = 4;
const KIND_IPV6 = 6;
const KIND_BROKEN = 7;

/**
 * Decodes the packet whose captured bytes are `b[start, start + capturedLength)` and whose frame was
 * `wireLength` bytes on the wire into `row`. Record fields (timestamp, lengths, index, link type, data
 * offset) are the reader's to set; this sets the flow fields, clearing what an earlier use left.
 */
export function decodePacket(
  b: Uint8Array, start: number, capturedLength: number, wireLength: number, linkType: number,
  batch: FlowBatch, row: number,
): void {
  clearFlow(batch, row);
  decodeCleared(b, start, capturedLength, wireLength, linkType, batch, row);
}

/**
 * `decodePacket` for a row whose flow fields are already zero (see `clearFlows`). Readers clear a whole
 * batch with a few memsets before filling it, which costs less than clearing row by row.
 */
export function decodeCleared(
  b: Uint8Array, start: number, capturedLength: number, wireLength: number, linkType: number,
  batch: FlowBatch, row: number,
): void {
  const end = start + capturedLength;
  const wireEnd = start + (wireLength > capturedLength ? wireLength : capturedLength);
  // The common case first: untagged Ethernet carrying IPv4.
  if (linkType === LinkType.ETHERNET && capturedLength >= ETH_HLEN && u16be(b, start + ETH_TYPE) === EtherType.IPV4) {
    decodeIpv4(b, start + ETH_HLEN, end, wireEnd, batch, row);
    return;
  }
  const link = linkPayload(b, start, end, linkType);
  const kind = link & 7, l3 = (link - kind) / 8;
  if (kind === KIND_BROKEN) batch.flags[row] = RowFlag.MALFORMED;
  else if (kind === KIND_IPV4) decodeIpv4(b, l3, end, wireEnd, batch, row);
  else if (kind === KIND_IPV6) decodeIpv6(b, l3, end, wireEnd, batch, row);
}

/** Returns the link layer's payload offset and kind, packed (see KIND_*). */
function linkPayload(b: Uint8Array, p: number, end: number, linkType: number): number {
  switch (linkType) {
    case LinkType.ETHERNET:
      return end - p < ETH_HLEN ? broken(p) : etherPayload(b, p + ETH_HLEN, end, u16be(b, p + ETH_TYPE));
    case LinkType.LINUX_SLL:
      return end - p < SLL_HLEN ? broken(p) : etherPayload(b, p + SLL_HLEN, end, u16be(b, p + SLL_PROTO));
    case LinkType.LINUX_SLL2:
      return end - p < SLL2_HLEN ? broken(p) : etherPayload(b, p + SLL2_HLEN, end, u16be(b, p + SLL2_PROTO));
    case LinkType.RAW: case LinkType.RAW_DLT12: case LinkType.RAW_DLT14:
      if (end - p < 1) return broken(p);
      return p * 8 + (b[p]! >> 4 === 6 ? KIND_IPV6 : KIND_IPV4); // a wrong version fails in decodeIpv4
    case LinkType.IPV4: return p * 8 + KIND_IPV4;
    case LinkType.IPV6: return p * 8 + KIND_IPV6;
    case LinkType.NULL: case LinkType.LOOP:
      return end - p < LOOP_HLEN ? broken(p) : loopPayload(b, p, linkType);
    default:
      return p * 8 + KIND_NOT_IP;
  }
}

function broken(p: number): number {
  return p * 8 + KIND_BROKEN;
}

/** Walks 802.1Q / 802.1ad tags (QinQ: outer service tag, inner customer tag) to the real EtherType. */
function etherPayload(b: Uint8Array, p: number, end: number, type: number): number {
  for (let tags = 0; type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD; tags++) {
    if (tags === VLAN_MAX_TAGS || end - p < VLAN_HLEN) return broken(p);
    type = u16be(b, p + VLAN_TYPE);
    p += VLAN_HLEN;
  }
  return p * 8 + (type === EtherType.IPV4 ? KIND_IPV4 : type === EtherType.IPV6 ? KIND_IPV6 : KIND_NOT_IP);
}

/**
 * NULL carries the address family in the byte order of the host that captured (libpcap leaves it so);
 * a value above 0xffff can only be the other order. LOOP (OpenBSD) always has it big-endian.
 */
function loopPayload(b: Uint8Array, p: number, linkType: number): number {
  // Read as 16-bit halves (see bytes.ts on why no uint32 crosses a call here).
  const hiBE = u16be(b, p), loBE = u16be(b, p + 2);
  const loLE = b[p]! | (b[p + 1]! << 8), hiLE = b[p + 2]! | (b[p + 3]! << 8);
  const af = linkType === LinkType.LOOP || hiLE !== 0 ? (hiBE === 0 ? loBE : -1) : loLE;
  const payload = (p + LOOP_HLEN) * 8;
  if (af === AF_INET) return payload + KIND_IPV4;
  if (af === AF_INET6_LINUX || af === AF_INET6_BSD || af === AF_INET6_FREEBSD || af === AF_INET6_DARWIN) return payload + KIND_IPV6;
  return payload + KIND_NOT_IP;
}

/** Zeroes the flow fields of rows [from, to): the batch is reused, and stale values must not leak through. */
export function clearFlows(batch: FlowBatch, from: number, to: number): void {
  batch.family.fill(0, from, to);
  batch.proto.fill(0, from, to);
  batch.srcPort.fill(0, from, to);
  batch.dstPort.fill(0, from, to);
  batch.tcpFlags.fill(0, from, to);
  batch.icmpType.fill(0, from, to);
  batch.icmpCode.fill(0, from, to);
  batch.flags.fill(0, from, to);
  batch.fragmentId.fill(0, from, to);
  batch.innerProto.fill(0, from, to);
  batch.innerSrcPort.fill(0, from, to);
  batch.innerDstPort.fill(0, from, to);
  batch.sctpChunk.fill(0, from, to);
  batch.src.fill(0, from * 4, to * 4);
  batch.dst.fill(0, from * 4, to * 4);
  batch.innerSrc.fill(0, from * 4, to * 4);
  batch.innerDst.fill(0, from * 4, to * 4);
}

/** Zeroes the flow fields of one row. */
function clearFlow(batch: FlowBatch, row: number): void {
  batch.family[row] = 0;
  batch.proto[row] = 0;
  batch.srcPort[row] = 0;
  batch.dstPort[row] = 0;
  batch.tcpFlags[row] = 0;
  batch.icmpType[row] = 0;
  batch.icmpCode[row] = 0;
  batch.flags[row] = 0;
  batch.fragmentId[row] = 0;
  batch.innerProto[row] = 0;
  batch.innerSrcPort[row] = 0;
  batch.innerDstPort[row] = 0;
  batch.sctpChunk[row] = 0;
  const w = row * 4;
  for (let i = w; i < w + 4; i++) {
    batch.src[i] = 0;
    batch.dst[i] = 0;
    batch.innerSrc[i] = 0;
    batch.innerDst[i] = 0;
  }
}
