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
  double ts_lo = b->tsSec[0], ts_hi = ts_lo, rec_lo = b->recordIndex[0], rec_hi = rec_lo;
  for (uint32_t i = 1; i < rows; i++) {
    double t = b->tsSec[i], r = b->recordIndex[i];
    ts_lo = t < ts_lo ? t : ts_lo;
    ts_hi = t > ts_hi ? t : ts_hi;
    rec_lo = r < rec_lo ? r : rec_lo;
    rec_hi = r > rec_hi ? r : rec_hi;
  }
  return ts_lo >= 0 && ts_hi < 4294967296.0 && rec_lo >= base && rec_hi - base < 4294967296.0;
}

/* Whether row i needs the second line: fragments and ICMP errors, and every row of a batch whose times do not fit. */
static inline int wide_row(const ns_batch *b, uint32_t i, int times) {
  return !times || (b->flags[i] & (ROW_FIRST_FRAGMENT | ROW_LATER_FRAGMENT | ROW_ICMP_ERROR)) != 0;
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

static inline void lane_pack(const ns_batch *b, uint32_t i, int32_t service, double base, int times, ns_lane_row *out) {
  ns_lane_row r;
  memcpy(r.src, b->src + (size_t)i * 4, 16);
  memcpy(r.dst, b->dst + (size_t)i * 4, 16);
  r.srcPort = b->srcPort[i];
  r.dstPort = b->dstPort[i];
  r.family = b->family[i];
  r.proto = b->proto[i];
  r.flags = b->flags[i];
  r.tcpFlags = b->tcpFlags[i];
  r.icmpType = b->icmpType[i];
  r.icmpCode = b->icmpCode[i];
  r.sctpChunk = b->sctpChunk[i];
  r.wide = (uint8_t)wide_row(b, i, times);
  r.wireLength = b->wireLength[i];
  r.tsNsec = b->tsNsec[i];
  r.service = service;
  if (!r.wide) {
    r.tsSec = (uint32_t)b->tsSec[i];
    r.recordOffset = (uint32_t)(b->recordIndex[i] - base);
    stream_lines(out, &r, 1);
    return;
  }
  r.tsSec = 0;
  r.recordOffset = 0;
  r.tsSecWide = b->tsSec[i];
  r.recordIndexWide = b->recordIndex[i];
  r.fragmentId = b->fragmentId[i];
  r.innerSrcPort = b->innerSrcPort[i];
  r.innerDstPort = b->innerDstPort[i];
  memcpy(r.innerSrc, b->innerSrc + (size_t)i * 4, 16);
  memcpy(r.innerDst, b->innerDst + (size_t)i * 4, 16);
  r.innerProto = b->innerProto[i];
  memset(r.pad, 0, sizeof r.pad);
  stream_lines(out, &r, 2);
}

void lane_pack_rows(const ns_batch *b, uint32_t rows, const int32_t *services, const uint8_t *lane_of, double base,
                    ns_lane_row *const *out, uint32_t *handed) {
  int times = times_fit(b, rows, base);
  for (uint32_t i = 0; i < rows; i++) {
    uint8_t k = lane_of[i];
    lane_pack(b, i, services[i], base, times, &out[k][handed[k]++]);
  }
#if defined(__SSE2__)
  _mm_sfence(); /* the streaming stores visible before the lanes are told to go */
#endif
}

static inline void lane_unpack(const ns_lane_row *in, ns_batch *b, uint32_t j, int32_t *services, double base) {
  memcpy(b->src + (size_t)j * 4, in->src, 16);
  memcpy(b->dst + (size_t)j * 4, in->dst, 16);
  b->srcPort[j] = in->srcPort;
  b->dstPort[j] = in->dstPort;
  b->family[j] = in->family;
  b->proto[j] = in->proto;
  b->flags[j] = in->flags;
  b->tcpFlags[j] = in->tcpFlags;
  b->icmpType[j] = in->icmpType;
  b->icmpCode[j] = in->icmpCode;
  b->sctpChunk[j] = in->sctpChunk;
  b->wireLength[j] = in->wireLength;
  b->tsNsec[j] = in->tsNsec;
  services[j] = in->service;
  if (!in->wide) {
    /* Only the fields a plain row's tracking and grouping read; the rest keep stale values nothing reads. */
    b->tsSec[j] = in->tsSec;
    b->recordIndex[j] = base + in->recordOffset;
    return;
  }
  b->tsSec[j] = in->tsSecWide;
  b->recordIndex[j] = in->recordIndexWide;
  b->fragmentId[j] = in->fragmentId;
  b->innerSrcPort[j] = in->innerSrcPort;
  b->innerDstPort[j] = in->innerDstPort;
  memcpy(b->innerSrc + (size_t)j * 4, in->innerSrc, 16);
  memcpy(b->innerDst + (size_t)j * 4, in->innerDst, 16);
  b->innerProto[j] = in->innerProto;
}

void lane_unpack_rows(const ns_lane_row *in, uint32_t n, ns_batch *b, int32_t *services, double base) {
  for (uint32_t j = 0; j < n; j++) lane_unpack(in + j, b, j, services, base);
}
