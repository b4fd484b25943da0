/*
 * The classic pcap record walk in C, as src/traffic/pcap/classic.ts ClassicReader.walk does it: records
 * parsed in place over the reader's one chunk, the record fields of each row written, and (optionally)
 * the row decoded, until the batch is full, the chunk holds no whole record more, or a record header is
 * damaged (captured length above the limit: the snapshot length, or 262144 when that is 0 or larger).
 * The chunk's bookkeeping (refills, file offsets, damage reasons) stays in TypeScript; this walks bytes.
 *
 * walk_run fuses the walk with src/replay/models.ts runRow in one call per batch: walk and decode the
 * batch, then conntrack track, the model and confirm per row.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "ct-key.h"
#include "replay.h"
#include "shard.h"
/* decode.cc is compiled here, in the walk's file, not on its own (binding.gyp): its decode_cleared then
   inlines into the walk's loop, where a call per row cost 12 instructions (cachegrind). */
#include "decode.cc"

enum { RECORD_HEADER = PCAP_RECORD_HEADER };
/* Rows cleared at once before they are decoded (decode.cc clear_rows): 64 rows' flow fields, 5 KiB. */
enum { CLEAR_BLOCK = 64 };

/* A record header field in the file's byte order; LE (the file's order is the host's) is a template
   argument, so the walk's loop is compiled once per order and tests neither per field. */
template <int LE> static inline uint32_t load32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return LE ? v : __builtin_bswap32(v); /* x86 and arm64 hosts are little-endian (checked at compile time below) */
}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "walk.cc assumes a little-endian host"
#endif

/* The record fields of row `row` from the record header at w->buf + at (classic.ts walk, field for field). */
template <int LE> static inline void record_row(const ns_walk *w, uint32_t at, uint32_t caplen, double index, ns_batch *b, uint32_t row) {
  const uint8_t *h = w->buf + at;
  b->tsSec[row] = (double)load32<LE>(h);
  b->tsNsec[row] = load32<LE>(h + 4) * w->subsec_mul; /* wraps mod 2^32 as the TS Uint32Array store does */
  b->wireLength[row] = load32<LE>(h + 12);
  b->capturedLength[row] = caplen;
  b->dataOffset[row] = at + RECORD_HEADER;
  b->recordIndex[row] = index;
  b->linkType[row] = (uint16_t)w->link_type;
}

/*
 * The next whole record at w->pos: its captured length, or -1 when the chunk holds no whole record more,
 * or -2 when the header is damaged (w->bad_caplen says the length; w->pos stays at the record).
 */
template <int LE> static inline int64_t next_record(ns_walk *w) {
  if (w->end - w->pos < RECORD_HEADER) return -1;
  uint32_t caplen = load32<LE>(w->buf + w->pos + 8);
  if (caplen > w->limit) { w->bad_caplen = caplen; return -2; }
  if (w->end - w->pos - RECORD_HEADER < caplen) return -1;
  return caplen;
}

template <int LE> static uint32_t walk_records(ns_walk *w, ns_batch *b, uint32_t cap) {
  uint32_t row = 0;
  w->bad_caplen = -1;
  while (row < cap) {
    int64_t caplen = next_record<LE>(w);
    if (caplen < 0) break;
    record_row<LE>(w, w->pos, (uint32_t)caplen, w->first_index + row, b, row);
    if (w->decode) {
      if ((row & (CLEAR_BLOCK - 1)) == 0) clear_rows(b, row, row + CLEAR_BLOCK < cap ? row + CLEAR_BLOCK : cap);
      decode_cleared(w->buf, b, row);
    }
    w->pos += RECORD_HEADER + (uint32_t)caplen;
    row++;
  }
  return row;
}

uint32_t walk_classic(ns_walk *w, ns_batch *b, uint32_t cap) {
  return w->le ? walk_records<1>(w, b, cap) : walk_records<0>(w, b, cap);
}

/* --- The split walk of lanes (addon-lanes.cc) ----------------------------------------------------- */

/*
 * With --threads, the lanes' split walk: the calling thread walks a window's record headers once and
 * tells a plain IPv4 record's lane from its bytes (walk_sort, quick_shard: a few loads and multiplies);
 * each lane then decodes only the records of its shard (walk_lane), skipping the others' at a byte
 * each, and decodes, DNATs and shards in full (replay.cc row_nat, row_shard) the records whose bytes do
 * not tell, dropping those that are another lane's. Every lane reads the same bytes and writes only its
 * own batch and tables: no cache line is written by two cores.
 */

void vip_filter_build(const ns_nat *nat, ns_vip_filter *f) {
  memset(f->bits, 0, sizeof f->bits);
  memset(f->bits6, 0, sizeof f->bits6);
  uint32_t lo = UINT32_MAX, hi = 0;
  for (int32_t s = 0; s < nat->params[NAT_PARAM_COUNT]; s++) {
    if (nat->family[s] != 4) {
      uint32_t k = vip6_bit(nat->addr + (size_t)s * 4);
      f->bits6[k >> 6] |= (uint64_t)1 << (k & 63);
      continue;
    }
    uint32_t a = nat->addr[(size_t)s * 4], k = vip_bit(a);
    f->bits[k >> 6] |= (uint64_t)1 << (k & 63);
    if (a < lo) lo = a;
    if (a > hi) hi = a;
  }
  /* No IPv4 Service: an empty range (span 0 at the top address, whose bit is clear). */
  f->lo = lo;
  f->span = lo <= hi ? hi - lo : 0;
}

/* What quick_shard needs besides the record: the Service address filter (NULL: no Services) and the lanes. */
typedef struct {
  const ns_vip_filter *vips;
  uint32_t shards, pow2_mask; /* pow2_mask: shard_of_spread's */
  int ethernet;               /* the capture's link type is Ethernet (1) */
} quick_lanes;

static inline quick_lanes quick_lanes_of(const ns_walk *w, const ns_vip_filter *vips, uint32_t shards) {
  return quick_lanes{vips, shards, (shards & (shards - 1)) == 0 ? shards - 1 : 0, w->link_type == 1};
}

/*
 * The lane of the record whose packet bytes are p[0, cap), when its bytes alone tell it, else -1. They
 * do for decode_cleared's common case, untagged Ethernet with a whole IPv4 header: the row's family is
 * then 4 and its addresses and protocol are these, whatever else the packet holds (a fragment, a cut
 * transport header), unless it is ICMP (an error goes by the flow it quotes) or Service DNAT may rewrite
 * an end: a set bit of either address in the Service address filter sends the record the full way.
 */
static inline int quick_shard(const uint8_t *p, uint32_t cap, const quick_lanes *q) {
  if (!q->ethernet || cap < 34) return -1;
  /* Bytes 12-14 in one load: EtherType 0x0800 and IP version 4 (the byte order is the host's, little). */
  uint32_t head;
  memcpy(&head, p + 12, 4);
  if ((head & 0x00f0ffffu) != 0x00400008u) return -1;
  uint32_t proto = p[23];
  if (proto == 1) return -1;
  uint32_t src = u32be(p, 26), dst = u32be(p, 30);
  if (q->vips && (vip_maybe(q->vips, src) || vip_maybe(q->vips, dst))) return -1;
  return (int)shard_of_spread(shard_v4_spread(src, dst, proto), q->shards, q->pow2_mask);
}

/*
 * The caller's pass over a window (addon-lanes.cc walkSplit): every whole record at w->pos, its offset
 * and its lane as its bytes tell it (-1: decode it in full), until the chunk holds no whole record more
 * or `cap` records; w->pos advanced past them, w->bad_caplen set at a damaged header. The walk's state
 * in locals: every byte stored may alias anything (a char store, for the compiler).
 */
template <int LE> static uint32_t sort_records(ns_walk *w, uint32_t *offsets, int8_t *lane_of, uint32_t cap, const quick_lanes *q,
                                               uint32_t *untold) {
  const uint8_t *const buf = w->buf;
  const uint32_t end = w->end, limit = w->limit;
  uint32_t pos = w->pos, n = 0, full = 0;
  w->bad_caplen = -1;
  while (n < cap && end - pos >= RECORD_HEADER) {
    uint32_t caplen = load32<LE>(buf + pos + 8);
    if (caplen > limit) {
      w->bad_caplen = caplen;
      break;
    }
    if (end - pos - RECORD_HEADER < caplen) break;
    offsets[n] = pos;
    int lane = quick_shard(buf + pos + RECORD_HEADER, caplen, q);
    lane_of[n] = (int8_t)lane;
    full += lane < 0;
    n++;
    pos += RECORD_HEADER + caplen;
  }
  w->pos = pos;
  *untold = full;
  return n;
}

uint32_t walk_sort(ns_walk *w, uint32_t *offsets, int8_t *lane_of, uint32_t cap, const ns_vip_filter *vips, uint32_t shards, uint32_t *untold) {
  const quick_lanes q = quick_lanes_of(w, vips, shards);
  return w->le ? sort_records<1>(w, offsets, lane_of, cap, &q, untold) : sort_records<0>(w, offsets, lane_of, cap, &q, untold);
}

/*
 * The records a lane looks at: its own and those whose lane its bytes did not tell (-1). A lane that
 * tested every record of the window for its own mispredicted that branch on about every other record:
 * one mispredict a packet over two lanes (cachegrind --branch-sim, small tier). Sixteen records at a
 * time: a byte compare gives the mask of this lane's and the untold (whose sign bit is set); each of
 * the sixteen is stored and kept or overwritten, without a branch (a loop over the mask's set bits
 * took 4 fewer instructions a packet but mispredicted its exit, 0.16 a packet more).
 */
uint32_t lane_records(const int8_t *lane_of, uint32_t n, uint32_t lane, uint32_t *mine) {
  uint32_t m = 0, t = 0;
#if defined(__SSE2__)
  const __m128i want = _mm_set1_epi8((char)lane);
  for (; t + 16 <= n; t += 16) {
    __m128i quick = _mm_loadu_si128(reinterpret_cast<const __m128i *>(lane_of + t));
    uint32_t kept = (uint32_t)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(quick, want), quick));
    for (uint32_t j = 0; j < 16; j++) { mine[m] = t + j; m += (kept >> j) & 1; }
  }
#endif
  for (; t < n; t++) {
    int quick = lane_of[t];
    mine[m] = t;
    m += (uint32_t)(quick < 0) | (uint32_t)((uint32_t)quick == lane);
  }
  return m;
}

template <int LE> static uint32_t walk_lane_records(const ns_walk *w, const uint32_t *offsets, const int8_t *lane_of,
                                                    const uint32_t *mine, uint32_t m, uint32_t *used, ns_batch *b,
                                                    uint32_t cap, int32_t *services, const ns_nat *nat, uint32_t lane,
                                                    uint32_t shards) {
  const uint8_t *const buf = w->buf;
  const double first = w->first_index;
  uint32_t row = 0, cleared = 0, j = 0;
  for (; j < m && row < cap; j++) {
    uint32_t t = mine[j];
    if (row >= cleared) {
      cleared = row + CLEAR_BLOCK < cap ? row + CLEAR_BLOCK : cap;
      clear_rows(b, row, cleared);
    }
    uint32_t at = offsets[t];
    record_row<LE>(w, at, load32<LE>(buf + at + 8), first + t, b, row);
    decode_cleared(buf, b, row);
    if (lane_of[t] < 0) {
      services[row] = row_nat(nat, b, row);
      if (row_shard(b, row, shards) != lane) {
        clear_row(b, row); /* the next record of this lane decodes into the row again */
        continue;
      }
    } else {
      services[row] = -1;
    }
    row++;
  }
  *used = j;
  return row;
}

uint32_t walk_lane(const ns_walk *w, const uint32_t *offsets, const int8_t *lane_of, const uint32_t *mine, uint32_t m, uint32_t *used,
                   ns_batch *b, uint32_t cap, int32_t *services, const ns_nat *nat, uint32_t lane, uint32_t shards) {
  return w->le ? walk_lane_records<1>(w, offsets, lane_of, mine, m, used, b, cap, services, nat, lane, shards)
               : walk_lane_records<0>(w, offsets, lane_of, mine, m, used, b, cap, services, nat, lane, shards);
}

/* Rows [0, n) through run_row, prefetching the conntrack slot `d` rows ahead and its entry d/2 ahead, or,
   for a row whose slot holds no entry of its hash (most likely an opening), the model's decision-cache
   slot, as replay.cc hint_row does. */
static uint32_t run_prefetching(ns_batch *b, uint32_t n, uint32_t d, int model, ns_model *m, ns_conntrack *ct) {
  int64_t ring[64]; /* tuple hash per row, by row mod 64 (d < 64) */
  uint32_t keys[64][TUPLE_WORDS]; /* and its tuple */
  uint32_t orphans = 0, d2 = d / 2;
  for (uint32_t j = 0; j < d && j < n; j++) ring[j & 63] = ct_prefetch_slot(ct, b, j, keys[j & 63]);
  for (uint32_t i = 0; i < n; i++) {
    if (i + d < n) ring[(i + d) & 63] = ct_prefetch_slot(ct, b, i + d, keys[(i + d) & 63]);
    if (d2 > 0 && i + d2 < n) {
      int64_t h = ring[(i + d2) & 63];
      if (!ct_prefetch_entry(ct, h) && h >= 0) model_prefetch_decision(model, m, b, i + d2);
    }
    orphans += run_row(model, m, ct, b, i, ring[i & 63], keys[i & 63]);
  }
  return orphans;
}

/*
 * Two passes over the batch, not one per record: walk and decode every record, then run every row. The
 * one-pass form (each record walked, decoded, tracked and classified before the next) measured 0.90-0.94x
 * of two separate calls, as its loop body spans all of the hot code at once; in two passes each loop
 * stays small, and the batch's columns are still in cache for the second.
 */
uint32_t walk_run(ns_walk *w, ns_batch *b, uint32_t cap, int model, ns_model *m, ns_conntrack *ct, uint32_t *orphans) {
  w->decode = 1;
  uint32_t n = walk_classic(w, b, cap);
  if (w->prefetch > 0) {
    *orphans += run_prefetching(b, n, w->prefetch, model, m, ct);
  } else {
    for (uint32_t i = 0; i < n; i++) *orphans += run_row(model, m, ct, b, i);
  }
  return n;
}
