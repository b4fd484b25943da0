/*
 * The hand-over of decoded rows between lanes (replay.h ns_lane_row; addon-lanes.cc drives it). A lane
 * other than the decoding thread's runs its shard's rows from its own batch, filled from these records:
 * reading the decoder's batch columns instead made the two cores trade those lines back and forth on
 * every batch (measured: the decoder's own work 49 -> 127 ms per 2M packets).
 *
 * A plain row (not a fragment or ICMP error) unpacks only what conntrack, the model and the connection
 * table read of it: fragmentId and the inner (quoted) fields are read only under the flags that make a
 * row wide.
 */
#include <string.h>
#include "replay.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static_assert(sizeof(ns_lane_row) == 128, "ns_lane_row is two cache lines");

/*
 * Whether every row's timestamp and record offset fit the first line's 32-bit fields (the C pcap walk's
 * always do: its seconds are 32-bit fields, its offsets below the batch's size; a pcapng's need not).
 * Both columns hold whole numbers, never NaN (flow-batch.ts: whole seconds; record indices), so their
 * ranges decide: a min/max pass over the batch, rather than a test per row beside the packing (35
 * instructions a row there, bench:instructions).
 */
static int times_fit(const ns_batch *b, uint32_t rows, double base) {
  if (rows == 0) return 1;
  const double *ts = b->tsSec, *rec = b->recordIndex;
  double ts_lo = ts[0], ts_hi = ts_lo, rec_lo = rec[0], rec_hi = rec_lo;
  uint32_t i = 1;
#if defined(__SSE2__)
  /* Two rows at a time (minpd/maxpd; 12 instructions a row as scalar code, which GCC left unvectorised). */
  __m128d tl = _mm_set1_pd(ts_lo), th = tl, rl = _mm_set1_pd(rec_lo), rh = rl;
  for (; i + 2 <= rows; i += 2) {
    __m128d t = _mm_loadu_pd(ts + i), r = _mm_loadu_pd(rec + i);
    tl = _mm_min_pd(tl, t);
    th = _mm_max_pd(th, t);
    rl = _mm_min_pd(rl, r);
    rh = _mm_max_pd(rh, r);
  }
  double lanes[2];
  _mm_storeu_pd(lanes, _mm_min_pd(tl, _mm_unpackhi_pd(tl, tl))); ts_lo = lanes[0];
  _mm_storeu_pd(lanes, _mm_max_pd(th, _mm_unpackhi_pd(th, th))); ts_hi = lanes[0];
  _mm_storeu_pd(lanes, _mm_min_pd(rl, _mm_unpackhi_pd(rl, rl))); rec_lo = lanes[0];
  _mm_storeu_pd(lanes, _mm_max_pd(rh, _mm_unpackhi_pd(rh, rh))); rec_hi = lanes[0];
#endif
  for (; i < rows; i++) {
    double t = ts[i], r = rec[i];
    ts_lo = t < ts_lo ? t : ts_lo;
    ts_hi = t > ts_hi ? t : ts_hi;
    rec_lo = r < rec_lo ? r : rec_lo;
    rec_hi = r > rec_hi ? r : rec_hi;
  }
  return ts_lo >= 0 && ts_hi < 4294967296.0 && rec_lo >= base && rec_hi - base < 4294967296.0;
}

/* `lines` cache lines of `from` to `to`, with streaming stores where the CPU has them. */
static inline void stream_lines(void *to, const void *from, int lines) {
#if defined(__SSE2__)
  const __m128i *f = (const __m128i *)from;
  __m128i *t = (__m128i *)to;
  for (int k = 0; k < lines * 4; k++) _mm_stream_si128(t + k, _mm_load_si128(f + k));
#else
  memcpy(to, from, (size_t)lines * 64);
#endif
}

/*
 * The batch's column pointers (and, unpacking, the Services'), read once for a batch by pack and unpack:
 * every byte stored into a column or a line may alias anything (a char store, for the compiler), so
 * through the batch struct each column's address was loaded again after every such store. __restrict
 * says that the columns and the rows do not overlap.
 */
typedef struct {
  uint32_t *__restrict src, *__restrict dst, *__restrict innerSrc, *__restrict innerDst;
  uint16_t *__restrict srcPort, *__restrict dstPort, *__restrict innerSrcPort, *__restrict innerDstPort;
  uint8_t *__restrict family, *__restrict proto, *__restrict flags, *__restrict tcpFlags, *__restrict icmpType,
      *__restrict icmpCode, *__restrict sctpChunk, *__restrict innerProto;
  uint32_t *__restrict wireLength, *__restrict tsNsec, *__restrict fragmentId;
  double *__restrict tsSec, *__restrict recordIndex;
  int32_t *__restrict services;
} lane_columns;

static inline lane_columns lane_columns_of(const ns_batch *b, int32_t *services) {
  return lane_columns{b->src, b->dst, b->innerSrc, b->innerDst, b->srcPort, b->dstPort, b->innerSrcPort, b->innerDstPort,
                      b->family, b->proto, b->flags, b->tcpFlags, b->icmpType, b->icmpCode, b->sctpChunk, b->innerProto,
                      b->wireLength, b->tsNsec, b->fragmentId, b->tsSec, b->recordIndex, services};
}

static inline void lane_pack(const lane_columns *c, uint32_t i, int32_t service, double base, int times, ns_lane_row *out) {
  ns_lane_row r;
  memcpy(r.src, c->src + (size_t)i * 4, 16);
  memcpy(r.dst, c->dst + (size_t)i * 4, 16);
  r.srcPort = c->srcPort[i];
  r.dstPort = c->dstPort[i];
  r.family = c->family[i];
  r.proto = c->proto[i];
  r.flags = c->flags[i];
  r.tcpFlags = c->tcpFlags[i];
  r.icmpType = c->icmpType[i];
  r.icmpCode = c->icmpCode[i];
  r.sctpChunk = c->sctpChunk[i];
  /* The second line: fragments and ICMP errors, and every row of a batch whose times do not fit the first. */
  r.wide = (uint8_t)(!times || (r.flags & (ROW_FIRST_FRAGMENT | ROW_LATER_FRAGMENT | ROW_ICMP_ERROR)) != 0);
  r.wireLength = c->wireLength[i];
  r.tsNsec = c->tsNsec[i];
  r.service = service;
  if (!r.wide) {
    r.tsSec = (uint32_t)c->tsSec[i];
    r.recordOffset = (uint32_t)(c->recordIndex[i] - base);
    stream_lines(out, &r, 1);
    return;
  }
  r.tsSec = 0;
  r.recordOffset = 0;
  r.tsSecWide = c->tsSec[i];
  r.recordIndexWide = c->recordIndex[i];
  r.fragmentId = c->fragmentId[i];
  r.innerSrcPort = c->innerSrcPort[i];
  r.innerDstPort = c->innerDstPort[i];
  memcpy(r.innerSrc, c->innerSrc + (size_t)i * 4, 16);
  memcpy(r.innerDst, c->innerDst + (size_t)i * 4, 16);
  r.innerProto = c->innerProto[i];
  memset(r.pad, 0, sizeof r.pad);
  stream_lines(out, &r, 2);
}

void lane_pack_rows(const ns_batch *b, uint32_t rows, const int32_t *services, const uint8_t *lane_of, double base,
                    ns_lane_row *const *out, uint32_t *handed) {
  int times = times_fit(b, rows, base);
  const lane_columns c = lane_columns_of(b, NULL);
  for (uint32_t i = 0; i < rows; i++) {
    uint8_t k = lane_of[i];
    lane_pack(&c, i, services[i], base, times, &out[k][handed[k]++]);
  }
#if defined(__SSE2__)
  _mm_sfence(); /* the streaming stores visible before the lanes are told to go */
#endif
}

static inline void lane_unpack(const ns_lane_row *__restrict in, const lane_columns *c, uint32_t j, double base) {
  memcpy(c->src + (size_t)j * 4, in->src, 16);
  memcpy(c->dst + (size_t)j * 4, in->dst, 16);
  c->srcPort[j] = in->srcPort;
  c->dstPort[j] = in->dstPort;
  c->family[j] = in->family;
  c->proto[j] = in->proto;
  c->flags[j] = in->flags;
  c->tcpFlags[j] = in->tcpFlags;
  c->icmpType[j] = in->icmpType;
  c->icmpCode[j] = in->icmpCode;
  c->sctpChunk[j] = in->sctpChunk;
  c->wireLength[j] = in->wireLength;
  c->tsNsec[j] = in->tsNsec;
  c->services[j] = in->service;
  if (!in->wide) {
    /* Only the fields a plain row's tracking and grouping read; the rest keep stale values nothing reads. */
    c->tsSec[j] = in->tsSec;
    c->recordIndex[j] = base + in->recordOffset;
    return;
  }
  c->tsSec[j] = in->tsSecWide;
  c->recordIndex[j] = in->recordIndexWide;
  c->fragmentId[j] = in->fragmentId;
  c->innerSrcPort[j] = in->innerSrcPort;
  c->innerDstPort[j] = in->innerDstPort;
  memcpy(c->innerSrc + (size_t)j * 4, in->innerSrc, 16);
  memcpy(c->innerDst + (size_t)j * 4, in->innerDst, 16);
  c->innerProto[j] = in->innerProto;
}

void lane_unpack_rows(const ns_lane_row *in, uint32_t n, ns_batch *b, int32_t *services, double base) {
  const lane_columns c = lane_columns_of(b, services);
  for (uint32_t j = 0; j < n; j++) lane_unpack(in + j, &c, j, base);
}
