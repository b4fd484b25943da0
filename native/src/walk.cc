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
#include "ct-key.h"
/* decode.cc is compiled here, in the walk's file, not on its own (binding.gyp): its decode_cleared then
   inlines into the walk's loop, where a call per row cost 12 instructions (cachegrind). */
#include "decode.cc"

enum { RECORD_HEADER = 16 };
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

/* The record fields of row `row` from the record header at `h` (classic.ts walk, field for field). */
template <int LE> static inline void record_row(const ns_walk *w, const uint8_t *h, uint32_t caplen, ns_batch *b, uint32_t row) {
  b->tsSec[row] = (double)load32<LE>(h);
  b->tsNsec[row] = load32<LE>(h + 4) * w->subsec_mul; /* wraps mod 2^32 as the TS Uint32Array store does */
  b->wireLength[row] = load32<LE>(h + 12);
  b->capturedLength[row] = caplen;
  b->dataOffset[row] = w->pos + RECORD_HEADER;
  b->recordIndex[row] = w->first_index + row;
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
    record_row<LE>(w, w->buf + w->pos, (uint32_t)caplen, b, row);
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

/* Rows [0, n) through run_row, prefetching the conntrack slot `d` rows ahead and its entry d/2 ahead. */
static uint32_t run_prefetching(ns_batch *b, uint32_t n, uint32_t d, int model, ns_model *m, ns_conntrack *ct) {
  int64_t ring[64]; /* tuple hash per row, by row mod 64 (d < 64) */
  uint32_t keys[64][TUPLE_WORDS]; /* and its tuple */
  uint32_t orphans = 0, d2 = d / 2;
  for (uint32_t j = 0; j < d && j < n; j++) ring[j & 63] = ct_prefetch_slot(ct, b, j, keys[j & 63]);
  for (uint32_t i = 0; i < n; i++) {
    if (i + d < n) ring[(i + d) & 63] = ct_prefetch_slot(ct, b, i + d, keys[(i + d) & 63]);
    if (d2 > 0 && i + d2 < n) ct_prefetch_entry(ct, ring[(i + d2) & 63]);
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
