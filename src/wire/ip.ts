/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) headers into a FlowBatch row: family, addresses, protocol,
 * fragments, then the transport header. `l3` is the IP header's offset, `end` the end of the captured
 * bytes, `wireEnd` where the frame ended on the wire (bytes the snapshot length cut off still count
 * towards lengths: a packet longer than its record is normal, a packet longer than its frame is not).
 *
 * Fragments: as the kernel's defragmentation would see them. Only the fragment at offset 0 carries the
 * transport header (FIRST_FRAGMENT when more follow); any later one carries none (LATER_FRAGMENT) and
 * is matched to its first by `fragmentId` (RFC 791 identification, RFC 8200 fragment identification).
 */
import type { FlowBatch } from './flow-batch.js';
import { RowFlag } from './flow-batch.js';
import { copyU32be, u16be } from './bytes.js';
import {
  EXT_BROKEN, EXT_FRAGMENT, EXT_FRAGMENT_ID, EXT_OFFSET, EXT_PROTO, FRAG_FIRST, FRAG_LATER, ext, walkIpv6Ext,
} from './ext6.js';
import {
  IPV4_DST, IPV4_FRAG, IPV4_ID, IPV4_MF, IPV4_MIN_HLEN, IPV4_OFFSET_MASK, IPV4_PROTO, IPV4_SRC, IPV4_TOTAL_LEN,
  IPV6_DST, IPV6_HLEN, IPV6_NEXT, IPV6_PAYLOAD_LEN, IPV6_SRC, IpProto,
} from './offsets.js';
import { decodeTransport } from './transport.js';

/** Without a readable header there are no addresses: the row stays family 0 (no verdict), MALFORMED. */
export function decodeIpv4(b: Uint8Array, l3: number, end: number, wireEnd: number, batch: FlowBatch, row: number): void {
  if (end - l3 < IPV4_MIN_HLEN || b[l3]! >> 4 !== 4) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  batch.family[row] = 4;
  copyU32be(b, l3 + IPV4_SRC, batch.src, row * 4);
  copyU32be(b, l3 + IPV4_DST, batch.dst, row * 4);
  const proto = b[l3 + IPV4_PROTO]!;
  batch.proto[row] = proto;
  const hlen = (b[l3]! & 15) * 4;
  let total = u16be(b, l3 + IPV4_TOTAL_LEN);
  // Total length 0 is what TCP segmentation offload leaves in packets captured on the sending host
  // (Wireshark reports it "presumed to be because of TSO"): the frame then says how long the packet is.
  if (total === 0) total = wireEnd - l3;
  if (hlen < IPV4_MIN_HLEN || total < hlen || total > wireEnd - l3) {
    batch.flags[row] |= RowFlag.MALFORMED;
    if (hlen < IPV4_MIN_HLEN || total < hlen) return;
  }
  const frag = u16be(b, l3 + IPV4_FRAG);
  if ((frag & IPV4_OFFSET_MASK) !== 0) {
    batch.flags[row] |= RowFlag.LATER_FRAGMENT;
    batch.fragmentId[row] = u16be(b, l3 + IPV4_ID);
    return;
  }
  if ((frag & IPV4_MF) !== 0) {
    batch.flags[row] |= RowFlag.FIRST_FRAGMENT;
    batch.fragmentId[row] = u16be(b, l3 + IPV4_ID);
  }
  const l4end = l3 + total < end ? l3 + total : end;
  decodeTransport(b, l3 + hlen, l4end, proto, 4, batch, row);
}

export function decodeIpv6(b: Uint8Array, l3: number, end: number, wireEnd: number, batch: FlowBatch, row: number): void {
  if (end - l3 < IPV6_HLEN || b[l3]! >> 4 !== 6) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  batch.family[row] = 6;
  const w = row * 4;
  for (let i = 0; i < 4; i++) {
    copyU32be(b, l3 + IPV6_SRC + i * 4, batch.src, w + i);
    copyU32be(b, l3 + IPV6_DST + i * 4, batch.dst, w + i);
  }
  const next = b[l3 + IPV6_NEXT]!;
  let payloadEnd = l3 + IPV6_HLEN + u16be(b, l3 + IPV6_PAYLOAD_LEN);
  // Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675): the frame gives the length.
  if (payloadEnd === l3 + IPV6_HLEN && next === IpProto.HOPOPTS) payloadEnd = wireEnd;
  if (payloadEnd > wireEnd) batch.flags[row] |= RowFlag.MALFORMED;
  const l4end = payloadEnd < end ? payloadEnd : end;
  walkIpv6Ext(b, l3 + IPV6_HLEN, next, l4end);
  const proto = ext[EXT_PROTO]!, fragment = ext[EXT_FRAGMENT]!;
  batch.proto[row] = proto;
  if (fragment === FRAG_LATER || fragment === FRAG_FIRST) {
    batch.flags[row] |= fragment === FRAG_LATER ? RowFlag.LATER_FRAGMENT : RowFlag.FIRST_FRAGMENT;
    batch.fragmentId[row] = ext[EXT_FRAGMENT_ID]!;
  }
  if (ext[EXT_BROKEN] !== 0) {
    batch.flags[row] |= RowFlag.MALFORMED;
    return;
  }
  if (fragment === FRAG_LATER) return;
  decodeTransport(b, ext[EXT_OFFSET]!, l4end, proto, 6, batch, row);
}
