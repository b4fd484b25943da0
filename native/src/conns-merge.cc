/*
 * The lanes' connection tables merged into the first one's memory (addon-lanes.cc mergeLanes), in the
 * order a single replay would have opened them: by capture, then record, of each connection's opening
 * packet. A connection lives in exactly one lane (lanes are shards of the address pair and protocol),
 * and each lane's table is already in opening order, so a k-way merge of the opening packets gives
 * every connection's row; the cap applies to the merged table as to one replay's (the first `max`
 * connections kept, the packets of the others counted as overflow).
 *
 * In place: the first table's columns are reserved for `max` rows (conns_init), so its rows move to
 * their merged rows, last first (a row only ever moves on to a later row, never over one not yet moved:
 * conns_merge_settle), then the other lanes' rows are copied into the gaps, in parts that threads can
 * copy at once (conns_merge_copy). Merging into a fresh table measured 30-170 ms on 2M packets, mostly
 * the kernel backing the new pages; this writes only the rows the other lanes add.
 */
#include <stdlib.h>
#include <string.h>
#include "huge.h"
#include "replay.h"

/* Whether connection a of table x opened before connection b of table y. */
static inline int opens_before(const ns_conns *x, uint32_t a, const ns_conns *y, uint32_t b) {
  if (x->first_file[a] != y->first_file[b]) return x->first_file[a] < y->first_file[b];
  return x->first_record[a] < y->first_record[b];
}

/* positions[k][c]: the merged row of connection c of table k, or -1 from row `max` on; returns the rows kept. */
static uint32_t merge_positions(ns_conns *const *t, uint32_t n, int32_t **positions, uint32_t max) {
  uint32_t at[256] = {0}, row = 0;
  for (;;) {
    uint32_t best = n;
    for (uint32_t k = 0; k < n; k++) {
      if (at[k] < t[k]->count && (best == n || opens_before(t[k], at[k], t[best], at[best]))) best = k;
    }
    if (best == n) break;
    positions[best][at[best]++] = row < max ? (int32_t)row : -1;
    row++;
  }
  return row < max ? row : max;
}

/* Row c of `from` to row p of `to`, column by column by type: a memcpy of each column's width, the
   width read from CONN_COLUMN_BYTES, was a library call per column per row (22 instructions a packet). */
static void copy_row(ns_conns *to, uint32_t p, const ns_conns *from, uint32_t c) {
  static_assert(CONN_COLUMNS == 7, "copy_row copies every column");
  to->records[p] = from->records[c];
  to->first_record[p] = from->first_record[c];
  to->first_file[p] = from->first_file[c];
  to->service[p] = from->service[c];
  to->hash[p] = from->hash[c];
  to->verdict[p] = from->verdict[c];
  to->ct_state[p] = from->ct_state[c];
}

int conns_merge_plan(ns_merge *m, ns_conns *const *t, uint32_t n, void *scratch, size_t scratch_bytes) {
  memset(m, 0, sizeof *m);
  m->tables = t;
  m->n = n;
  m->positions = (int32_t **)calloc(n, sizeof *m->positions);
  if (!m->positions) return 0;
  /* Every table's positions in the caller's scratch memory when they fit, else in one mapping in huge
     pages: in fresh 4 KiB pages they were 179 page faults at two lanes and 187k connections (huge.h
     says what one costs here). */
  size_t bytes = 0;
  for (uint32_t k = 0; k < n; k++) bytes += ((size_t)t[k]->count + 1) * sizeof(int32_t);
  int32_t *at = (int32_t *)scratch;
  if (bytes > scratch_bytes) {
    at = (int32_t *)huge_map(bytes);
    if (!at) return 0;
    m->positions_bytes = bytes;
  }
  for (uint32_t k = 0; k < n; k++) {
    m->positions[k] = at;
    at += (size_t)t[k]->count + 1;
  }
  m->kept = merge_positions(t, n, m->positions, t[0]->max);
  /* Counted now: settling and copying write over table 0's rows, the cut ones too. */
  m->overflow = 0;
  for (uint32_t k = 0; k < n; k++) {
    m->overflow += t[k]->overflow;
    /* A table's rows past the cap are its last ones (its merged rows grow with its own order). */
    for (uint32_t c = t[k]->count; c-- > 0 && m->positions[k][c] < 0;) m->overflow += t[k]->records[c].packets;
  }
  return 1;
}

void conns_merge_settle(ns_merge *m) {
  ns_conns *into = m->tables[0];
  for (uint32_t c = into->count; c-- > 0;) {
    int32_t p = m->positions[0][c];
    if (p >= 0 && (uint32_t)p != c) copy_row(into, (uint32_t)p, into, c);
  }
}

void conns_merge_copy(ns_merge *m, uint32_t part, uint32_t parts) {
  ns_conns *into = m->tables[0];
  for (uint32_t k = 1; k < m->n; k++) {
    const ns_conns *from = m->tables[k];
    uint32_t lo = (uint32_t)((uint64_t)from->count * part / parts), hi = (uint32_t)((uint64_t)from->count * (part + 1) / parts);
    for (uint32_t c = lo; c < hi; c++) {
      int32_t p = m->positions[k][c];
      if (p >= 0) copy_row(into, (uint32_t)p, from, c);
    }
  }
}

void conns_merge_finish(ns_merge *m) {
  m->tables[0]->count = m->kept;
  m->tables[0]->overflow = m->overflow;
}

void conns_merge_free(ns_merge *m) {
  if (m->positions && m->positions_bytes > 0) huge_free(m->positions[0], m->positions_bytes);
  free(m->positions);
  m->positions = NULL;
}
