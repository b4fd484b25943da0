/*
 * Connection tracking in C over the tracker's own typed arrays (src/conntrack), so a table filled by
 * one engine can be continued by the other. Same tuple layout, hash, probing, recency list, expiry,
 * early drop, TCP transition table (the kernel's tcp_conntracks), UDP/ICMP/SCTP/generic handling,
 * ICMP errors (RELATED) and the first-fragment table. The per-row protocol is track -> filter -> confirm.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "ct-key.h"

enum { ENTRY_WORDS = 2 * TUPLE_WORDS, NIL = -1 };
/* An established packet's path (lookup, the TCP update, the recency list) is inlined into ct_track (NS_INLINE). */

/* Scratch: the packet's tuple (words 0-9) and its reverse (10-19). One per process is enough: the
   addon's calls run to completion on the calling thread; worker threads get their own copy (thread_local;
   initial-exec, as a general-dynamic access through __tls_get_addr showed in profiles). */
static thread_local uint32_t key[2 * TUPLE_WORDS] __attribute__((tls_model("initial-exec")));

/*
 * The hash of the current row's packet tuple, computed once per row: ct_track's lookup, ct_confirm's
 * clash check and the new entry's original-direction slot all hash that same tuple. `row_hash_row` says
 * which row it belongs to (-1: none); a prefetching caller may supply it ahead (ct_track's `hash`).
 */
static thread_local uint32_t row_hash __attribute__((tls_model("initial-exec")));
static thread_local int64_t row_hash_row __attribute__((tls_model("initial-exec"))) = -1;

/*
 * The entry the current row's packet belongs to once tracked and confirmed (NIL: none), and the replay
 * told of every entry removed while it runs (ct_set_owner), so that counts it keeps per entry follow it.
 */
thread_local int32_t ct_current_entry __attribute__((tls_model("initial-exec"))) = -1;
static thread_local struct ns_replay *owner __attribute__((tls_model("initial-exec")));

void ct_set_owner(struct ns_replay *r) { owner = r; }

static inline double now_of(const ns_conntrack *ct) { return ct->now[0]; }


static inline uint32_t *tuple_at(ns_conntrack *ct, int32_t ref) { return (uint32_t *)ct_tuple_of(ct, ref); }

/* Two tuples equal: 40 bytes as two 16-byte and one 8-byte compare (memcmp's inline form compares
   8 bytes at a time, with a branch each). */
static inline int same_tuple(const uint32_t *a, const uint32_t *b) {
#if defined(__SSE2__)
  __m128i d = _mm_or_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)a), _mm_loadu_si128((const __m128i *)b)),
                           _mm_xor_si128(_mm_loadu_si128((const __m128i *)(a + 4)), _mm_loadu_si128((const __m128i *)(b + 4))));
  uint64_t x, y;
  memcpy(&x, a + 8, 8);
  memcpy(&y, b + 8, 8);
  return _mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) == 0xffff && x == y;
#else
  return memcmp(a, b, TUPLE_WORDS * 4) == 0;
#endif
}

static NS_INLINE int32_t find_tuple(ns_conntrack *ct, const uint32_t *k, uint32_t hash) {
  uint32_t mask = (uint32_t)ct->params[CT_PARAM_TABLE_MASK];
  for (uint32_t s = hash & mask;; s = (s + 1) & mask) {
    int32_t r = ct->slots[2 * s];
    if (r == 0) return NIL;
    if ((uint32_t)ct->slots[2 * s + 1] != hash) continue;
    if (same_tuple(tuple_at(ct, r - 1), k)) return r - 1;
  }
}

static void place_slot_hashed(ns_conntrack *ct, int32_t ref, uint32_t hash) {
  uint32_t mask = (uint32_t)ct->params[CT_PARAM_TABLE_MASK];
  uint32_t s = hash & mask;
  while (ct->slots[2 * s] != 0) s = (s + 1) & mask;
  ct->slots[2 * s] = ref + 1;
  ct->slots[2 * s + 1] = (int32_t)hash;
}

static NS_INLINE void link_tail(ns_conntrack *ct, int32_t e) {
  int32_t tail = ct->meta[META_TAIL];
  ct->prev[e] = tail;
  ct->next[e] = NIL;
  if (tail == NIL) ct->meta[META_HEAD] = e;
  else ct->next[tail] = e;
  ct->meta[META_TAIL] = e;
}

static NS_INLINE void unlink_entry(ns_conntrack *ct, int32_t e) {
  int32_t p = ct->prev[e], n = ct->next[e];
  if (p == NIL) ct->meta[META_HEAD] = n;
  else ct->next[p] = n;
  if (n == NIL) ct->meta[META_TAIL] = p;
  else ct->prev[n] = p;
  ct->prev[e] = NIL;
  ct->next[e] = NIL;
}

static int32_t insert_entry(ns_conntrack *ct, const uint32_t *orig, uint32_t orig_hash, const uint32_t *reply) {
  /* table.ts insertEntry: a freed entry first, else the next never-used one (META_FRESH). */
  int32_t e;
  if (ct->meta[META_FREE_TOP] > 0) e = ct->free[--ct->meta[META_FREE_TOP]];
  else if ((size_t)ct->meta[META_FRESH] < ct->expires_len) e = ct->meta[META_FRESH]++;
  else return NIL;
  uint32_t *t = ct->tuples + (size_t)e * ENTRY_WORDS;
  for (int k = 0; k < TUPLE_WORDS; k++) {
    t[k] = orig[k];
    t[TUPLE_WORDS + k] = reply[k];
  }
  /* Reply first: when both tuples are equal (a host talking to itself with no ports, e.g. GRE), a lookup
     then finds the reply direction, as the kernel's does (its reply node sits before the original).
     Hashed from the caller's copy, not the entry's just-written one: that line is usually not in the
     cache yet, and reading it back waited on it (a fifth of ct_confirm's time, perf samples). */
  place_slot_hashed(ct, e * 2 + 1, hash_tuple(reply));
  place_slot_hashed(ct, e * 2, orig_hash);
  link_tail(ct, e);
  ct->meta[META_COUNT]++;
  ct_current_entry = e;
  return e;
}

/*
 * Backward-shift deletion: later members of the probe run move back into the hole unless their home
 * lies cyclically in (hole, s], where moving them would put them before their home.
 */
static void remove_slot(ns_conntrack *ct, int32_t ref) {
  uint32_t mask = (uint32_t)ct->params[CT_PARAM_TABLE_MASK];
  uint32_t hole = hash_tuple(tuple_at(ct, ref)) & mask;
  while (ct->slots[2 * hole] != ref + 1) hole = (hole + 1) & mask;
  for (uint32_t s = (hole + 1) & mask; ct->slots[2 * s] != 0; s = (s + 1) & mask) {
    uint32_t home = (uint32_t)ct->slots[2 * s + 1] & mask;
    int stays = hole <= s ? home > hole && home <= s : home > hole || home <= s;
    if (stays) continue;
    ct->slots[2 * hole] = ct->slots[2 * s];
    ct->slots[2 * hole + 1] = ct->slots[2 * s + 1];
    hole = s;
  }
  ct->slots[2 * hole] = 0;
}

static void remove_entry(ns_conntrack *ct, int32_t e) {
  if (e == ct_current_entry) ct_current_entry = NIL;
  if (owner) replay_entry_removed(owner, e);
  remove_slot(ct, e * 2);
  remove_slot(ct, e * 2 + 1);
  unlink_entry(ct, e);
  ct->free[ct->meta[META_FREE_TOP]++] = e;
  ct->meta[META_COUNT]--;
}

static NS_INLINE void touch_entry(ns_conntrack *ct, int32_t e) {
  if (ct->meta[META_TAIL] == e) return;
  unlink_entry(ct, e);
  link_tail(ct, e);
}

/* state.ts lookup of tuple `k`: entry * 2 + direction, or -1; an expired entry is reaped first. */
static NS_INLINE int32_t lookup(ns_conntrack *ct, const uint32_t *k) {
  int32_t ref = find_tuple(ct, k, row_hash);
  if (ref < 0) return ref;
  int32_t e = ref >> 1;
  if (ct->expires[e] > now_of(ct)) {
    ct_current_entry = e;
    return ref;
  }
  remove_entry(ct, e);
  ct->counters[COUNTER_EXPIRATIONS] += 1;
  return -1;
}

static NS_INLINE void refresh(ns_conntrack *ct, int32_t e, double timeout) {
  ct->expires[e] = now_of(ct) + timeout;
  touch_entry(ct, e);
}

static void delete_entry(ns_conntrack *ct, int32_t e) {
  remove_entry(ct, e);
  ct->counters[COUNTER_DELETES] += 1;
}

/* state.ts makeRoom: the oldest if expired; else early drop: the oldest non-assured among a few; else the oldest. */
static void make_room(ns_conntrack *ct) {
  if ((size_t)ct->meta[META_COUNT] < ct->expires_len) return;
  int32_t oldest = ct->meta[META_HEAD];
  if (ct->expires[oldest] <= now_of(ct)) {
    remove_entry(ct, oldest);
    ct->counters[COUNTER_EXPIRATIONS] += 1;
    return;
  }
  int32_t victim = oldest;
  int n = 0;
  for (int32_t e = oldest; e >= 0 && n < EARLY_DROP_SCAN; e = ct->next[e], n++) {
    if ((ct->status[e] & STATUS_ASSURED) == 0) { victim = e; break; }
  }
  remove_entry(ct, victim);
  ct->counters[COUNTER_EVICTIONS] += 1;
}

/* ---- keys.ts (is_icmp, has_ports and packet_key_into: ct-key.h) ---- */

/* The kernel's ICMP/ICMPv6 invmap: the inverse type + 1, 0 when there is none. */
static uint32_t inverse_icmp_type(int v6, uint32_t type) {
  if (!v6) {
    switch (type) {
      case 8: return 1; case 0: return 9; case 13: return 15; case 14: return 14;
      case 15: return 17; case 16: return 16; case 17: return 19; case 18: return 18;
      default: return 0;
    }
  }
  switch (type) {
    case 128: return 130; case 129: return 129; case 139: return 141; case 140: return 140;
    default: return 0;
  }
}

static void packet_key(const ns_batch *b, uint32_t i) { packet_key_into(key, b, i); }

/* Stage 2 of the prefetching (ct-key.h ct_prefetch_slot is stage 1): reads the row's home slot, now
   cached, and prefetches the entry it names. A hint: no state changes. */
int ct_prefetch_entry(const ns_conntrack *ct, int64_t hash) {
  if (hash < 0) return 0;
  const int32_t *home = ct->slots + 2 * ((uint32_t)hash & (uint32_t)ct->params[CT_PARAM_TABLE_MASK]);
  int32_t r = home[0];
  if (r == 0) return 0;
  int32_t e = (r - 1) >> 1;
  __builtin_prefetch(ct_tuple_of(ct, r - 1));
  /* The entry's fields are in separate arrays (the TS tracker's layout), a cache line each. */
  __builtin_prefetch(ct->expires + e);
  __builtin_prefetch(ct->state + e);
  __builtin_prefetch(ct->status + e);
  __builtin_prefetch(ct->lastIndex + e);
  __builtin_prefetch(ct->lastDir + e);
  __builtin_prefetch(ct->prev + e);
  __builtin_prefetch(ct->next + e);
  return (uint32_t)home[1] == (uint32_t)hash;
}

static int reply_key(void) {
  reply_ends_into(key + TUPLE_WORDS, key);
  uint32_t proto = key[PROTO_WORD] & 0xff, ports = key[PORT_WORD];
  if (is_icmp(proto)) {
    uint32_t inv = inverse_icmp_type(proto == 58, (ports >> 8) & 0xff);
    if (inv == 0) return 0;
    key[TUPLE_WORDS + PORT_WORD] = (ports & 0xffff00ffu) | ((inv - 1) << 8);
  } else {
    key[TUPLE_WORDS + PORT_WORD] = reply_ports(key);
  }
  return 1;
}

static void quoted_reverse_key(const ns_batch *b, uint32_t i) {
  const uint32_t *s = b->innerSrc + (size_t)i * 4, *d = b->innerDst + (size_t)i * 4;
  for (int k = 0; k < 4; k++) { key[k] = d[k]; key[4 + k] = s[k]; }
  uint32_t proto = b->innerProto[i];
  key[PROTO_WORD] = ((uint32_t)b->family[i] << 8) | proto;
  if (has_ports(proto)) key[PORT_WORD] = ((uint32_t)b->innerDstPort[i] << 16) | b->innerSrcPort[i];
  else if (is_icmp(proto)) key[PORT_WORD] = ((uint32_t)b->innerSrcPort[i] << 16) | ((proto == 58 ? 129u : 0u) << 8);
  else key[PORT_WORD] = 0;
}

static void fragment_key(const ns_batch *b, uint32_t i) {
  const uint32_t *s = b->src + (size_t)i * 4, *d = b->dst + (size_t)i * 4;
  for (int k = 0; k < 4; k++) { key[k] = s[k]; key[4 + k] = d[k]; }
  key[PROTO_WORD] = ((uint32_t)b->family[i] << 8) | b->proto[i];
  key[PORT_WORD] = b->fragmentId[i];
}

/* ---- tcp.ts: the kernel's tcp_conntracks, [dir][index][state] ---- */
enum { sNO = TCP_NONE, sSS = TCP_SYN_SENT, sSR = TCP_SYN_RECV, sES = TCP_ESTABLISHED, sFW = TCP_FIN_WAIT,
       sCW = TCP_CLOSE_WAIT, sLA = TCP_LAST_ACK, sTW = TCP_TIME_WAIT, sCL = TCP_CLOSE, sS2 = TCP_SYN_SENT2,
       sIG = TCP_IGNORE, sIV = TCP_INVALID };
static const uint8_t TCP_TABLE[2][6][10] = {
  { /* original */
    /* syn    */ {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2},
    /* synack */ {sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR},
    /* fin    */ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
    /* ack    */ {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV},
    /* rst    */ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
    /* none   */ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV} },
  { /* reply */
    /* syn    */ {sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2},
    /* synack */ {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR},
    /* fin    */ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
    /* ack    */ {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG},
    /* rst    */ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
    /* none   */ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV} },
};

static constexpr uint32_t tcp_index(uint32_t flags) {
  if (flags & 0x04) return TCPI_RST;
  if (flags & 0x02) return flags & 0x10 ? TCPI_SYNACK : TCPI_SYN;
  if (flags & 0x01) return TCPI_FIN;
  if (flags & 0x10) return TCPI_ACK;
  return TCPI_NONE;
}

/* tcp_error: after masking ECE, CWR and PSH only these combinations are valid. */
static constexpr int tcp_flags_valid(uint32_t flags) {
  switch (flags & 0x37) {
    case 0x02: case 0x22: case 0x12: case 0x04: case 0x14: case 0x11: case 0x31: case 0x10: case 0x30: return 1;
    default: return 0;
  }
}

/*
 * Both of the above for every value of the flag bits that count (FIN, SYN, RST, ACK, URG: flags & 0x37),
 * in one load: the flag class, or TCP_FLAGS_INVALID. The branch chain cost a mispredicted branch every
 * few packets on traffic that mixes SYNs, ACKs and FINs.
 */
enum { TCP_FLAGS_INVALID = 0xff };
struct TcpFlagClasses {
  uint8_t of[0x38];
  constexpr TcpFlagClasses() : of() {
    for (uint32_t f = 0; f < 0x38; f++) of[f] = tcp_flags_valid(f) ? (uint8_t)tcp_index(f) : (uint8_t)TCP_FLAGS_INVALID;
  }
};
static constexpr TcpFlagClasses TCP_FLAG_CLASS{};

/* ---- protocols.ts ---- */
static void mark_invalid(ns_conntrack *ct, ns_batch *b, uint32_t i) {
  b->ctState[i] = CT_INVALID;
  ct->counters[COUNTER_INVALID] += 1;
}

/* resolve_normal_ct's ctinfo: reply direction, or a reply seen, is ESTABLISHED. This and seen() are
   branch-free: the direction and the reply bit vary packet to packet. */
static inline uint8_t existing_state(const ns_conntrack *ct, int32_t e, int32_t dir) {
  uint32_t replied = (uint32_t)dir | ((ct->status[e] & STATUS_SEEN_REPLY) != 0);
  return (uint8_t)(CT_NEW + replied * (CT_ESTABLISHED - CT_NEW));
}

static inline void seen(ns_conntrack *ct, int32_t e, int32_t dir) {
  ct->status[e] |= (uint8_t)((uint32_t)dir * STATUS_SEEN_REPLY);
}

static inline void want_new(ns_conntrack *ct, ns_batch *b, uint32_t i, uint32_t state) {
  b->ctState[i] = CT_NEW;
  ct->pending[i] = (uint8_t)(1 + state);
}

/* The in-window part of nf_conntrack_tcp_packet: new state, CLOSE_INIT, ASSURED, timeout. */
static NS_INLINE void tcp_update(ns_conntrack *ct, int32_t e, int32_t dir, uint32_t index, uint32_t old, uint32_t next) {
  const double *t = ct->timeouts;
  ct->lastIndex[e] = (uint8_t)index;
  ct->lastDir[e] = (uint8_t)dir;
  ct->state[e] = (uint8_t)next;
  if (old != next && next == TCP_FIN_WAIT) ct->status[e] |= STATUS_CLOSE_INIT;
  double timeout = index == TCPI_RST ? t[TO_TCP + TCP_CLOSE] : t[TO_TCP + next];
  if ((ct->status[e] & STATUS_SEEN_REPLY) == 0) {
    /* "If only reply is a RST, we can consider ourselves not to have an established connection." */
    if (index == TCPI_RST) { delete_entry(ct, e); return; }
    /* A retransmitted SYN does not renew the timeout. */
    if (index == TCPI_SYN && old == TCP_SYN_SENT) { seen(ct, e, dir); return; }
    /* Picked up mid-stream with no reply yet: no 5-day ESTABLISHED timeout. */
    if (next == TCP_ESTABLISHED && timeout > t[TO_TCP_UNACKNOWLEDGED]) timeout = t[TO_TCP_UNACKNOWLEDGED];
  } else if ((ct->status[e] & STATUS_ASSURED) == 0 && (old == TCP_SYN_RECV || old == TCP_ESTABLISHED) &&
             next == TCP_ESTABLISHED) {
    ct->status[e] |= STATUS_ASSURED;
  }
  refresh(ct, e, timeout);
  seen(ct, e, dir);
}

/* Returns 0 when the entry was deleted so that the packet starts a new connection (-NF_REPEAT). */
static NS_INLINE int tcp_existing(ns_conntrack *ct, ns_batch *b, uint32_t i, int32_t ref, uint32_t index) {
  int32_t e = ref >> 1, dir = ref & 1;
  uint32_t old = ct->state[e];
  uint32_t next = TCP_TABLE[dir][index][old];
  if (next == TCP_SYN_SENT && old >= TCP_TIME_WAIT) {
    /* A SYN on a closed connection reopens it if a FIN closed it, or if this side's last packet was a RST. */
    if ((ct->status[e] & STATUS_CLOSE_INIT) != 0 || (ct->lastDir[e] == dir && ct->lastIndex[e] == TCPI_RST)) {
      delete_entry(ct, e);
      return 0;
    }
    next = TCP_IGNORE;
  }
  b->ctState[i] = existing_state(ct, e, dir);
  if (next == TCP_IGNORE) {
    /* A SYN-ACK answering a SYN the tracker ignored: both ends are in sync, so follow them. */
    if (!(index == TCPI_SYNACK && ct->lastIndex[e] == TCPI_SYN && ct->lastDir[e] != dir)) {
      ct->lastIndex[e] = (uint8_t)index;
      ct->lastDir[e] = (uint8_t)dir;
      seen(ct, e, dir);
      return 1;
    }
    old = TCP_SYN_SENT;
    next = TCP_SYN_RECV;
  }
  if (next == TCP_INVALID) {
    mark_invalid(ct, b, i);
    return 1;
  }
  tcp_update(ct, e, dir, index, old, next);
  return 1;
}

static NS_INLINE void track_tcp(ns_conntrack *ct, ns_batch *b, uint32_t i, const uint32_t *k) {
  uint32_t index = TCP_FLAG_CLASS.of[b->tcpFlags[i] & 0x37];
  if (index == TCP_FLAGS_INVALID) { mark_invalid(ct, b, i); return; }
  int32_t ref = lookup(ct, k);
  if (ref >= 0 && tcp_existing(ct, b, i, ref, index)) return;
  /* tcp_new: a SYN (-> SYN_SENT) or, loose, an ACK (-> ESTABLISHED); a lone SYN-ACK, RST or FIN is INVALID. */
  uint32_t next = TCP_TABLE[0][index][TCP_NONE];
  if (next == TCP_INVALID) { mark_invalid(ct, b, i); return; }
  want_new(ct, b, i, next);
}

/* UDP: 30 s until a reply; replied and older than 2 s: a stream, 120 s and ASSURED. */
static void track_udp(ns_conntrack *ct, ns_batch *b, uint32_t i, const uint32_t *k) {
  int32_t ref = lookup(ct, k);
  if (ref < 0) { want_new(ct, b, i, 0); return; }
  int32_t e = ref >> 1, dir = ref & 1;
  b->ctState[i] = existing_state(ct, e, dir);
  if ((ct->status[e] & STATUS_SEEN_REPLY) != 0 && now_of(ct) > ct->streamAt[e]) {
    ct->status[e] |= STATUS_ASSURED;
    refresh(ct, e, ct->timeouts[TO_UDP_REPLIED]);
  } else {
    refresh(ct, e, ct->timeouts[TO_UDP_UNREPLIED]);
  }
  seen(ct, e, dir);
}

/* ICMP/ICMPv6 queries: only a request that can start a connection creates one; else INVALID. */
static void track_icmp_query(ns_conntrack *ct, ns_batch *b, uint32_t i, const uint32_t *k) {
  int32_t ref = lookup(ct, k);
  int v6 = b->proto[i] == 58;
  double timeout = ct->timeouts[v6 ? TO_ICMPV6 : TO_ICMP];
  if (ref >= 0) {
    int32_t e = ref >> 1;
    b->ctState[i] = existing_state(ct, e, ref & 1);
    refresh(ct, e, timeout);
    seen(ct, e, ref & 1);
    return;
  }
  uint32_t type = b->icmpType[i];
  int starts = v6 ? type == 128 || type == 139 : type == 8 || type == 13 || type == 15 || type == 17;
  if (!starts || inverse_icmp_type(v6, type) == 0) { mark_invalid(ct, b, i); return; }
  want_new(ct, b, i, 0);
}

/*
 * SCTP, simplified as in protocols.ts: only INIT, HEARTBEAT, HEARTBEAT-ACK and SHUTDOWN-ACK (or a row
 * whose chunk was not decoded) may start an association; then COOKIE_WAIT until a reply brings it up.
 */
static void track_sctp(ns_conntrack *ct, ns_batch *b, uint32_t i, const uint32_t *k) {
  int32_t ref = lookup(ct, k);
  if (ref < 0) {
    int chunk = (int)b->sctpChunk[i] - 1;
    int starts = chunk < 0 || chunk == 1 || chunk == 4 || chunk == 5 || chunk == 8;
    if (starts) want_new(ct, b, i, SCTP_COOKIE_WAIT);
    else mark_invalid(ct, b, i);
    return;
  }
  int32_t e = ref >> 1, dir = ref & 1;
  b->ctState[i] = existing_state(ct, e, dir);
  if (dir == 1 || ct->state[e] == SCTP_ESTABLISHED) {
    ct->state[e] = SCTP_ESTABLISHED;
    ct->status[e] |= STATUS_ASSURED;
    refresh(ct, e, ct->timeouts[TO_SCTP_ESTABLISHED]);
  } else {
    refresh(ct, e, ct->timeouts[TO_SCTP_COOKIE_WAIT]);
  }
  seen(ct, e, dir);
}

/* GRE (version 0: addresses alone; 30 s, 180 s once replied, then ASSURED) and any other protocol (600 s). */
static void track_generic(ns_conntrack *ct, ns_batch *b, uint32_t i, const uint32_t *k) {
  int32_t ref = lookup(ct, k);
  if (ref < 0) { want_new(ct, b, i, 0); return; }
  int32_t e = ref >> 1, dir = ref & 1;
  b->ctState[i] = existing_state(ct, e, dir);
  int gre = b->proto[i] == 47;
  int replied = (ct->status[e] & STATUS_SEEN_REPLY) != 0;
  refresh(ct, e, ct->timeouts[!gre ? TO_GENERIC : replied ? TO_GRE_REPLIED : TO_GRE_UNREPLIED]);
  if (gre && replied) ct->status[e] |= STATUS_ASSURED;
  seen(ct, e, dir);
}

/* ---- fragments.ts ---- */
static int32_t find_fragment(ns_conntrack *ct) {
  uint32_t slot = hash_tuple(key) & (uint32_t)ct->params[CT_PARAM_FRAG_MASK];
  if (ct->fragExpires[slot] == 0 || ct->fragExpires[slot] <= now_of(ct)) return -1;
  const uint32_t *k = ct->fragKeys + (size_t)slot * TUPLE_WORDS;
  for (int w = 0; w < TUPLE_WORDS; w++) if (k[w] != key[w]) return -1;
  return (int32_t)slot;
}

static void record_fragment(ns_conntrack *ct, uint8_t verdict, uint8_t state, double expires) {
  uint32_t slot = hash_tuple(key) & (uint32_t)ct->params[CT_PARAM_FRAG_MASK];
  uint32_t *k = ct->fragKeys + (size_t)slot * TUPLE_WORDS;
  for (int w = 0; w < TUPLE_WORDS; w++) k[w] = key[w];
  ct->fragVerdict[slot] = verdict;
  ct->fragCtState[slot] = state;
  ct->fragExpires[slot] = expires;
}

/* ---- track.ts ---- */
static inline void set_now(ns_conntrack *ct, const ns_batch *b, uint32_t i) {
  ct->now[0] = b->tsSec[i] + b->tsNsec[i] * 1e-9;
}

/* nf_conntrack_inet_error: RELATED to the quoted connection when it exists and the error goes to its sender. */
static void track_icmp_error(ns_conntrack *ct, ns_batch *b, uint32_t i) {
  quoted_reverse_key(b, i);
  int32_t ref = find_tuple(ct, key, hash_tuple(key));
  const uint32_t *d = b->dst + (size_t)i * 4, *inner = b->innerSrc + (size_t)i * 4;
  int to_sender = d[0] == inner[0] && d[1] == inner[1] && d[2] == inner[2] && d[3] == inner[3];
  if (ref < 0 || ct->expires[ref >> 1] <= now_of(ct) || !to_sender) { mark_invalid(ct, b, i); return; }
  b->ctState[i] = CT_RELATED;
  ct->counters[COUNTER_RELATED] += 1;
}

static void track_later_fragment(ns_conntrack *ct, ns_batch *b, uint32_t i) {
  fragment_key(b, i);
  int32_t slot = find_fragment(ct);
  if (slot < 0) {
    b->ctState[i] = CT_INVALID;
    ct->fragmentVerdict[i] = FRAGMENT_WITHOUT_FIRST;
    ct->counters[COUNTER_ORPHAN_FRAGMENTS] += 1;
    return;
  }
  b->ctState[i] = ct->fragCtState[slot];
  ct->fragmentVerdict[i] = ct->fragVerdict[slot];
}

void ct_track(ns_conntrack *ct, ns_batch *b, uint32_t i, int64_t hinted_hash, const uint32_t *hinted_key) {
  ct->pending[i] = 0;
  ct_current_entry = NIL;
  set_now(ct, b, i);
  uint8_t flags = b->flags[i];
  if (b->family[i] == 0) { b->ctState[i] = CT_UNTRACKED; return; }
  if (flags & ROW_LATER_FRAGMENT) { track_later_fragment(ct, b, i); return; }
  /* A truncated or inconsistent transport header: the kernel's protocol error handlers call it INVALID. */
  if (flags & ROW_MALFORMED) { mark_invalid(ct, b, i); return; }
  if (flags & ROW_ICMP_ERROR) { track_icmp_error(ct, b, i); return; }
  /* The row's tuple: the prefetching caller's, else built here. */
  const uint32_t *k = hinted_key;
  if (hinted_hash >= 0) {
    row_hash = (uint32_t)hinted_hash;
  } else {
    packet_key(b, i);
    k = key;
    row_hash = hash_tuple(key);
  }
  row_hash_row = i;
  uint32_t proto = b->proto[i];
  if (proto == 6) track_tcp(ct, b, i, k);
  else if (proto == 17 || proto == 136) track_udp(ct, b, i, k);
  else if (is_icmp(proto)) track_icmp_query(ct, b, i, k);
  else if (proto == 132) track_sctp(ct, b, i, k);
  else track_generic(ct, b, i, k);
}

/* The first packet's effect on its new entry: state, last TCP flag class, first timeout. */
static void init_entry(ns_conntrack *ct, const ns_batch *b, uint32_t i, int32_t e, uint32_t state) {
  const double *t = ct->timeouts;
  uint32_t proto = b->proto[i];
  ct->state[e] = (uint8_t)state;
  ct->status[e] = 0;
  ct->lastIndex[e] = (uint8_t)(proto == 6 ? tcp_index(b->tcpFlags[i]) : 0);
  ct->lastDir[e] = 0;
  ct->streamAt[e] = now_of(ct) + t[TO_UDP_STREAM_AFTER];
  double timeout = t[TO_GENERIC];
  if (proto == 6) {
    timeout = t[TO_TCP + state];
    if (state == TCP_ESTABLISHED && timeout > t[TO_TCP_UNACKNOWLEDGED]) timeout = t[TO_TCP_UNACKNOWLEDGED];
  } else if (proto == 17 || proto == 136) timeout = t[TO_UDP_UNREPLIED];
  else if (proto == 1) timeout = t[TO_ICMP];
  else if (proto == 58) timeout = t[TO_ICMPV6];
  else if (proto == 132) timeout = state == SCTP_ESTABLISHED ? t[TO_SCTP_ESTABLISHED] : t[TO_SCTP_COOKIE_WAIT];
  else if (proto == 47) timeout = t[TO_GRE_UNREPLIED];
  ct->expires[e] = now_of(ct) + timeout;
}

/* __nf_conntrack_confirm: a new connection is entered only if its first packet was accepted. */
void ct_confirm(ns_conntrack *ct, ns_batch *b, uint32_t i) {
  if (b->flags[i] & ROW_FIRST_FRAGMENT) {
    fragment_key(b, i);
    record_fragment(ct, b->verdict[i], b->ctState[i], now_of(ct) + ct->timeouts[TO_FRAGMENT]);
  }
  uint8_t pending = ct->pending[i];
  if (pending == 0) return;
  ct->pending[i] = 0;
  if (b->verdict[i] != VERDICT_ACCEPT) return;
  set_now(ct, b, i);
  packet_key(b, i);
  if (!reply_key()) return;
  /* The row's track() hashed this tuple just before (pending is only set after its lookup). */
  uint32_t h = row_hash_row == (int64_t)i ? row_hash : hash_tuple(key);
  row_hash_row = -1;
  /* Another row entered the same connection between this row's track() and now (the kernel's clash). */
  if (find_tuple(ct, key, h) >= 0) {
    ct->counters[COUNTER_CLASHES] += 1;
    return;
  }
  make_room(ct);
  int32_t e = insert_entry(ct, key, h, key + TUPLE_WORDS);
  init_entry(ct, b, i, e, pending - 1u);
  ct->counters[COUNTER_INSERTS] += 1;
}
