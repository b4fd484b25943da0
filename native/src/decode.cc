/*
 * Packet decoding into FlowBatch rows in C, as src/wire/{decode,ip,ext6,transport,quote}.ts decode: the
 * link layer by pcap link type (Ethernet with up to 4 VLAN/QinQ tags, Linux SLL/SLL2, raw IP, BSD
 * NULL/LOOP), IPv4/IPv6 (extension headers, fragments, TSO and jumbogram lengths), TCP/UDP/UDP-Lite/SCTP,
 * ICMP/ICMPv6 (echo ids, the flow an error quotes). Same fields, same MALFORMED rules. Rows arrive with
 * dataOffset, capturedLength, wireLength and linkType (walk.cc, or the TypeScript pcapng walk). Compiled
 * as part of walk.cc (see there), so that the walk's loop inlines decode_cleared.
 */
#include <string.h>
#include "hot.h"

enum { KIND_NOT_IP = 0, KIND_IPV4 = 4, KIND_IPV6 = 6, KIND_BROKEN = 7 };
enum { FRAG_NONE = 0, FRAG_FIRST = 1, FRAG_LATER = 2, FRAG_ATOMIC = 3 };

/* Network-order loads: one unaligned load and a byte swap each (walk.cc checks the host is little-endian). */
static inline uint32_t u16be(const uint8_t *b, size_t o) {
  uint16_t v;
  memcpy(&v, b + o, 2);
  return __builtin_bswap16(v);
}
static inline uint32_t u32be(const uint8_t *b, size_t o) {
  uint32_t v;
  memcpy(&v, b + o, 4);
  return __builtin_bswap32(v);
}

/* ext6.ts's results. */
typedef struct { uint32_t proto, offset, fragment, fragment_id, broken; } ext6;

static inline int is_lengthed(uint32_t next) { return next == 0 || next == 43 || next == 60 || next == 51; }

static void walk_ipv6_ext(const uint8_t *b, int64_t p, uint32_t next, int64_t end, ext6 *x) {
  x->fragment = FRAG_NONE;
  x->fragment_id = 0;
  for (int i = 0; i < 8; i++) { /* IPV6_MAX_EXT */
    if (is_lengthed(next)) {
      if (p + 2 > end) { *x = (ext6){next, (uint32_t)p, x->fragment, x->fragment_id, 1}; return; }
      int64_t len = next == 51 ? ((int64_t)b[p + 1] + 2) * 4 : ((int64_t)b[p + 1] + 1) * 8; /* AH: RFC 4302 2.2 */
      next = b[p];
      p += len;
    } else if (next == 44) {
      if (p + 8 > end) { *x = (ext6){next, (uint32_t)p, x->fragment, x->fragment_id, 1}; return; }
      uint32_t fo = u16be(b, p + 2);
      x->fragment_id = u32be(b, p + 4);
      next = b[p];
      p += 8;
      if ((fo & 0xfff8) != 0) {
        x->fragment = FRAG_LATER;
        x->proto = next; x->offset = (uint32_t)p; x->broken = 0; /* no upper-layer header in a later fragment */
        return;
      }
      x->fragment = (fo & 1) != 0 ? FRAG_FIRST : FRAG_ATOMIC;
    } else {
      x->proto = next; x->offset = (uint32_t)p; x->broken = p > end;
      return;
    }
  }
  x->proto = next; x->offset = (uint32_t)p; x->broken = is_lengthed(next) || next == 44 || p > end;
}

static void inner_ports(const uint8_t *b, int64_t q, int64_t end, uint32_t proto, ns_batch *bt, uint32_t row) {
  if (proto == 6 || proto == 17 || proto == 132 || proto == 136) {
    if (end - q < 4) { bt->flags[row] |= ROW_MALFORMED; return; }
    bt->innerSrcPort[row] = (uint16_t)u16be(b, q);
    bt->innerDstPort[row] = (uint16_t)u16be(b, q + 2);
  } else if (proto == 1 || proto == 58) {
    if (end - q < 6) { bt->flags[row] |= ROW_MALFORMED; return; }
    uint32_t t = b[q];
    if (t == 8 || t == 0 || t == 128 || t == 129) {
      uint16_t id = (uint16_t)u16be(b, q + 4);
      bt->innerSrcPort[row] = id;
      bt->innerDstPort[row] = id;
    }
  }
}

static void decode_quote4(const uint8_t *b, int64_t p, int64_t end, ns_batch *bt, uint32_t row) {
  if (end - p < 20 || b[p] >> 4 != 4) { bt->flags[row] |= ROW_MALFORMED; return; }
  uint32_t hlen = (b[p] & 15u) * 4;
  bt->innerSrc[row * 4] = u32be(b, p + 12);
  bt->innerDst[row * 4] = u32be(b, p + 16);
  uint32_t proto = b[p + 9];
  bt->innerProto[row] = (uint8_t)proto;
  if (hlen < 20) { bt->flags[row] |= ROW_MALFORMED; return; }
  /* A quoted later fragment has no transport header: addresses and protocol only. */
  if ((u16be(b, p + 6) & 0x1fff) != 0) return;
  inner_ports(b, p + hlen, end, proto, bt, row);
}

static void decode_quote6(const uint8_t *b, int64_t p, int64_t end, ns_batch *bt, uint32_t row) {
  if (end - p < 40 || b[p] >> 4 != 6) { bt->flags[row] |= ROW_MALFORMED; return; }
  for (int i = 0; i < 4; i++) {
    bt->innerSrc[row * 4 + i] = u32be(b, p + 8 + i * 4);
    bt->innerDst[row * 4 + i] = u32be(b, p + 24 + i * 4);
  }
  ext6 x;
  walk_ipv6_ext(b, p + 40, b[p + 6], end, &x);
  bt->innerProto[row] = (uint8_t)x.proto;
  if (x.broken) { bt->flags[row] |= ROW_MALFORMED; return; }
  if (x.fragment == FRAG_LATER) return;
  inner_ports(b, x.offset, end, x.proto, bt, row);
}

/* The IPv4 path, this, the transport and the ports are inlined into decode_cleared (NS_INLINE): their
   calls cost more than their bodies on a 64-byte packet (about 20 instructions a row, cachegrind). */

static NS_INLINE void decode_ports(const uint8_t *b, int64_t p, int64_t end, int64_t hlen, ns_batch *bt, uint32_t row) {
  int64_t have = end - p;
  if (have >= 4) {
    bt->srcPort[row] = (uint16_t)u16be(b, p);
    bt->dstPort[row] = (uint16_t)u16be(b, p + 2);
  }
  if (have < hlen) bt->flags[row] |= ROW_MALFORMED;
}

/* Echo request/reply: the identifier is conntrack's ICMP "port". */
static void echo_id(const uint8_t *b, int64_t p, int64_t end, ns_batch *bt, uint32_t row) {
  bt->flags[row] |= ROW_ICMP_ECHO;
  if (end - p >= 6) {
    uint16_t id = (uint16_t)u16be(b, p + 4);
    bt->srcPort[row] = id;
    bt->dstPort[row] = id;
  }
  if (end - p < 8) bt->flags[row] |= ROW_MALFORMED;
}

static void decode_icmp(const uint8_t *b, int64_t p, int64_t end, int v6, ns_batch *bt, uint32_t row) {
  if (end - p < 2) { bt->flags[row] |= ROW_MALFORMED; return; }
  uint32_t t = b[p];
  bt->icmpType[row] = (uint8_t)t;
  bt->icmpCode[row] = b[p + 1];
  if (!v6) {
    if (t == 8 || t == 0) echo_id(b, p, end, bt, row);
    else if (t == 3 || t == 11 || t == 12 || t == 4 || t == 5) {
      bt->flags[row] |= ROW_ICMP_ERROR;
      decode_quote4(b, p + 8, end, bt, row);
    } else if (end - p < 8) bt->flags[row] |= ROW_MALFORMED;
  } else {
    if (t == 128 || t == 129) echo_id(b, p, end, bt, row);
    else if (t >= 1 && t <= 4) {
      bt->flags[row] |= ROW_ICMP_ERROR;
      decode_quote6(b, p + 8, end, bt, row);
    } else if (end - p < 4) bt->flags[row] |= ROW_MALFORMED; /* RFC 4443 2.1: type, code, checksum */
  }
}

static NS_INLINE void decode_transport(const uint8_t *b, int64_t p, int64_t end, uint32_t proto, int family, ns_batch *bt,
                             uint32_t row) {
  if (proto == 6) {
    decode_ports(b, p, end, 20, bt, row);
    if (end - p > 13) {
      bt->tcpFlags[row] = b[p + 13];
      if (b[p + 12] >> 4 < 5) bt->flags[row] |= ROW_MALFORMED; /* RFC 9293 3.1: data offset >= 5 */
    }
  } else if (proto == 17 || proto == 136) {
    decode_ports(b, p, end, 8, bt, row);
  } else if (proto == 132) {
    decode_ports(b, p, end, 12, bt, row);
    if (end - p > 12) bt->sctpChunk[row] = (uint8_t)(b[p + 12] + 1);
  } else if (proto == 1 && family == 4) {
    decode_icmp(b, p, end, 0, bt, row);
  } else if (proto == 58 && family == 6) {
    decode_icmp(b, p, end, 1, bt, row);
  }
}

static NS_INLINE void decode_ipv4(const uint8_t *b, int64_t l3, int64_t end, int64_t wire_end, ns_batch *bt, uint32_t row) {
  if (end - l3 < 20 || b[l3] >> 4 != 4) { bt->flags[row] |= ROW_MALFORMED; return; }
  bt->family[row] = 4;
  bt->src[row * 4] = u32be(b, l3 + 12);
  bt->dst[row * 4] = u32be(b, l3 + 16);
  uint32_t proto = b[l3 + 9];
  bt->proto[row] = (uint8_t)proto;
  int64_t hlen = (b[l3] & 15) * 4;
  int64_t total = u16be(b, l3 + 2);
  /* Total length 0: TCP segmentation offload on the capturing host; the frame gives the length. */
  if (total == 0) total = wire_end - l3;
  if (hlen < 20 || total < hlen || total > wire_end - l3) {
    bt->flags[row] |= ROW_MALFORMED;
    if (hlen < 20 || total < hlen) return;
  }
  uint32_t frag = u16be(b, l3 + 6);
  if ((frag & 0x1fff) != 0) {
    bt->flags[row] |= ROW_LATER_FRAGMENT;
    bt->fragmentId[row] = u16be(b, l3 + 4);
    return;
  }
  if ((frag & 0x2000) != 0) {
    bt->flags[row] |= ROW_FIRST_FRAGMENT;
    bt->fragmentId[row] = u16be(b, l3 + 4);
  }
  int64_t l4end = l3 + total < end ? l3 + total : end;
  decode_transport(b, l3 + hlen, l4end, proto, 4, bt, row);
}

static void decode_ipv6(const uint8_t *b, int64_t l3, int64_t end, int64_t wire_end, ns_batch *bt, uint32_t row) {
  if (end - l3 < 40 || b[l3] >> 4 != 6) { bt->flags[row] |= ROW_MALFORMED; return; }
  bt->family[row] = 6;
  for (int i = 0; i < 4; i++) {
    bt->src[row * 4 + i] = u32be(b, l3 + 8 + i * 4);
    bt->dst[row * 4 + i] = u32be(b, l3 + 24 + i * 4);
  }
  uint32_t next = b[l3 + 6];
  int64_t payload_end = l3 + 40 + u16be(b, l3 + 4);
  /* Payload length 0 with a hop-by-hop header: a jumbogram (RFC 2675), the frame gives the length. */
  if (payload_end == l3 + 40 && next == 0) payload_end = wire_end;
  if (payload_end > wire_end) bt->flags[row] |= ROW_MALFORMED;
  int64_t l4end = payload_end < end ? payload_end : end;
  if (!is_lengthed(next) && next != 44) {
    /* No extension header (pod traffic almost always): walk_ipv6_ext's answer without its call (34 of
       997 instructions a packet on IPv6 traffic, cachegrind). Never broken: l4end >= l3 + 40 here. */
    bt->proto[row] = (uint8_t)next;
    decode_transport(b, l3 + 40, l4end, next, 6, bt, row);
    return;
  }
  ext6 x;
  walk_ipv6_ext(b, l3 + 40, next, l4end, &x);
  bt->proto[row] = (uint8_t)x.proto;
  if (x.fragment == FRAG_LATER || x.fragment == FRAG_FIRST) {
    bt->flags[row] |= x.fragment == FRAG_LATER ? ROW_LATER_FRAGMENT : ROW_FIRST_FRAGMENT;
    bt->fragmentId[row] = x.fragment_id;
  }
  if (x.broken) { bt->flags[row] |= ROW_MALFORMED; return; }
  if (x.fragment == FRAG_LATER) return;
  decode_transport(b, x.offset, l4end, x.proto, 6, bt, row);
}

static inline int64_t packed(int64_t p, int kind) { return p * 8 + kind; }

/* 802.1Q / 802.1ad tags (QinQ), up to 4, to the real EtherType. */
static int64_t ether_payload(const uint8_t *b, int64_t p, int64_t end, uint32_t type) {
  for (int tags = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100; tags++) {
    if (tags == 4 || end - p < 4) return packed(p, KIND_BROKEN);
    type = u16be(b, p + 2);
    p += 4;
  }
  return packed(p, type == 0x0800 ? KIND_IPV4 : type == 0x86dd ? KIND_IPV6 : KIND_NOT_IP);
}

/* NULL: the address family in the capturing host's byte order; LOOP: always big-endian. */
static int64_t loop_payload(const uint8_t *b, int64_t p, uint32_t link_type) {
  uint32_t hi_be = u16be(b, p), lo_be = u16be(b, p + 2);
  uint32_t lo_le = b[p] | ((uint32_t)b[p + 1] << 8), hi_le = b[p + 2] | ((uint32_t)b[p + 3] << 8);
  int64_t af = link_type == 108 || hi_le != 0 ? (hi_be == 0 ? (int64_t)lo_be : -1) : (int64_t)lo_le;
  int64_t payload = p + 4;
  if (af == 2) return packed(payload, KIND_IPV4);
  if (af == 10 || af == 24 || af == 28 || af == 30) return packed(payload, KIND_IPV6);
  return packed(payload, KIND_NOT_IP);
}

static int64_t link_payload(const uint8_t *b, int64_t p, int64_t end, uint32_t link_type) {
  switch (link_type) {
    case 1: return end - p < 14 ? packed(p, KIND_BROKEN) : ether_payload(b, p + 14, end, u16be(b, p + 12));
    case 113: return end - p < 16 ? packed(p, KIND_BROKEN) : ether_payload(b, p + 16, end, u16be(b, p + 14));
    case 276: return end - p < 20 ? packed(p, KIND_BROKEN) : ether_payload(b, p + 20, end, u16be(b, p));
    case 101: case 12: case 14:
      if (end - p < 1) return packed(p, KIND_BROKEN);
      return packed(p, b[p] >> 4 == 6 ? KIND_IPV6 : KIND_IPV4); /* a wrong version fails in decode_ipv4 */
    case 228: return packed(p, KIND_IPV4);
    case 229: return packed(p, KIND_IPV6);
    case 0: case 108: return end - p < 4 ? packed(p, KIND_BROKEN) : loop_payload(b, p, link_type);
    default: return packed(p, KIND_NOT_IP);
  }
}

/* The flow fields decode writes, zero unless the packet sets them: scalars, then 16-byte addresses. */
#define NS_FLOW_SCALARS(X) X(family) X(proto) X(srcPort) X(dstPort) X(tcpFlags) X(icmpType) X(icmpCode) X(flags) \
  X(fragmentId) X(innerProto) X(innerSrcPort) X(innerDstPort) X(sctpChunk)
#define NS_FLOW_ADDRESSES(X) X(src) X(dst) X(innerSrc) X(innerDst)

/* Whole 16-byte addresses at once: a loop over the four columns' words is not vectorised (the compiler
   cannot rule out that they overlap), and cost 68 instructions a row (cachegrind). */
static void clear_row(ns_batch *bt, uint32_t row) {
#define NS_CLEAR_SCALAR(f) bt->f[row] = 0;
#define NS_CLEAR_ADDRESS(f) memset(bt->f + (size_t)row * 4, 0, 16);
  NS_FLOW_SCALARS(NS_CLEAR_SCALAR) NS_FLOW_ADDRESSES(NS_CLEAR_ADDRESS)
#undef NS_CLEAR_SCALAR
#undef NS_CLEAR_ADDRESS
}

/*
 * clear_row for rows [from, to), column by column: a memset per column is a few instructions a row where
 * clear_row's seventeen stores, each with its own column address, cost 46 (cachegrind). walk.cc clears
 * a small block of rows this way right before decoding them, so the block is still in cache.
 */
static void clear_rows(ns_batch *bt, uint32_t from, uint32_t to) {
  size_t n = to - from;
#define NS_CLEAR_SCALARS(f) memset(bt->f + from, 0, n * sizeof *bt->f);
#define NS_CLEAR_ADDRESSES(f) memset(bt->f + (size_t)from * 4, 0, n * 16);
  NS_FLOW_SCALARS(NS_CLEAR_SCALARS) NS_FLOW_ADDRESSES(NS_CLEAR_ADDRESSES)
#undef NS_CLEAR_SCALARS
#undef NS_CLEAR_ADDRESSES
}

/* decodePacket, on a row whose flow fields are already zero (clear_row, clear_rows). */
static NS_INLINE void decode_cleared(const uint8_t *b, ns_batch *bt, uint32_t row) {
  int64_t start = bt->dataOffset[row], cap = bt->capturedLength[row], wire = bt->wireLength[row];
  int64_t end = start + cap, wire_end = start + (wire > cap ? wire : cap);
  uint32_t lt = bt->linkType[row];
  /* The common case first: untagged Ethernet carrying IPv4. */
  if (lt == 1 && cap >= 14 && u16be(b, start + 12) == 0x0800) { decode_ipv4(b, start + 14, end, wire_end, bt, row); return; }
  int64_t link = link_payload(b, start, end, lt);
  int kind = (int)(link & 7);
  int64_t l3 = link >> 3;
  if (kind == KIND_BROKEN) bt->flags[row] = ROW_MALFORMED;
  else if (kind == KIND_IPV4) decode_ipv4(b, l3, end, wire_end, bt, row);
  else if (kind == KIND_IPV6) decode_ipv6(b, l3, end, wire_end, bt, row);
}

/* decodePacket: the row's flow fields from its record's bytes in `chunk` (bounds checked by the caller). */
void decode_row(const uint8_t *b, ns_batch *bt, uint32_t row) {
  clear_row(bt, row);
  decode_cleared(b, bt, row);
}
