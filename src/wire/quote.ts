/**
 * The packet an ICMP or ICMPv6 error quotes (RFC 792: the offending IP header and at least 8 bytes of
 * its payload; RFC 4443 section 3: as much of the invoking packet as fits). Connection tracking needs
 * that quoted flow to find the connection the error is RELATED to, as the kernel's nf_conntrack does in
 * icmp_error_message / icmpv6_error_message. The quoted packet was sent by the other end, so its source
 * is our destination: the fields hold it exactly as quoted, and conntrack does the reversing.
 */
import type { FlowBatch } from './flow-batch.js';
import { RowFlag } from './flow-batch.js';
import { copyU32be, u16be } from './bytes.js';
import { EXT_BROKEN, EXT_FRAGMENT, EXT_OFFSET, EXT_PROTO, FRAG_LATER, ext, walkIpv6Ext } from './ext6.js';
import {
  ICMP_ECHO_ID, IPV4_DST, IPV4_FRAG, IPV4_MIN_HLEN, IPV4_OFFSET_MASK, IPV4_PROTO, IPV4_SRC, IPV6_DST, IPV6_HLEN,
  IPV6_NEXT, IPV6_SRC, Icmp4, Icmp6, IpProto, PORTS_LEN,
} from './offsets.js';

/** Decodes a quoted IPv4 packet at `p` into the row's inner* fields. */
export function decodeQuote4(b: Uint8Array, p: number, end: number, batch: FlowBatch, row: number): void {
  if (end - p < IPV4_MIN_HLEN || b[p]! >> 4 !== 4) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  const hlen = (b[p]! & 15) * 4;
  copyU32be(b, p + IPV4_SRC, batch.innerSrc, row * 4);
  copyU32be(b, p + IPV4_DST, batch.innerDst, row * 4);
  const proto = b[p + IPV4_PROTO]!;
  batch.innerProto[row] = proto;
  if (hlen < IPV4_MIN_HLEN) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  // A quoted later fragment has no transport header: the inner flow is addresses and protocol only.
  if ((u16be(b, p + IPV4_FRAG) & IPV4_OFFSET_MASK) !== 0) return;
  innerPorts(b, p + hlen, end, proto, batch, row);
}

/** Decodes a quoted IPv6 packet (extension headers included) at `p` into the row's inner* fields. */
export function decodeQuote6(b: Uint8Array, p: number, end: number, batch: FlowBatch, row: number): void {
  if (end - p < IPV6_HLEN || b[p]! >> 4 !== 6) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  const w = row * 4;
  for (let i = 0; i < 4; i++) {
    copyU32be(b, p + IPV6_SRC + i * 4, batch.innerSrc, w + i);
    copyU32be(b, p + IPV6_DST + i * 4, batch.innerDst, w + i);
  }
  walkIpv6Ext(b, p + IPV6_HLEN, b[p + IPV6_NEXT]!, end);
  const proto = ext[EXT_PROTO]!;
  batch.innerProto[row] = proto;
  if (ext[EXT_BROKEN] !== 0) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  if (ext[EXT_FRAGMENT] === FRAG_LATER) return;
  innerPorts(b, ext[EXT_OFFSET]!, end, proto, batch, row);
}

/** Ports of the quoted transport header, or the echo id of a quoted echo (the id is conntrack's "port"). */
function innerPorts(b: Uint8Array, q: number, end: number, proto: number, batch: FlowBatch, row: number): void {
  if (proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.SCTP || proto === IpProto.UDPLITE) {
    if (end - q < PORTS_LEN) {
      batch.flags[row] |= RowFlag.MALFORMED;
      return;
    }
    batch.innerSrcPort[row] = u16be(b, q);
    batch.innerDstPort[row] = u16be(b, q + 2);
  } else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
    if (end - q < ICMP_ECHO_ID + 2) {
      batch.flags[row] |= RowFlag.MALFORMED;
      return;
    }
    const t = b[q]!;
    if (t === Icmp4.ECHO || t === Icmp4.ECHO_REPLY || t === Icmp6.ECHO || t === Icmp6.ECHO_REPLY) {
      const id = u16be(b, q + ICMP_ECHO_ID);
      batch.innerSrcPort[row] = id;
      batch.innerDstPort[row] = id;
    }
  }
}
