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

/* Everything one replay call needs; `services` is per-row scratch of the batch's capacity. */
typedef struct {
  int model;
  ns_model m;
  ns_conntrack *ct;
  const ns_nat *nat;
  ns_batch *b;
  ns_conns *conns;
  double *stats; /* RS_* slots */
  int32_t *services;
  int32_t *hashes; /* per row: its connection hash (group_rows scratch, the batch's capacity) */
  /* --threads: this replay takes the rows of shard `shard` of `shards` (src/replay/shard.ts shardOf) and
     non-IP rows only in shard 0; the other rows are walked and decoded but skipped. 1 shard: every row. */
  uint32_t shard, shards;
  uint8_t *mine; /* per row: 1 when this replay takes it (scratch, the batch's capacity) */
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
/* -1 when the table could not grow (out of memory): the call's rows are then incomplete. */
int replay_failed(const ns_replay *r);

#endif
