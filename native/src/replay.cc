/*
 * src/replay/replay.ts prepareRows, stage.ts runModel/groupRow and connections.ts, for one native model,
 * in one call per batch. Every function here mirrors a TypeScript one named in its comment, down to the
 * hash functions (the connection hashes are handed over with the table, and the DNAT backend choice must
 * be the same as TypeScript's for the two engines to agree connection for connection).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "replay.h"
#include "ct-key.h"
#include "huge.h"
#include "prefault.h"
#include "shard.h"

/* --- Service DNAT (src/replay/nat.ts) -------------------------------------------------------------- */

static inline uint32_t mul(uint32_t a, uint32_t b) { return a * b; } /* Math.imul, as uint32 */

/* nat.ts slotHash. */
static uint32_t nat_hash(const uint32_t *w, uint32_t port, uint32_t proto) {
  uint32_t h = mul(w[0] ^ 0x9e3779b9u, 0x85ebca6bu);
  h = mul(h ^ w[1] ^ (h >> 13), 0xc2b2ae35u);
  h = mul(h ^ w[2] ^ (h >> 16), 0x85ebca6bu);
  h = mul(h ^ w[3] ^ (h >> 13), 0xc2b2ae35u);
  h = mul(h ^ ((port << 8) | proto), 0x27d4eb2du);
  return h ^ (h >> 15);
}

/* nat.ts findServicePort. */
static int32_t find_service_port(const ns_nat *n, uint32_t family, const uint32_t *w, uint32_t port, uint32_t proto) {
  uint32_t mask = (uint32_t)n->params[NAT_PARAM_MASK];
  for (uint32_t h = nat_hash(w, port, proto) & mask;; h = (h + 1) & mask) {
    int32_t s = n->slots[h] - 1;
    if (s < 0) return -1;
    const uint32_t *a = n->addr + (size_t)s * 4;
    if (n->port[s] == port && n->proto[s] == proto && n->family[s] == family && a[0] == w[0] && a[1] == w[1] &&
        a[2] == w[2] && a[3] == w[3]) return s;
  }
}

/* nat.ts applyNat's rewrite: one end of row i (`end`, `end_port`) to the backend chosen by the other end. */
static void to_backend(const ns_nat *n, int32_t s, uint32_t *end, uint16_t *end_port, const uint32_t *client,
                       uint32_t client_port, uint32_t proto) {
  int32_t b = n->backendStart[s] + (int32_t)(nat_hash(client, client_port, proto) % (uint32_t)n->backendCount[s]);
  memcpy(end, n->backendAddr + (size_t)b * 4, 16);
  *end_port = n->backendPort[b];
}

/* applyNat's lookups, for a row that may meet a Service: the service port index, or -1. Out of line:
   most rows never get here (apply_nat). */
__attribute__((noinline)) static int32_t nat_lookup(const ns_nat *n, ns_batch *b, uint32_t i, uint32_t family, uint32_t proto) {
  uint32_t *src = b->src + (size_t)i * 4, *dst = b->dst + (size_t)i * 4;
  int32_t s = find_service_port(n, family, dst, b->dstPort[i], proto);
  if (s >= 0 && n->backendCount[s] > 0) {
    to_backend(n, s, dst, &b->dstPort[i], src, b->srcPort[i], proto);
    return s;
  }
  s = find_service_port(n, family, src, b->srcPort[i], proto);
  if (s >= 0 && n->backendCount[s] > 0) {
    to_backend(n, s, src, &b->srcPort[i], dst, b->dstPort[i], proto);
    return s;
  }
  return -1;
}

/*
 * Whether a row may meet a Service (nat.ts applyNat's first test, then the filter): an IP row of TCP, UDP
 * or SCTP, unless neither address is in the Service address filter (ns_nat vips, built at bind), which
 * leaves it alone after two filter reads instead of two hashed probes of the Service table: on the seed
 * cluster's traffic (one Service, 300k synth packets, cachegrind) 942 instructions a packet became 810
 * with replay_prepare's loop below. (The TypeScript engine makes the IPv4 range test only.)
 */
static NS_INLINE int may_meet_service(const ns_vip_filter *f, uint32_t family, uint32_t proto, const uint32_t *src,
                                      const uint32_t *dst) {
  if (family == 0 || (proto != 6 && proto != 17 && proto != 132)) return 0;
  if (f == NULL) return 1;
  return family == 4 ? vip_maybe(f, dst[0]) || vip_maybe(f, src[0]) : vip6_maybe(f, dst) || vip6_maybe(f, src);
}

/* nat.ts applyNat: the service port index, or -1 when row i was left alone. */
static NS_INLINE int32_t apply_nat(const ns_nat *n, ns_batch *b, uint32_t i) {
  uint32_t family = b->family[i], proto = b->proto[i];
  if (!may_meet_service(n->vips, family, proto, b->src + (size_t)i * 4, b->dst + (size_t)i * 4)) return -1;
  return nat_lookup(n, b, i, family, proto);
}

/* --- Connections (src/replay/connections.ts) ------------------------------------------------------ */

/* connections.ts endHash (an int32 there; the bits are the same). */
static inline uint32_t end_hash(const uint32_t *w, uint32_t port) {
  uint32_t h = mul(w[0] ^ port, 0x85ebca6bu);
  h = mul(h ^ w[1] ^ (h >> 13), 0xc2b2ae35u);
  h = mul(h ^ w[2] ^ (h >> 16), 0x85ebca6bu);
  h = mul(h ^ w[3] ^ (h >> 13), 0xc2b2ae35u);
  return h ^ (h >> 16);
}

/* connections.ts symmetricHash: the same for (a -> b) and (b -> a). */
static inline int32_t symmetric_hash(const uint32_t *src, const uint32_t *dst, uint32_t sp, uint32_t dp, uint32_t proto) {
  uint32_t h = end_hash(src, sp) + end_hash(dst, dp);
  return (int32_t)(mul(h ^ proto, 0x27d4eb2du) ^ (h >> 15));
}

/* connections.ts matches: the tuple against connection c's packed key, forward then reverse. */
static inline int conn_matches(const ns_conn_record *c, uint32_t fp, const uint32_t *src, const uint32_t *dst, uint32_t sp, uint32_t dp) {
  const uint32_t *k = c->key;
  if (k[0] != fp) return 0;
  if (k[1] == ((sp << 16) | dp) && memcmp(k + 2, src, 16) == 0 && memcmp(k + 6, dst, 16) == 0) return 1;
  return k[1] == ((dp << 16) | sp) && memcmp(k + 2, dst, 16) == 0 && memcmp(k + 6, src, 16) == 0;
}

/*
 * The table's memory: each column one mapping of its largest size (`max` rows), reserved up front (only
 * the pages touched are ever backed), so a growing column is never moved or copied. Running out of
 * memory past the reservation is then the kernel's to handle. The records (64 bytes a connection) take
 * 2 MiB pages (huge.h huge_map); the six small columns (1 to 8 bytes a connection) 4 KiB pages
 * (sparse_map): in huge pages each of them zeroed at least 2 MiB, 12 MiB a table for the 4 MB that
 * 187k connections use, and with --threads each lane has a table. Measured on 1M small-tier packets
 * against huge pages for all: `netsieve replay --threads 2`, builds in turns, runs 4 s apart (cold
 * memory, README "Performance"), 1.28x (8 rounds, quartiles 1.14-1.28); in one process (warm) 1.09x;
 * one thread, which has its prefault helper, 1.04x cold and 1.01x warm.
 */
const uint32_t CONN_COLUMN_BYTES[CONN_COLUMNS] = {sizeof(ns_conn_record), 8, 4, 4, 4, 1, 1};

static void **column_slot(ns_conns *t, int k) {
  switch (k) {
    case CONN_RECORDS: return (void **)&t->records;
    case CONN_FIRST_RECORD: return (void **)&t->first_record;
    case CONN_FIRST_FILE: return (void **)&t->first_file;
    case CONN_SERVICE: return (void **)&t->service;
    case CONN_HASH: return (void **)&t->hash;
    case CONN_VERDICT: return (void **)&t->verdict;
    default: return (void **)&t->ct_state;
  }
}

void *conns_column(const ns_conns *t, int k) { return *column_slot((ns_conns *)t, k); }

void *conns_take_column(ns_conns *t, int k, size_t *mapped) {
  void **slot = column_slot(t, k);
  void *p = *slot;
  *slot = NULL;
  *mapped = t->mapped[k];
  t->mapped[k] = 0;
  return p;
}

static size_t index_bytes(uint32_t slots) { return (size_t)slots * 2 * sizeof(int32_t); }

/*
 * The index doubles from 2,048 slots (16 KiB). Each size in its own huge mapping cost a whole 2 MiB page
 * fault (the kernel zeroes all of it) for the seven sizes below 2 MiB: 14 MiB zeroed for 2 MiB used,
 * 14 of the 37 huge page faults of a 374k-connection replay. Those sizes, 16 KiB to 1 MiB, together
 * fit in one huge page: each is carved after the previous one (both live while rehashing), never
 * reused, so each starts zeroed. Larger sizes get their own mapping.
 */
static int32_t *index_alloc(ns_conns *t, size_t bytes) {
  if (bytes <= HUGE_PAGE - t->nursery_used) {
    if (!t->nursery) t->nursery = (uint8_t *)huge_map(HUGE_PAGE);
    if (t->nursery) {
      int32_t *p = (int32_t *)(t->nursery + t->nursery_used);
      t->nursery_used += bytes;
      return p;
    }
  }
  return (int32_t *)huge_map(bytes);
}

static void index_release(ns_conns *t, int32_t *p, size_t bytes) {
  uint8_t *at = (uint8_t *)p;
  if (t->nursery && at >= t->nursery && at < t->nursery + HUGE_PAGE) return;
  huge_free(p, bytes);
}

/* connections.ts resize: a new index of `slots` slots, rebuilt from the stored hashes. */
static int conns_resize(ns_conns *t, uint32_t slots) {
  int32_t *index = index_alloc(t, index_bytes(slots));
  if (!index) return 0;
  uint32_t mask = slots - 1;
  for (uint32_t c = 0; c < t->count; c++) {
    int32_t hash = t->hash[c];
    uint32_t h = (uint32_t)hash & mask;
    while (index[h * 2] != 0) h = (h + 1) & mask;
    index[h * 2] = (int32_t)c + 1;
    index[h * 2 + 1] = hash;
  }
  if (t->slots) index_release(t, t->slots, index_bytes(t->mask + 1));
  t->slots = index;
  t->mask = mask;
  return 1;
}

int conns_init(ns_conns *t, uint32_t max) {
  memset(t, 0, sizeof *t);
  t->max = max;
  for (int k = 0; k < CONN_COLUMNS; k++) {
    size_t want = (size_t)CONN_COLUMN_BYTES[k] * (max > 0 ? max : 1);
    size_t bytes = conns_column_huge(k) ? huge_round(want) : small_round(want);
    void *p = conns_column_huge(k) ? huge_map(bytes) : sparse_map(bytes);
    if (!p) {
      conns_free(t);
      return 0;
    }
    *column_slot(t, k) = p;
    t->mapped[k] = bytes;
  }
  if (conns_resize(t, 2048)) return 1;
  conns_free(t);
  return 0;
}

void conns_free(ns_conns *t) {
  for (int k = 0; k < CONN_COLUMNS; k++) {
    void **slot = column_slot(t, k);
    table_free(*slot, t->mapped[k], conns_column_huge(k)); /* the mapping's own length */
    *slot = NULL;
    t->mapped[k] = 0;
  }
  if (t->slots) index_release(t, t->slots, index_bytes(t->mask + 1));
  t->slots = NULL;
  huge_free(t->nursery, HUGE_PAGE);
  t->nursery = NULL;
  t->nursery_used = 0;
}

/* connections.ts init: connection c opened by row i. */
static void conn_open(ns_conns *t, uint32_t c, const ns_batch *b, uint32_t i, uint32_t fp, int32_t hash, int32_t file) {
  ns_conn_record *h = &t->records[c];
  const uint32_t *src = b->src + (size_t)i * 4, *dst = b->dst + (size_t)i * 4;
  h->key[0] = fp;
  h->key[1] = ((uint32_t)b->srcPort[i] << 16) | b->dstPort[i];
  memcpy(h->key + 2, src, 16);
  memcpy(h->key + 6, dst, 16);
  h->packets = h->bytes = h->dropped = 0;
  t->first_record[c] = b->recordIndex[i];
  t->first_file[c] = file;
  t->service[c] = -1;
  t->hash[c] = hash;
  t->verdict[c] = b->verdict[i];
  t->ct_state[c] = b->ctState[i];
}

/* connections.ts find: the connection with this tuple in either direction, or -1. */
static int32_t conns_find(const ns_conns *t, uint32_t fp, const uint32_t *src, const uint32_t *dst, uint32_t sp, uint32_t dp) {
  int32_t hash = symmetric_hash(src, dst, sp, dp, fp & 0xff);
  for (uint32_t h = (uint32_t)hash & t->mask;; h = (h + 1) & t->mask) {
    int32_t c = t->slots[h * 2] - 1;
    if (c < 0) return -1;
    if (t->slots[h * 2 + 1] == hash && conn_matches(&t->records[c], fp, src, dst, sp, dp)) return c;
  }
}

/*
 * connections.ts lookupOrAdd, given the row's symmetric hash: row i's connection, opened by row i when
 * new; -1 when the table is full (or out of memory). The recent-connections cache keeps (hash, c + 1)
 * pairs so that its check costs no cache miss on the table itself.
 */
static int32_t conns_lookup_or_add(ns_conns *t, const ns_batch *b, uint32_t i, int32_t file, int32_t hash) {
  const uint32_t *src = b->src + (size_t)i * 4, *dst = b->dst + (size_t)i * 4;
  uint32_t sp = b->srcPort[i], dp = b->dstPort[i], proto = b->proto[i];
  uint32_t fp = ((uint32_t)b->family[i] << 8) | proto;
  uint32_t r = ((uint32_t)hash & (CONN_RECENT - 1)) * 2;
  int32_t seen = t->recent[r + 1] - 1;
  if (seen >= 0 && t->recent[r] == hash && conn_matches(&t->records[seen], fp, src, dst, sp, dp)) return seen;
  uint32_t h = (uint32_t)hash & t->mask;
  for (;; h = (h + 1) & t->mask) {
    int32_t c = t->slots[h * 2] - 1;
    if (c < 0) break;
    if (t->slots[h * 2 + 1] == hash && conn_matches(&t->records[c], fp, src, dst, sp, dp)) {
      t->recent[r] = hash;
      t->recent[r + 1] = c + 1;
      return c;
    }
  }
  if (t->count >= t->max) {
    t->overflow += 1;
    return -1;
  }
  uint32_t c = t->count++;
  t->slots[h * 2] = (int32_t)c + 1;
  t->slots[h * 2 + 1] = hash;
  conn_open(t, c, b, i, fp, hash, file);
  t->recent[r] = hash;
  t->recent[r + 1] = (int32_t)c + 1;
  if ((uint64_t)t->count * 2 > (uint64_t)t->mask + 1 && !conns_resize(t, (t->mask + 1) * 2)) t->failed = 1;
  return (int32_t)c;
}

/* --- The batch (replay.ts prepareRows, stage.ts runModel and groupRow) ---------------------------- */

/* src/replay/shard.ts shardOf: the address pair and protocol (of the quoted flow for ICMP errors), commutatively. */
static uint32_t shard_of(const ns_batch *b, uint32_t i, uint32_t n) {
  int err = (b->flags[i] & ROW_ICMP_ERROR) != 0;
  const uint32_t *x = (err ? b->innerSrc : b->src) + (size_t)i * 4, *y = (err ? b->innerDst : b->dst) + (size_t)i * 4;
  uint32_t proto = err ? b->innerProto[i] : b->proto[i];
  return shard_finish(shard_mix_words(x) + shard_mix_words(y), proto, n);
}

/* Row i's lane of `shards`: non-IP rows go to lane 0. */
uint8_t row_shard(const ns_batch *b, uint32_t i, uint32_t shards) {
  return b->family[i] == 0 ? 0 : (uint8_t)shard_of(b, i, shards);
}

int32_t row_nat(const ns_nat *nat, ns_batch *b, uint32_t i) {
  return nat->params[NAT_PARAM_COUNT] > 0 && b->family[i] != 0 ? apply_nat(nat, b, i) : -1;
}

/*
 * prepareRows, the part that needs no replay's state: DNAT per IP row (services[i], or -1) and, with
 * `shards` above 1, the shard each row belongs to (lane_of[i]; non-IP rows: shard 0), for rows [lo, hi).
 * It rewrites the batch's addresses, so it runs once per row however many lanes there are. Never inlined
 * (it runs once a batch): bench/cachegrind.ts tells DNAT's instructions apart by this name.
 */
__attribute__((noinline)) void replay_prepare(const ns_nat *nat, ns_batch *b, uint32_t lo, uint32_t hi, uint32_t shards,
                                              int32_t *services, uint8_t *lane_of) {
  int with_nat = nat->params[NAT_PARAM_COUNT] > 0;
  if (!with_nat && shards <= 1) {
    /* No Service and one lane: the loop below cost 11 instructions a row for this (cachegrind). */
    for (uint32_t i = lo; i < hi; i++) services[i] = -1;
    return;
  }
  /* The columns in locals: the compiler reloaded each from the batch after every store otherwise. */
  const uint8_t *family = b->family, *proto = b->proto;
  const uint32_t *src = b->src, *dst = b->dst;
  const ns_vip_filter *f = nat->vips;
  for (uint32_t i = lo; i < hi; i++) {
    uint32_t fam = family[i], pr = proto[i];
    services[i] = with_nat && may_meet_service(f, fam, pr, src + (size_t)i * 4, dst + (size_t)i * 4) ? nat_lookup(nat, b, i, fam, pr) : -1;
    if (shards > 1) lane_of[i] = row_shard(b, i, shards); /* after DNAT: the backend's address counts */
  }
}

void shard_rows(const ns_batch *b, uint32_t n, uint32_t shards, uint8_t *out) {
  for (uint32_t i = 0; i < n; i++) out[i] = row_shard(b, i, shards);
}

static inline int32_t row_hash(const ns_batch *b, uint32_t i) {
  return symmetric_hash(b->src + (size_t)i * 4, b->dst + (size_t)i * 4, b->srcPort[i], b->dstPort[i], b->proto[i]);
}

/* stage.ts connectionOf: later fragments are not attributed; ICMP errors join the flow they quote. */
static int32_t connection_of(ns_replay *r, uint32_t i, int32_t file, int64_t hinted) {
  ns_batch *b = r->b;
  uint8_t flags = b->flags[i];
  if ((flags & ROW_LATER_FRAGMENT) != 0) {
    r->stats[RS_LATER_FRAGMENTS] += 1;
    return -1;
  }
  if ((flags & ROW_ICMP_ERROR) != 0) {
    r->stats[RS_ICMP_ERRORS] += 1;
    uint32_t fp = ((uint32_t)b->family[i] << 8) | b->innerProto[i];
    int32_t quoted = conns_find(r->conns, fp, b->innerSrc + (size_t)i * 4, b->innerDst + (size_t)i * 4,
                                b->innerSrcPort[i], b->innerDstPort[i]);
    if (quoted >= 0) return quoted;
  }
  /* hint_row hashes rows keyed by their own tuple only: an ICMP error arrives here with no hint. */
  return conns_lookup_or_add(r->conns, b, i, file, hinted >= 0 ? (int32_t)hinted : row_hash(b, i));
}

/*
 * Rows whose tracker tuple fixes their connection key (conntrack.cc packet_key_into against
 * connections.ts): ported protocols' tuples are the key's fields (addresses, protocol, both ports) in
 * either direction; an ICMP echo's hold its addresses and identifier, which decode puts in both ports.
 * Every packet of such an entry belongs to the connection of the packet that first linked it.
 */
static inline int tallied(const ns_batch *b, uint32_t i) {
  uint32_t proto = b->proto[i];
  return proto == 6 || proto == 17 || proto == 132 || proto == 136 || (b->flags[i] & ROW_ICMP_ECHO) != 0;
}

static void tally_flush(ns_replay *r, ns_tally *t) {
  ns_conn_record *h = &r->conns->records[t->conn - 1];
  h->packets += (double)t->packets;
  h->bytes += (double)t->bytes;
  h->dropped += (double)t->dropped;
  t->packets = t->bytes = t->dropped = 0;
  t->conn = 0;
}

void replay_entry_removed(ns_replay *r, int32_t e) {
  ns_tally *t = &r->tally[e];
  if (t->conn != 0) tally_flush(r, t);
}

void replay_flush(ns_replay *r) {
  for (size_t e = 0; e < r->ct->expires_len; e++) replay_entry_removed(r, (int32_t)e);
}

/*
 * groupRow: IP row i counted into its connection (packets, bytes, dropped; the Service on opening), its
 * tracker entry `entry` (or -1) as the row left it. When that entry already knows its connection, the
 * row is counted to the entry's tally instead (same sums, added later); else it is looked up, and links
 * the entry to the connection found. Rows are looked up in row order, so connections open in the
 * order TypeScript opens them, and a connection's first row is always counted to its record directly.
 */
static void account_row(ns_replay *r, uint32_t i, int32_t file, int32_t entry, int64_t hinted) {
  ns_batch *b = r->b;
  ns_tally *t = NULL;
  /* A row with an entry is keyed by its own tuple: ct_track leaves none for a later fragment or an ICMP
     error (stage.ts connectionOf). */
  if (entry >= 0 && tallied(b, i)) {
    t = &r->tally[entry];
    if (t->conn != 0) {
      t->packets += 1;
      t->bytes += b->wireLength[i];
      t->dropped += b->verdict[i] == VERDICT_DROP;
      return;
    }
  }
  int32_t c = connection_of(r, i, file, hinted);
  if (c < 0) return;
  if (t) t->conn = c + 1;
  ns_conn_record *h = &r->conns->records[c];
  if (h->packets == 0 && r->services[i] >= 0) r->conns->service[c] = r->services[i];
  h->packets += 1;
  h->bytes += b->wireLength[i];
  if (b->verdict[i] == VERDICT_DROP) h->dropped += 1;
}

/*
 * How many rows ahead replay_lane prefetches a row's tracker home slot; half as many ahead, it reads
 * that slot. Chosen by measurement on the bench's traffic (1M packets, small tier, medians of 13 fresh
 * processes): 16 rows gave 1.10x over no hints; 32 rows, and prefetching all of the entry's arrays
 * too, gave less. Its tuple alone, the line the lookup compares, helps (hint_row).
 */
enum { HINT_AHEAD = 16, HINT_RING = 64 };

/*
 * Cache hints for row j, HINT_AHEAD / 2 rows ahead of the row being run, its tracker home slot having
 * been prefetched HINT_AHEAD rows ahead (ct_prefetch_slot gave `ct_hash` and built its tuple `key`). A
 * home slot that holds this hash names the entry the lookup will most likely compare first: its tuple
 * is prefetched (perf samples had a sixth of ct_track's time waiting on it in same_tuple; 11% after),
 * and -1 returned. A home slot that is empty, or holds another flow's hash (the lookup never reads that
 * entry's tuple: it compares hashes first), means a flow the tracker most likely does not hold: the row
 * will look its connection up and, accepted, enter the tracker, so the row's connection hash is returned
 * (account_row takes it) and its index slot prefetched, and so is the home slot of the reply tuple that
 * ct_confirm will place (perf: 70% of ct_confirm's samples waited on that load), and the model's
 * decision-cache slot (hot.h model_prefetch_decision). That slot's load had been the loop's costliest:
 * perf, small tier, eBPF, 15% of its samples, 2% once prefetched (13.8% and 2.1% at the stress tier).
 * Both builds in one process, replays alternated (2026-11-28, Intel Xeon 2.5 GHz, against 834ed58; the trial build also had
 * 5e697a4's integer tallies): eBPF 1.04x at the small, real and stress tiers; iptables 1.04x at the small tier,
 * and at the real tier 1.06x for two lines over one. Each such row hashes its flow once more
 * (cachegrind, small tier: eBPF 704.7 -> 721.9 instructions a packet, iptables 920.7 against 906.4 before
 * both changes; valgrind does not model prefetches, so its miss counts do not move).
 */
static NS_INLINE int64_t hint_row(ns_replay *r, uint32_t j, int64_t ct_hash, const uint32_t *key) {
  /* ct_prefetch_slot hashes only IP rows that are not later fragments, malformed or ICMP errors: rows
     whose own tuple keys their connection (stage.ts connectionOf). */
  if (ct_hash < 0) return -1;
  const ns_conntrack *ct = r->ct;
  uint32_t mask = (uint32_t)ct->params[CT_PARAM_TABLE_MASK];
  const int32_t *home = ct->slots + 2 * ((uint32_t)ct_hash & mask);
  if (home[0] != 0 && (uint32_t)home[1] == (uint32_t)ct_hash) {
    __builtin_prefetch(ct_tuple_of(ct, home[0] - 1));
    return -1;
  }
  int64_t reply = ct_reply_hash(key);
  if (reply >= 0) __builtin_prefetch(ct->slots + 2 * ((uint32_t)reply & mask));
  int32_t h = row_hash(r->b, j);
  __builtin_prefetch(&r->conns->slots[((uint32_t)h & r->conns->mask) * 2]);
  model_prefetch_decision(r->model, &r->m, r->b, j);
  return (int64_t)(uint32_t)h;
}

/*
 * The batch's record counters, once its rows have run: non-IP rows, and of the IP rows the malformed,
 * the accepted and the dropped. One pass over three byte columns, which the compiler vectorises; counted
 * row by row in replay_lane's loop they cost 19 instructions a packet (cachegrind), each column's pointer
 * read again after every byte stored.
 */
static void count_rows(const ns_batch *b, uint32_t n, uint32_t *non_ip, uint32_t *malformed, uint32_t *accepted,
                       uint32_t *dropped) {
  const uint8_t *family = b->family, *flags = b->flags, *verdict = b->verdict;
  uint32_t other = 0, bad = 0, yes = 0, no = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t ip = family[i] != 0;
    other += !ip;
    bad += ip & ((flags[i] & ROW_MALFORMED) != 0);
    /* A non-IP row's verdict is VERDICT_NONE: neither. */
    yes += verdict[i] == VERDICT_ACCEPT;
    no += verdict[i] == VERDICT_DROP;
  }
  *non_ip = other;
  *malformed = bad;
  *accepted = yes;
  *dropped = no;
}

/*
 * runModel and groupRow, row by row: every row through the model (non-IP rows leave the tracker as it
 * was), each IP row then into its connection while its tracker entry is known; the verdicts counted
 * once the batch has run (count_rows). The hints run ahead in a ring, as walk.cc run_prefetching does
 * for the tracker alone.
 */
void replay_lane(ns_replay *r, uint32_t n, int32_t file_index) {
  ns_batch *b = r->b;
  uint32_t orphans = 0;
  const uint32_t d = HINT_AHEAD, d2 = HINT_AHEAD / 2, m = HINT_RING - 1;
  int64_t ct_ring[HINT_RING], conn_ring[HINT_RING];
  uint32_t key_ring[HINT_RING][TUPLE_WORDS]; /* each row's tracker tuple, built once, for ct_track */
  for (uint32_t j = 0; j < d && j < n; j++) ct_ring[j & m] = ct_prefetch_slot(r->ct, b, j, key_ring[j & m]);
  for (uint32_t j = 0; j < d2 && j < n; j++) conn_ring[j & m] = hint_row(r, j, ct_ring[j & m], key_ring[j & m]);
  ct_set_owner(r);
  for (uint32_t i = 0; i < n; i++) {
    if (i + d < n) ct_ring[(i + d) & m] = ct_prefetch_slot(r->ct, b, i + d, key_ring[(i + d) & m]);
    if (i + d2 < n) conn_ring[(i + d2) & m] = hint_row(r, i + d2, ct_ring[(i + d2) & m], key_ring[(i + d2) & m]);
    orphans += run_row(r->model, &r->m, r->ct, b, i, ct_ring[i & m], key_ring[i & m]);
    if (b->family[i] == 0) {
      b->verdict[i] = VERDICT_NONE;
      continue;
    }
    account_row(r, i, file_index, ct_row_entry(), conn_ring[i & m]);
  }
  ct_set_owner(NULL);
  uint32_t non_ip, malformed, accepted, dropped;
  count_rows(b, n, &non_ip, &malformed, &accepted, &dropped);
  /* prepareRows' record counters */
  r->stats[RS_PACKETS] += n;
  r->stats[RS_NON_IP] += non_ip;
  r->stats[RS_IP] += n - non_ip;
  r->stats[RS_MALFORMED] += malformed;
  r->stats[RS_ORPHANS] += orphans;
  r->stats[RS_ACCEPTED] += accepted;
  r->stats[RS_DROPPED] += dropped;
  r->stats[RS_CONNECTIONS] = r->conns->count;
  r->stats[RS_OVERFLOW] = r->conns->overflow;
  if (r->prefault) prefault_progress(r->prefault, (uint32_t)r->ct->meta[META_FRESH], r->conns->count);
}

void replay_rows(ns_replay *r, uint32_t n, int32_t file_index) {
  replay_prepare(r->nat, r->b, 0, n, 1, r->services, NULL);
  replay_lane(r, n, file_index);
}

int replay_failed(const ns_replay *r) { return r->conns->failed ? -1 : 0; }
