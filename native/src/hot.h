/*
 * The native hot loops: flat functions over the bound groups (layout.h). No allocation and no V8 call per
 * packet; the reference model alone grows its flow cache and asks the evaluator, once per new flow.
 */
#ifndef NETSIEVE_HOT_H
#define NETSIEVE_HOT_H
#include "layout.h"
#include "decision-cache.h"

/* For the steps of a per-packet path whose calls cost more than their bodies (cachegrind). */
#define NS_INLINE inline __attribute__((always_inline))

/* The iptables model: both families (with their rules' checks), the shared sets, and a jump stack per call site. */
typedef struct {
  const ns_ipt_family *v4;
  const ns_ipt_family *v6;
  const uint8_t *v4_checks;
  const uint8_t *v6_checks;
  const ns_ipt_sets *sets;
  int32_t *stack_pc;
  int32_t *stack_end;
  int32_t depth;
  /* iptables_v4_narrow(v4): the IPv4 walk compares one address word per CIDR, not four. */
  int32_t v4_narrow;
  /* The walk cache (decision-cache.h ns_walk_memo; NULL: none), its slot mask, and where it counts the
     walks it decided (cached[0]). */
  struct ns_walk_memo *memo;
  uint32_t memo_mask;
  double *cached;
} ns_iptables;

/* The walk cache's slot of a flow (`flow`: ipt_flow_word, not 0); and row i's, were its conntrack state
   `ct` (NULL: no cache, or a row that is not IP or not cached in that state). */
static inline struct ns_walk_memo *iptables_memo_slot(const ns_iptables *m, const uint32_t *src, const uint32_t *dst, uint32_t flow) {
  return &m->memo[flow_slot(src, dst, flow, (flow >> 30 & 1) != 0, m->memo_mask)];
}
static inline struct ns_walk_memo *iptables_memo_of(const ns_iptables *m, const ns_batch *b, uint32_t i, uint32_t ct) {
  uint32_t family = b->family[i];
  if (!m->memo || (family != 4 && family != 6)) return nullptr;
  uint32_t flow = ipt_flow_word(family, ct, b->proto[i], b->dstPort[i]);
  return flow ? iptables_memo_slot(m, b->src + (size_t)i * 4, b->dst + (size_t)i * 4, flow) : nullptr;
}

/* Per rule of a family (target_len of them): which of its match fields are set, RULE_CHECK_* bits. */
enum { RULE_CHECK_PROTO = 1, RULE_CHECK_CT = 2, RULE_CHECK_MARK = 4, RULE_CHECK_SRC = 8, RULE_CHECK_DST = 16,
       RULE_CHECK_PORTS = 32, RULE_CHECK_SETS = 64 };
void iptables_rule_checks(const ns_ipt_family *f, uint8_t *checks);
/* Whether every rule's source and destination CIDRs have words 1-3 of base and mask zero (the IPv4 table's do). */
int iptables_v4_narrow(const ns_ipt_family *f);

/* The decision of row i past conntrack and the decision cache (decision-cache.h): the lookups (ebpf.cc),
   then cached in `slot` (its flow's, ebpf_decision_of; NULL: none). `flow`: ebpf_flow_word. */
void ebpf_decide_row(ns_ebpf *p, ns_batch *b, uint32_t i, uint32_t flow, ns_decision *slot);
/* ebpf.cc's packed rows of the bound arrays (p->ipcRows, p->epRows), freed by ebpf_unpack: EBPF_PACK_OK, or why not. */
enum { EBPF_PACK_OK = 1, EBPF_PACK_SHORT = 0, EBPF_PACK_NO_MEMORY = -1 };
int ebpf_pack(ns_ebpf *p);
void ebpf_unpack(ns_ebpf *p);
/* The same for the iptables model (src/match/iptables.ts classifyRow). */
void iptables_classify_row(ns_iptables *m, ns_batch *b, uint32_t i);
/* OpenHashTable.insertBatch (src/match/hash-table.ts) over its words: the keys that took an empty slot, or -1 when full. */
int64_t hash_table_place(uint32_t *words, size_t words_len, uint32_t key_words, uint32_t seed, const uint32_t *hash_mask,
                         const uint32_t *keys, const int32_t *values, uint32_t count);

/* src/wire/decode.ts decodePacket: the row's flow fields from its record's bytes in the chunk `b`. */
void decode_row(const uint8_t *b, ns_batch *bt, uint32_t row);

/* src/conntrack/track.ts: track() before the filter, confirm() after it; fragment_verdict per row. */
/* `hash` and `key`: what ct-key.h ct_prefetch_slot gave this row (hash -1, key NULL: none; ct_track builds them). */
void ct_track(ns_conntrack *ct, ns_batch *b, uint32_t i, int64_t hash, const uint32_t *key);
void ct_confirm(ns_conntrack *ct, ns_batch *b, uint32_t i);
/* Cache hints for a row a few rows ahead, stage 2: its entry (stage 1, its home slot: ct-key.h). 1 when
   the home slot holds an entry of the row's hash (the row most likely belongs to it), else 0. */
int ct_prefetch_entry(const ns_conntrack *ct, int64_t hash);

/*
 * The entry the last row given to ct_track/ct_confirm belongs to (-1: none: not tracked, not entered, or
 * removed); and the replay (replay.h) that ct_track/ct_confirm on this thread tell of each entry they
 * remove (NULL: none), through replay_entry_removed.
 */
extern thread_local int32_t ct_current_entry __attribute__((tls_model("initial-exec")));
static inline int32_t ct_row_entry(void) { return ct_current_entry; }
struct ns_replay;
void ct_set_owner(struct ns_replay *r);
void replay_entry_removed(struct ns_replay *r, int32_t e);

/*
 * The reference model (src/replay/models.ts referenceModel) in C: conntrack's verdict on known
 * connections, and on an opening packet the evaluator's verdict for its flow (family, addresses,
 * protocol, the destination port of TCP, UDP and SCTP), kept here per flow (reference.cc). A flow not
 * kept yet is asked of `decide` (the evaluator, in JavaScript, which only the thread that called into the
 * addon can run: a lane on another thread puts its question to that thread, desk.h); a
 * negative answer (it threw) sets `failed`, drops the row and asks no more.
 */
typedef struct {
  uint32_t *keys;     /* TUPLE_WORDS per slot: the flow as a conntrack tuple with the destination port alone */
  int32_t *hashes;
  uint8_t *verdicts;  /* per slot: 0 empty, else the verdict + 1 */
  uint32_t mask, size;
  int (*decide)(void *ctx, const ns_batch *b, uint32_t row);
  void *ctx;
  int failed;         /* 1: decide failed, 2: out of memory */
  /* On lanes: nonzero while another lane's question waits (read atomically), and what answers it. The JS
     thread, running a lane, answers between its rows; `serve` returns at once on any other thread. */
  const int *waiting;
  void (*serve)(void *desk);
  void *desk;
} ns_reference;

/* An empty cache (0: out of memory); and its memory freed. */
int reference_init(ns_reference *r);
void reference_free(ns_reference *r);
/* Verdict, cost and decidedBy of row i, ctState already set (models.ts referenceModel classify). */
void reference_classify_row(ns_reference *r, ns_batch *b, uint32_t i);

/* One model, whichever it is (MODEL_EBPF uses ebpf, MODEL_IPTABLES ipt, MODEL_REFERENCE ref). */
typedef struct {
  ns_ebpf *ebpf;
  ns_iptables *ipt;
  ns_reference *ref;
} ns_model;

/*
 * The eBPF model's verdict when conntrack alone decides it (ebpf.ts classifyRow: an established or
 * related packet passes, an invalid one is dropped, with no policy lookup): 1 with the row's verdict,
 * cost and deciding entry written, else 0. Inline so that run_row spares most rows the call.
 */
static inline int ebpf_decided_by_conntrack(ns_batch *b, uint32_t i) {
  uint8_t family = b->family[i], ct = b->ctState[i];
  static_assert(CT_ESTABLISHED == 1 && CT_RELATED == 2 && CT_INVALID == 3, "one range test below");
  if ((family != 4 && family != 6) || (uint8_t)(ct - CT_ESTABLISHED) > CT_INVALID - CT_ESTABLISHED) return 0;
  b->decidedBy[i] = -1;
  b->cost[i] = 0;
  b->verdict[i] = ct == CT_INVALID ? VERDICT_DROP : VERDICT_ACCEPT;
  return 1;
}

/* Verdict, cost and decidedBy of row i, ctState already set (src/match/ebpf.ts classifyRow): conntrack's, the
   decision cache's, or the lookups'. */
static inline void ebpf_classify_row(ns_ebpf *p, ns_batch *b, uint32_t i) {
  if (ebpf_decided_by_conntrack(b, i)) return;
  uint32_t flow = ebpf_flow_word(b, i);
  ns_decision *d = ebpf_decision_of(p, b, i, flow);
  if (d && flow_key_holds(&d->key, b->src + (size_t)i * 4, b->dst + (size_t)i * 4, flow)) ebpf_decision_replay(p, d, b, i);
  else ebpf_decide_row(p, b, i, flow, d);
}

/*
 * A hint for row j, most likely a connection's opening, a few rows ahead: the line of the model's decision
 * cache it will read (the eBPF decision's), or the first two (the iptables walk's key, verdict and first
 * 20 rules, its state taken to be NEW as an opening's is). No state changes. Always inlined: GCC takes a
 * function of prefetches alone for one without effects and drops the call before it would inline it
 * (its early dead-code pass, from -O1).
 */
static NS_INLINE void model_prefetch_decision(int model, const ns_model *m, const ns_batch *b, uint32_t j) {
  if (model == MODEL_EBPF) {
    const ns_decision *d = ebpf_decision_of(m->ebpf, b, j, ebpf_flow_word(b, j));
    if (d) __builtin_prefetch(d);
  } else if (model == MODEL_IPTABLES) {
    const ns_walk_memo *w = iptables_memo_of(m->ipt, b, j, CT_NEW);
    if (w) {
      __builtin_prefetch(w);
      __builtin_prefetch((const char *)w + 64);
    }
  }
}

/*
 * One row through src/replay/models.ts runRow: conntrack track, the model (a later fragment follows the
 * verdict of its first instead), confirm. Returns 1 for a later fragment dropped for want of a first.
 * `hash` and `key`: the row's ct_prefetch_slot results, when the caller ran it.
 */
static inline uint32_t run_row(int model, ns_model *m, ns_conntrack *ct, ns_batch *b, uint32_t i,
                               int64_t hash = -1, const uint32_t *key = NULL) {
  uint32_t orphan = 0;
  ct_track(ct, b, i, hash, key);
  if ((b->flags[i] & ROW_LATER_FRAGMENT) != 0 && b->family[i] != 0) {
    uint8_t v = ct->fragmentVerdict[i];
    orphan = v == FRAGMENT_WITHOUT_FIRST;
    b->verdict[i] = v == VERDICT_ACCEPT ? VERDICT_ACCEPT : VERDICT_DROP;
    b->cost[i] = 0;
    b->decidedBy[i] = -1;
  } else if (model == MODEL_EBPF) {
    ebpf_classify_row(m->ebpf, b, i);
  } else if (model == MODEL_IPTABLES) {
    iptables_classify_row(m->ipt, b, i);
  } else {
    reference_classify_row(m->ref, b, i);
  }
  /* Most rows neither start a connection nor are a first fragment: no call (hot path). */
  if (ct->pending[i] != 0 || (b->flags[i] & ROW_FIRST_FRAGMENT) != 0) ct_confirm(ct, b, i);
  return orphan;
}

/*
 * A classic pcap walk over one chunk (walk.cc): the chunk, the next record and the end of valid bytes,
 * the file's byte order and sub-second unit, link type, the captured-length limit, the index of the
 * first record of this call, and whether to decode. bad_caplen: -1, or the damaged record's length.
 */
typedef struct {
  const uint8_t *buf;
  uint32_t pos, end;
  int le;
  uint32_t subsec_mul;
  uint32_t link_type;
  uint32_t limit;
  double first_index;
  int decode;
  uint32_t prefetch; /* walk_run: rows ahead to prefetch conntrack slots for (0: no prefetching) */
  int64_t bad_caplen;
} ns_walk;

/* Rows [0, returned) of b from whole records at w->pos (w->pos advanced past them). */
uint32_t walk_classic(ns_walk *w, ns_batch *b, uint32_t cap);
/* The same, each row also decoded and run through run_row; later fragments without a first added to *orphans. */
uint32_t walk_run(ns_walk *w, ns_batch *b, uint32_t cap, int model, ns_model *m, ns_conntrack *ct, uint32_t *orphans);

/* A classic pcap record's header: its bytes. */
enum { PCAP_RECORD_HEADER = 16 };
/* The Service address filter's bits (ns_vip_filter below): 2^VIP_BITS_LOG2 for IPv4, 2^VIP6_BITS_LOG2 for IPv6. */
enum { VIP_BITS_LOG2 = 18, VIP_WORDS = (1 << VIP_BITS_LOG2) / 64, VIP6_BITS_LOG2 = 16, VIP6_WORDS = (1 << VIP6_BITS_LOG2) / 64 };
/*
 * The Service address filter. IPv4: the range the Services' IPv4 addresses span (ClusterIPs come from
 * one service CIDR, so pod and node addresses lie outside it: a subtract and a compare, no memory), then
 * a bit per address hash within it. IPv6: a bit per address hash (four multiplies), instead of the two
 * hashed probes of the Service table an IPv6 row took (181 instructions a packet on IPv6 traffic to one
 * Service, cachegrind).
 */
struct ns_vip_filter {
  uint32_t lo, span; /* an address a is in the range when a - lo <= span */
  uint64_t bits[VIP_WORDS];
  uint64_t bits6[VIP6_WORDS];
};
/* The filter of `nat`'s Service addresses into f. */
void vip_filter_build(const ns_nat *nat, ns_vip_filter *f);
/* The bit of IPv4 address a in the filter (Fibonacci hashing to VIP_BITS_LOG2 bits). */
static inline uint32_t vip_bit(uint32_t a) { return (a * 0x9e3779b1u) >> (32 - VIP_BITS_LOG2); }
/* 0: no IPv4 Service has address a; 1: one may have. */
static inline int vip_maybe(const ns_vip_filter *f, uint32_t a) {
  if (a - f->lo > f->span) return 0;
  uint32_t k = vip_bit(a);
  return (int)((f->bits[k >> 6] >> (k & 63)) & 1);
}
/* The bit of IPv6 address w[0..3] in the filter. */
static inline uint32_t vip6_bit(const uint32_t *w) {
  return ((w[0] * 0x9e3779b1u) ^ (w[1] * 0x85ebca6bu) ^ (w[2] * 0xc2b2ae35u) ^ (w[3] * 0x27d4eb2du)) >> (32 - VIP6_BITS_LOG2);
}
/* 0: no IPv6 Service has address w[0..3]; 1: one may have. */
static inline int vip6_maybe(const ns_vip_filter *f, const uint32_t *w) {
  uint32_t k = vip6_bit(w);
  return (int)((f->bits6[k >> 6] >> (k & 63)) & 1);
}
/*
 * Lanes' split walk (walk.cc). walk_sort: the whole records at w->pos, at most cap (w->pos advanced past
 * them, w->bad_caplen set at a damaged header): each one's offset, and its lane of `shards` as its bytes
 * tell it, or -1, *untold of them (`vips`: the NAT handle's Service address filter, NULL without Services).
 * lane_records: of those n records, the indices of those lane `lane` must look at (its own and the untold)
 * into `mine`, in order; returns how many. walk_lane: of the records mine[0, m) (w: their bytes and the
 * window's first record index), lane `lane` decodes its own into rows [0, returned) of b, at most cap,
 * with their Services; *used entries of `mine` were used (m unless b filled).
 */
uint32_t walk_sort(ns_walk *w, uint32_t *offsets, int8_t *lane_of, uint32_t cap, const ns_vip_filter *vips, uint32_t shards, uint32_t *untold);
uint32_t lane_records(const int8_t *lane_of, uint32_t n, uint32_t lane, uint32_t *mine);
uint32_t walk_lane(const ns_walk *w, const uint32_t *offsets, const int8_t *lane_of, const uint32_t *mine, uint32_t m, uint32_t *used,
                   ns_batch *b, uint32_t cap, int32_t *services, const ns_nat *nat, uint32_t lane, uint32_t shards);

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
#endif
