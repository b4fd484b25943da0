/**
 * Packet crafting: writes complete frames (Ethernet + IPv4/IPv6 + TCP/UDP/SCTP/ICMP/ICMPv6) with valid
 * checksums into a caller-owned buffer at an offset and returns the number of bytes written.
 *
 * The description of a packet is one mutable `PacketSpec` the caller makes once (`newPacketSpec`) and
 * changes field by field between packets, so writing a packet allocates nothing. Addresses are four
 * big-endian 32-bit words, as in `FlowBatch` (IPv4 in word 0), see `setAddress`.
 *
 * Used by the synthetic traffic generator, the kernel oracle tests and the decoder tests.
 */
import { storeCrc32cLittleEndian, foldChecksum, onesSum, pseudoHeaderSum } from './checksum.js';
import { mustParseIp, ipToWords } from '../model/ip.js';

export const ETHERNET_HEADER_LENGTH = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

/** SCTP chunk types (RFC 9260 section 3.2). */
export const SctpChunk = {
  DATA: 0, INIT: 1, INIT_ACK: 2, SACK: 3, HEARTBEAT: 4, HEARTBEAT_ACK: 5, ABORT: 6, SHUTDOWN: 7,
  SHUTDOWN_ACK: 8, ERROR: 9, COOKIE_ECHO: 10, COOKIE_ACK: 11, SHUTDOWN_COMPLETE: 14,
} as const;

export const IcmpType = { ECHO_REPLY: 0, DEST_UNREACHABLE: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11, PARAMETER_PROBLEM: 12 } as const;
export const Icmp6Type = {
  DEST_UNREACHABLE: 1, PACKET_TOO_BIG: 2, TIME_EXCEEDED: 3, PARAMETER_PROBLEM: 4, ECHO_REQUEST: 128, ECHO_REPLY: 129,
} as const;

export interface PacketSpec {
  family: 4 | 6;
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  /** Four big-endian words each; IPv4 uses word 0. */
  src: Uint32Array;
  dst: Uint32Array;
  /** IP protocol / IPv6 next header of the transport: 1, 6, 17, 58, 132, or any other (raw payload). */
  proto: number;
  /** IPv4 TTL or IPv6 hop limit. The kernel drops TTL <= 1 when forwarding: keep >= 2 for forwarded traffic. */
  ttl: number;
  /** IPv4 TOS or IPv6 traffic class. */
  tos: number;
  /** IPv4 identification; for IPv6 the fragment header's identification. */
  ipId: number;
  dontFragment: boolean;
  /** Fragment offset in bytes (a multiple of 8) and the more-fragments bit; both zero: not a fragment. */
  fragmentOffset: number;
  moreFragments: boolean;
  /** IPv6: write a fragment header even when offset and MF are zero (an "atomic fragment"). */
  ipv6FragmentHeader: boolean;
  /** IPv6 flow label (20 bits). */
  flowLabel: number;
  /** IPv4 options length in 32-bit words (0-10): filled with NOPs ended by EOL. */
  ipv4OptionWords: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  window: number;
  /** TCP MSS option value, 0 for none. */
  tcpMss: number;
  /** SCTP: the single chunk written (SctpChunk), the verification tag, and the TSN / initiate tag. */
  sctpChunk: number;
  sctpVtag: number;
  sctpTsn: number;
  sctpInitiateTag: number;
  icmpType: number;
  icmpCode: number;
  /** Echo identifier and sequence; for errors `icmpRest` fills the 4 bytes after the checksum (MTU, pointer). */
  icmpId: number;
  icmpSeq: number;
  icmpRest: number;
  /** ICMP errors: the packet quoted (its IP header onward), cut to `quoteLimit` bytes (0: as RFC 1812/4443 allow). */
  inner: PacketSpec | null;
  quoteLimit: number;
  /** Payload after the transport header: copied from `payload` when set, else `payloadLength` pattern bytes. */
  payload: Uint8Array | null;
  payloadLength: number;
  /** Pad the Ethernet frame with zeros to at least this length (60 is the Ethernet minimum without FCS). */
  minFrameLength: number;
}

/** A spec with sensible defaults: IPv4 TCP SYN 10.0.0.1:40000 -> 10.0.0.2:80, TTL 64. */
export function newPacketSpec(): PacketSpec {
  const spec: PacketSpec = {
    family: 4, srcMac: Uint8Array.of(2, 0, 0, 0, 0, 1), dstMac: Uint8Array.of(2, 0, 0, 0, 0, 2),
    src: new Uint32Array(4), dst: new Uint32Array(4), proto: 6, ttl: 64, tos: 0, ipId: 1,
    dontFragment: false, fragmentOffset: 0, moreFragments: false, ipv6FragmentHeader: false, flowLabel: 0,
    ipv4OptionWords: 0, srcPort: 40000, dstPort: 80, tcpFlags: TcpFlag.SYN, seq: 1000, ack: 0, window: 64240,
    tcpMss: 0, sctpChunk: SctpChunk.INIT, sctpVtag: 0, sctpTsn: 1, sctpInitiateTag: 0x1234567,
    icmpType: IcmpType.ECHO_REQUEST, icmpCode: 0, icmpId: 1, icmpSeq: 1, icmpRest: 0, inner: null,
    quoteLimit: 0, payload: null, payloadLength: 0, minFrameLength: 0,
  };
  setAddress(spec.src, '10.0.0.1');
  setAddress(spec.dst, '10.0.0.2');
  return spec;
}

/** Sets four address words from text (setup helper: parses, so not for hot loops). */
export function setAddress(words: Uint32Array, text: string): void {
  words.fill(0);
  ipToWords(mustParseIp(text), words, 0);
}

function put16(buf: Uint8Array, o: number, v: number): void {
  buf[o] = (v >>> 8) & 0xff;
  buf[o + 1] = v & 0xff;
}

/**
 * Stores a 32-bit value given as its two 16-bit halves. Why halves: a uint32 above 2^30 passed to a
 * function that V8 did not inline is boxed as a heap number, one allocation per packet; halves never are.
 */
function put32(buf: Uint8Array, o: number, hi: number, lo: number): void {
  put16(buf, o, hi);
  put16(buf, o + 2, lo);
}

function putWords(buf: Uint8Array, o: number, words: Uint32Array, count: number): void {
  for (let k = 0; k < count; k++) {
    const w = words[k]!;
    buf[o + 4 * k] = w >>> 24;
    buf[o + 4 * k + 1] = (w >>> 16) & 0xff;
    buf[o + 4 * k + 2] = (w >>> 8) & 0xff;
    buf[o + 4 * k + 3] = w & 0xff;
  }
}

/** Writes an Ethernet frame carrying the packet; returns the frame length. */
export function writeFrame(buf: Uint8Array, offset: number, spec: PacketSpec): number {
  for (let k = 0; k < 6; k++) {
    buf[offset + k] = spec.dstMac[k]!;
    buf[offset + 6 + k] = spec.srcMac[k]!;
  }
  put16(buf, offset + 12, spec.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
  let length = ETHERNET_HEADER_LENGTH + writeIpPacket(buf, offset + ETHERNET_HEADER_LENGTH, spec);
  while (length < spec.minFrameLength) buf[offset + length++] = 0;
  return length;
}

/** Writes the IP packet alone (raw IP link types, and the quote inside ICMP errors); returns its length. */
export function writeIpPacket(buf: Uint8Array, offset: number, spec: PacketSpec): number {
  const headerLength = ipHeaderLength(spec);
  const l4 = offset + headerLength;
  const l4Length = isLaterFragment(spec) ? writePayload(buf, l4, spec) : writeTransport(buf, l4, spec);
  writeIpHeader(buf, offset, spec, l4Length);
  return headerLength + l4Length;
}

/** Length of the IP header(s) the spec produces: IPv4 with options, or IPv6 with its fragment header. */
export function ipHeaderLength(spec: PacketSpec): number {
  if (spec.family === 4) return 20 + 4 * spec.ipv4OptionWords;
  return hasIpv6FragmentHeader(spec) ? 48 : 40;
}

function isLaterFragment(spec: PacketSpec): boolean {
  return spec.fragmentOffset !== 0;
}

function hasIpv6FragmentHeader(spec: PacketSpec): boolean {
  return spec.ipv6FragmentHeader || spec.fragmentOffset !== 0 || spec.moreFragments;
}

function writeIpHeader(buf: Uint8Array, o: number, spec: PacketSpec, l4Length: number): void {
  if (spec.family === 4) writeIpv4Header(buf, o, spec, l4Length);
  else writeIpv6Header(buf, o, spec, l4Length);
}

function writeIpv4Header(buf: Uint8Array, o: number, spec: PacketSpec, l4Length: number): void {
  const words = 5 + spec.ipv4OptionWords;
  buf[o] = 0x40 | words;
  buf[o + 1] = spec.tos & 0xff;
  put16(buf, o + 2, words * 4 + l4Length);
  put16(buf, o + 4, spec.ipId & 0xffff);
  const flags = (spec.dontFragment ? 0x4000 : 0) | (spec.moreFragments ? 0x2000 : 0);
  put16(buf, o + 6, flags | ((spec.fragmentOffset >>> 3) & 0x1fff));
  buf[o + 8] = spec.ttl & 0xff;
  buf[o + 9] = spec.proto & 0xff;
  put16(buf, o + 10, 0);
  putWords(buf, o + 12, spec.src, 1);
  putWords(buf, o + 16, spec.dst, 1);
  // Options: NOPs (1) then a final end-of-options (0), so any decoder can walk them.
  const end = o + words * 4;
  for (let k = o + 20; k < end; k++) buf[k] = k === end - 1 ? 0 : 1;
  put16(buf, o + 10, foldChecksum(onesSum(buf, o, end, 0)));
}

function writeIpv6Header(buf: Uint8Array, o: number, spec: PacketSpec, l4Length: number): void {
  const frag = hasIpv6FragmentHeader(spec);
  // Version 6, traffic class, flow label: 4 + 8 + 20 bits.
  put32(buf, o, 0x6000 | ((spec.tos & 0xff) << 4) | ((spec.flowLabel >>> 16) & 0xf), spec.flowLabel & 0xffff);
  put16(buf, o + 4, l4Length + (frag ? 8 : 0));
  buf[o + 6] = frag ? 44 : spec.proto & 0xff;
  buf[o + 7] = spec.ttl & 0xff;
  putWords(buf, o + 8, spec.src, 4);
  putWords(buf, o + 24, spec.dst, 4);
  if (!frag) return;
  // Fragment header (RFC 8200 4.5): next header, reserved, offset in 8-byte units << 3 | M, identification.
  buf[o + 40] = spec.proto & 0xff;
  buf[o + 41] = 0;
  put16(buf, o + 42, (spec.fragmentOffset & 0xfff8) | (spec.moreFragments ? 1 : 0));
  put32(buf, o + 44, spec.ipId >>> 16, spec.ipId & 0xffff);
}

function writePayload(buf: Uint8Array, o: number, spec: PacketSpec): number {
  const p = spec.payload;
  if (p !== null) {
    for (let k = 0; k < p.length; k++) buf[o + k] = p[k]!;
    return p.length;
  }
  for (let k = 0; k < spec.payloadLength; k++) buf[o + k] = (0x41 + (k % 26)) & 0xff;
  return spec.payloadLength;
}

function writeTransport(buf: Uint8Array, o: number, spec: PacketSpec): number {
  switch (spec.proto) {
    case 6: return finishL4(buf, o, spec, writeTcp(buf, o, spec), 16);
    case 17: return finishL4(buf, o, spec, writeUdp(buf, o, spec), 6);
    case 1: return finishIcmp(buf, o, writeIcmp(buf, o, spec));
    case 58: return finishL4(buf, o, spec, writeIcmp(buf, o, spec), 2);
    case 132: return finishSctp(buf, o, writeSctp(buf, o, spec));
    default: return writePayload(buf, o, spec);
  }
}

/** Stores the pseudo-header checksum at `field` bytes into the L4 header (TCP 16, UDP 6, ICMPv6 2). */
function finishL4(buf: Uint8Array, o: number, spec: PacketSpec, length: number, field: number): number {
  const proto = spec.proto;
  let sum = pseudoHeaderSum(spec.family, spec.src, 0, spec.dst, 0, proto, length);
  sum = onesSum(buf, o, o + length, sum);
  let c = foldChecksum(sum);
  // UDP: a computed zero is sent as all ones, zero meaning "no checksum" (RFC 768).
  if (c === 0 && proto === 17) c = 0xffff;
  put16(buf, o + field, c);
  return length;
}

function finishIcmp(buf: Uint8Array, o: number, length: number): number {
  put16(buf, o + 2, foldChecksum(onesSum(buf, o, o + length, 0)));
  return length;
}

function finishSctp(buf: Uint8Array, o: number, length: number): number {
  // The CRC32c goes in little-endian byte order (RFC 9260 appendix A; Linux sctp_compute_cksum's le32).
  storeCrc32cLittleEndian(buf, o, o + length, o + 8);
  return length;
}

function writeTcp(buf: Uint8Array, o: number, spec: PacketSpec): number {
  const optionBytes = spec.tcpMss > 0 ? 4 : 0;
  put16(buf, o, spec.srcPort);
  put16(buf, o + 2, spec.dstPort);
  put32(buf, o + 4, spec.seq >>> 16, spec.seq & 0xffff);
  put32(buf, o + 8, spec.ack >>> 16, spec.ack & 0xffff);
  buf[o + 12] = ((20 + optionBytes) / 4) << 4;
  buf[o + 13] = spec.tcpFlags & 0xff;
  put16(buf, o + 14, spec.window);
  put32(buf, o + 16, 0, 0); // checksum and urgent pointer
  if (optionBytes > 0) {
    buf[o + 20] = 2; // kind MSS
    buf[o + 21] = 4;
    put16(buf, o + 22, spec.tcpMss);
  }
  return 20 + optionBytes + writePayload(buf, o + 20 + optionBytes, spec);
}

function writeUdp(buf: Uint8Array, o: number, spec: PacketSpec): number {
  const length = 8 + writePayload(buf, o + 8, spec);
  put16(buf, o, spec.srcPort);
  put16(buf, o + 2, spec.dstPort);
  put16(buf, o + 4, length);
  put16(buf, o + 6, 0);
  return length;
}

function isIcmpError(spec: PacketSpec): boolean {
  const t = spec.icmpType;
  return spec.proto === 1 ? t === 3 || t === 4 || t === 5 || t === 11 || t === 12 : t < 128;
}

function isEcho(spec: PacketSpec): boolean {
  const t = spec.icmpType;
  return spec.proto === 1 ? t === 0 || t === 8 : t === 128 || t === 129;
}

function writeIcmp(buf: Uint8Array, o: number, spec: PacketSpec): number {
  buf[o] = spec.icmpType & 0xff;
  buf[o + 1] = spec.icmpCode & 0xff;
  put16(buf, o + 2, 0);
  if (isEcho(spec)) {
    put16(buf, o + 4, spec.icmpId);
    put16(buf, o + 6, spec.icmpSeq);
  } else {
    put32(buf, o + 4, spec.icmpRest >>> 16, spec.icmpRest & 0xffff);
  }
  if (spec.inner === null || !isIcmpError(spec)) return 8 + writePayload(buf, o + 8, spec);
  return 8 + writeQuote(buf, o + 8, spec);
}

/**
 * The quoted packet of an ICMP error: as much of the offending packet as fits. RFC 1812 4.3.2.3 caps an
 * ICMPv4 error at 576 bytes in all, RFC 4443 2.4(c) an ICMPv6 error at the minimum MTU, 1280.
 */
function writeQuote(buf: Uint8Array, o: number, spec: PacketSpec): number {
  const whole = writeIpPacket(buf, o, spec.inner!);
  const cap = spec.family === 4 ? 576 - (20 + 4 * spec.ipv4OptionWords) - 8 : 1280 - 40 - 8;
  const limit = spec.quoteLimit > 0 ? spec.quoteLimit : cap;
  return whole < limit ? whole : limit;
}

function writeSctp(buf: Uint8Array, o: number, spec: PacketSpec): number {
  put16(buf, o, spec.srcPort);
  put16(buf, o + 2, spec.dstPort);
  // INIT must carry verification tag 0 (RFC 9260 8.5.1); the kernel's conntrack checks it.
  const vtag = spec.sctpChunk === SctpChunk.INIT ? 0 : spec.sctpVtag;
  put32(buf, o + 4, vtag >>> 16, vtag & 0xffff);
  put32(buf, o + 8, 0, 0);
  return 12 + writeSctpChunk(buf, o + 12, spec);
}

function writeSctpChunk(buf: Uint8Array, o: number, spec: PacketSpec): number {
  const type = spec.sctpChunk;
  buf[o] = type;
  buf[o + 1] = type === SctpChunk.DATA ? 0x03 : 0; // DATA: beginning and end of one user message
  let length: number;
  if (type === SctpChunk.INIT || type === SctpChunk.INIT_ACK) {
    put32(buf, o + 4, spec.sctpInitiateTag >>> 16, spec.sctpInitiateTag & 0xffff);
    put32(buf, o + 8, 1, 0); // a_rwnd 65536
    put16(buf, o + 12, 10); // outbound streams
    put16(buf, o + 14, 10); // inbound streams
    put32(buf, o + 16, spec.sctpTsn >>> 16, spec.sctpTsn & 0xffff);
    length = 20;
  } else if (type === SctpChunk.DATA) {
    put32(buf, o + 4, spec.sctpTsn >>> 16, spec.sctpTsn & 0xffff);
    put32(buf, o + 8, 0, 0); // stream id 0, stream sequence 0
    put32(buf, o + 12, 0, 0); // payload protocol id
    length = 16 + writePayload(buf, o + 16, spec);
  } else {
    length = 4 + writePayload(buf, o + 4, spec);
  }
  put16(buf, o + 2, length);
  // Chunks are padded to 4 bytes; the padding is not counted in the chunk length (RFC 9260 3.2).
  let padded = length;
  while (padded % 4 !== 0) buf[o + padded++] = 0;
  return padded;
}

/** Room for one whole datagram (the IP maximum) while it is cut into fragments. Allocated once. */
const DATAGRAM_SCRATCH = new Uint8Array(65536);

/**
 * Writes the spec's datagram as consecutive fragment frames of at most `fragmentBytes` payload each (a
 * multiple of 8, RFC 791 / RFC 8200 4.5), the transport checksum computed over the whole datagram as a
 * receiver reassembling it checks it. Frame k's length goes to `frameLengths[k]`; returns the count.
 * `spec.fragmentOffset` and `spec.moreFragments` are used while writing and restored after.
 */
export function writeFragmentFrames(
  buf: Uint8Array,
  offset: number,
  spec: PacketSpec,
  fragmentBytes: number,
  frameLengths: Uint32Array,
): number {
  if (fragmentBytes <= 0 || fragmentBytes % 8 !== 0) throw new RangeError(`fragment size ${fragmentBytes} is not a positive multiple of 8`);
  const savedOffset = spec.fragmentOffset;
  const savedMore = spec.moreFragments;
  const savedFragmentHeader = spec.ipv6FragmentHeader;
  spec.fragmentOffset = 0;
  const total = writeTransport(DATAGRAM_SCRATCH, 0, spec);
  spec.ipv6FragmentHeader = spec.family === 6;
  let count = 0;
  let at = offset;
  for (let start = 0; start < total; start += fragmentBytes) {
    const piece = total - start < fragmentBytes ? total - start : fragmentBytes;
    spec.fragmentOffset = start;
    spec.moreFragments = start + piece < total;
    frameLengths[count++] = writeFragmentFrame(buf, at, spec, start, piece);
    at += frameLengths[count - 1]!;
  }
  spec.fragmentOffset = savedOffset;
  spec.moreFragments = savedMore;
  spec.ipv6FragmentHeader = savedFragmentHeader;
  return count;
}

function writeFragmentFrame(buf: Uint8Array, at: number, spec: PacketSpec, start: number, piece: number): number {
  for (let k = 0; k < 6; k++) {
    buf[at + k] = spec.dstMac[k]!;
    buf[at + 6 + k] = spec.srcMac[k]!;
  }
  put16(buf, at + 12, spec.family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
  const ip = at + ETHERNET_HEADER_LENGTH;
  const headerLength = ipHeaderLength(spec);
  for (let k = 0; k < piece; k++) buf[ip + headerLength + k] = DATAGRAM_SCRATCH[start + k]!;
  writeIpHeader(buf, ip, spec, piece);
  return ETHERNET_HEADER_LENGTH + headerLength + piece;
}
