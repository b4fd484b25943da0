/**
 * Checksums that packets must carry for a real stack to accept them: the Internet checksum (RFC 1071:
 * IPv4 header, TCP, UDP, ICMP, ICMPv6 with the pseudo-header of RFC 793 / RFC 8200 section 8.1) and
 * CRC32c (RFC 4960 appendix B, SCTP). The kernel's conntrack calls a packet with a bad L4 checksum
 * INVALID (nf_conntrack_proto_tcp.c tcp_error, nf_checksum), and a bad IPv4 header checksum makes
 * ip_rcv drop it before netfilter sees it, so crafted traffic must get these right.
 *
 * All functions work over caller-owned bytes and allocate nothing.
 */

/**
 * Adds the bytes [start, end) to a running one's-complement sum as big-endian 16-bit words (an odd
 * trailing byte is padded with zero, RFC 1071). The sum is kept unfolded; `foldChecksum` finishes it.
 */
export function onesSum(buf: Uint8Array, start: number, end: number, acc: number): number {
  let sum = acc;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  // Fold now and then so the sum stays a small integer (well inside 2^53) on long buffers.
  return sum > 0x7fffffff ? (sum & 0xffff) + Math.floor(sum / 0x10000) : sum;
}

/** Folds a running sum to 16 bits and complements it: the value that goes into the checksum field. */
export function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** The Internet checksum of [start, end), ready to store. */
export function internetChecksum(buf: Uint8Array, start: number, end: number): number {
  return foldChecksum(onesSum(buf, start, end, 0));
}

function wordsSum(words: Uint32Array, offset: number, count: number): number {
  let sum = 0;
  for (let k = 0; k < count; k++) {
    const w = words[offset + k]!;
    sum += (w >>> 16) + (w & 0xffff);
  }
  return sum;
}

/**
 * The unfolded sum of the pseudo-header: addresses (four big-endian words per address, IPv4 in word 0),
 * protocol and upper-layer length. IPv4 (RFC 793): 12 bytes; IPv6 (RFC 8200 8.1): 40 bytes with a 32-bit
 * length. Either way the one's-complement sum is the same arithmetic on 16-bit pieces.
 */
export function pseudoHeaderSum(
  family: 4 | 6,
  src: Uint32Array,
  srcOffset: number,
  dst: Uint32Array,
  dstOffset: number,
  proto: number,
  length: number,
): number {
  const n = family === 4 ? 1 : 4;
  return wordsSum(src, srcOffset, n) + wordsSum(dst, dstOffset, n) + proto + (length >>> 16) + (length & 0xffff);
}

/** CRC32c (Castagnoli, reflected polynomial 0x82F63B78) lookup table, built once at load. */
const CRC32C_TABLE = buildCrc32cTable();

function buildCrc32cTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC32c of [start, end): initial value all ones, final complement (the value "123456789" maps to 0xE3069283). */
export function crc32c(buf: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = CRC32C_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * Computes the CRC32c of [start, end) and stores it little-endian at `at` (SCTP's byte order). Stores
 * instead of returning: a returned uint32 may be boxed as a heap number, an allocation per packet.
 */
export function storeCrc32cLittleEndian(buf: Uint8Array, start: number, end: number, at: number): void {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = CRC32C_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  crc = ~crc;
  buf[at] = crc & 0xff;
  buf[at + 1] = (crc >>> 8) & 0xff;
  buf[at + 2] = (crc >>> 16) & 0xff;
  buf[at + 3] = (crc >>> 24) & 0xff;
}
