/*
 * The replay pipeline of one native model in C (src/replay/fused.ts drives it): per batch, the counters
 * and Service DNAT of src/replay/replay.ts prepareRows, the model's conntrack -> filter -> confirm
 * (run_row), then each IP row into its connection (src/replay/stage.ts groupRow). The connection table
 * lives here, in C memory laid out as src/replay/connections.ts lays out its own, and is handed to the
 * report at the end without a copy (addon-replay.cc takeConnections).
 */
#ifndef NETSIEVE_REPLAY_H
#define NETSIEVE_REPLAY_H
#include "hot.h"

enum { CONN_KEY_WORDS = 10, CONN_RECENT = 4096 };

/*
 * What a packet touches, one 64-byte record per connection: the packed key (connections.ts `key`, at
 * words [16c, 16c + 10)) and the three counters (connections.ts `counts`, at doubles [8c + 5, 8c + 8)).
 * The TypeScript table lays its records out the same way, so this memory is handed over as it is.
 */
typedef struct {
  uint32_t key[CONN_KEY_WORDS];
  double packets;
  double bytes;
  double dropped;
} ns_conn_record;

/*
 * The table's columns, each its own mapping reserved for `max` rows (huge.h huge_map), in
 * src/native/replay.ts CONNECTION_COLUMNS order. At the end each mapping becomes the memory of one of
 * the report's typed arrays (an external ArrayBuffer): the table is never copied.
 */
enum { CONN_RECORDS, CONN_FIRST_RECORD, CONN_FIRST_FILE, CONN_SERVICE, CONN_HASH, CONN_VERDICT, CONN_CT_STATE, CONN_COLUMNS };

typedef struct {
  ns_conn_record *records;
  double *first_record;
  int32_t *first_file;
  int32_t *service;
  int32_t *hash;
  uint8_t *verdict;
  uint8_t *ct_state;
  size_t mapped[CONN_COLUMNS]; /* bytes each column's mapping holds */
  uint32_t count, max; /* the columns hold `max` rows until taken */
  double overflow;
  int32_t *slots; /* pairs (connection + 1, hash); 0 empty */
  uint32_t mask;  /* slot count - 1 */
  /* One huge page that holds the index's sizes below it, one after another (see conns_resize). */
  uint8_t *nursery;
  size_t nursery_used;
  int failed; /* set when growing the index ran out of memory */
  /* A direct-mapped cache in front of the index: (hash, connection + 1) pairs by hash, in L1/L2. */
  int32_t recent[CONN_RECENT * 2];
} ns_conns;

/* Bytes per row of each column (CONN_* order). */
extern const uint32_t CONN_COLUMN_BYTES[CONN_COLUMNS];
/* Whether column k is in huge pages (huge.h huge_map), else 4 KiB pages (sparse_map): replay.cc says why. */
static inline int conns_column_huge(int k) { return k == CONN_RECORDS; }

/*
 * Per conntrack entry: its connection and the packets counted to the entry but not yet to that
 * connection's record (replay.cc account_row). A packet whose tracker entry already knows its
 * connection touches only this, in the tracker's own order, instead of hashing its tuple again and
 * probing the connection table (the two tables per packet of native/README.md). The counts reach the
 * record when the tracker removes the entry (replay_entry_removed) and at the end (replay_flush).
 * Integers, not the record's doubles: a packet's three adds are then one instruction each, without the
 * conversions and the constant the doubles took (cachegrind: 19 instructions a packet on the three lines).
 */
typedef struct {
  uint64_t packets, bytes, dropped;
  int32_t conn; /* connection + 1; 0: not known yet */
  int32_t unused;
} ns_tally;

/* Everything one replay call needs; `services` is per-row scratch of the batch's capacity. */
typedef struct ns_replay {
  int model;
  ns_model m;
  ns_conntrack *ct;
  const ns_nat *nat;
  ns_batch *b;
  ns_conns *conns;
  double *stats; /* RS_* slots */
  int32_t *services;
  ns_tally *tally; /* one per conntrack entry (ct->expires_len of them) */
  struct ns_prefault *prefault; /* prefault.h: told the progress after each batch; NULL: none */
} ns_replay;

/* A table of at most `max` connections; 0 when out of memory. */
int conns_init(ns_conns *t, uint32_t max);
void conns_free(ns_conns *t);
/* Column k's mapping and its mapped length; the table gives it up (the caller unmaps it). */
void *conns_take_column(ns_conns *t, int k, size_t *mapped);
/* Column k's memory (still the table's). */
void *conns_column(const ns_conns *t, int k);
/* Rows [0, n) of r->b (decoded) through DNAT, the model and into connections; file_index of their capture. */
void replay_rows(ns_replay *r, uint32_t n, int32_t file_index);
/* replay_rows in two parts, for lanes (replay threads in one process, addon-lanes.cc): DNAT and, with
   `shards` above 1, each row's shard (lane_of), once per row, for rows [lo, hi) ... */
void replay_prepare(const ns_nat *nat, ns_batch *b, uint32_t lo, uint32_t hi, uint32_t shards, int32_t *services, uint8_t *lane_of);
/* replay_prepare's two steps for one row: its Service DNAT (the Service, or -1) ... */
int32_t row_nat(const ns_nat *nat, ns_batch *b, uint32_t i);
/* ... and then its lane of `shards` (non-IP rows: 0). */
uint8_t row_shard(const ns_batch *b, uint32_t i, uint32_t shards);
/* Each of rows [0, n)'s shard of `shards` as replay_prepare gives it (non-IP rows: 0): for tests against shard.ts. */
void shard_rows(const ns_batch *b, uint32_t n, uint32_t shards, uint8_t *out);
/* ... then, per lane, its own batch of its rows (services as replay_prepare left them): counters, model, connections. */
void replay_lane(ns_replay *r, uint32_t n, int32_t file_index);
/*
 * A row handed from the thread that decoded it to the lane that runs it (addon-lanes.cc): the fields the
 * lane's conntrack, model and connection table read. It is written with streaming stores, so the decoding
 * thread never waits for the lane's core to give up the line (on the VMs this runs on, a lane reading the
 * decoder's batch columns directly slowed the decoder 2.5x). The first cache line holds a plain row; the
 * second is written and read only for a `wide` one: a fragment, an ICMP error, or a timestamp or record
 * index that does not fit the first line's 32 bits.
 */
typedef struct {
  uint32_t src[4], dst[4];
  uint16_t srcPort, dstPort;
  uint8_t family, proto, flags, tcpFlags, icmpType, icmpCode, sctpChunk, wide;
  uint32_t wireLength, tsNsec;
  int32_t service;
  uint32_t tsSec;        /* when not wide */
  uint32_t recordOffset; /* when not wide: the record index less the batch's first row's */
  /* second line */
  double tsSecWide, recordIndexWide;
  uint32_t fragmentId;
  uint16_t innerSrcPort, innerDstPort;
  uint32_t innerSrc[4], innerDst[4];
  uint8_t innerProto;
  uint8_t pad[7];
} __attribute__((aligned(64))) ns_lane_row;

/*
 * Rows [0, rows) of b (and their Services, replay_prepare's) each into the next row of its lane's slot:
 * row i to out[lane_of[i]][handed[lane_of[i]]++], streamed past the cache where the CPU can, the stores
 * made visible before it returns. `base`: the record index of the batch's row 0.
 */
void lane_pack_rows(const ns_batch *b, uint32_t rows, const int32_t *services, const uint8_t *lane_of, double base,
                    ns_lane_row *const *out, uint32_t *handed);
/* Rows [0, n) of b (and services) from in[0, n), packed with the same `base`. */
void lane_unpack_rows(const ns_lane_row *in, uint32_t n, ns_batch *b, int32_t *services, double base);

/*
 * Tables 1..n-1 merged into table 0 (its memory; conns-merge.cc), in opening order, at most table 0's
 * `max` rows; the others are left as they were. Table 0's index is stale afterwards: only its columns
 * are read then. In steps: plan (0 when out of memory; free it anyway), settle, copy (every part of
 * `parts`, at once if wanted), finish, free. `scratch` (scratch_bytes of it, 4-byte aligned, or NULL):
 * memory the plan may use until freed.
 */
typedef struct {
  ns_conns *const *tables;
  uint32_t n, kept;
  int32_t **positions; /* per table, per connection: its merged row, or -1 past the cap */
  size_t positions_bytes; /* all of them, one mapping from positions[0] (huge.h); 0 in the caller's scratch */
  double overflow;     /* the tables' own overflow and the packets of their rows past the cap */
} ns_merge;
int conns_merge_plan(ns_merge *m, ns_conns *const *tables, uint32_t n, void *scratch, size_t scratch_bytes);
void conns_merge_settle(ns_merge *m);
void conns_merge_copy(ns_merge *m, uint32_t part, uint32_t parts);
void conns_merge_finish(ns_merge *m);
void conns_merge_free(ns_merge *m);

/* Every entry's tallied packets added to its connection's record: before the table is read or merged. */
void replay_flush(ns_replay *r);

/* -1 when the table could not grow (out of memory): the call's rows are then incomplete. */
int replay_failed(const ns_replay *r);

#endif
