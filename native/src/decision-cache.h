/*
 * The native models' decision caches, and the eBPF hit counting they share with ebpf.cc. An eBPF
 * opening's decision (ebpf.cc decide_opening) reads nothing of the packet but {family, source,
 * destination, protocol, destination port}, and the tables do not change during a replay; so a flow
 * decided once is decided again from here: the same verdict and deciding entry, the same probes counted
 * and the same entries' hits added, without the lookups. Cilium looks the policy up again for every
 * opening (a denied SYN sent again, a new connection between the same pods), and netsieve counts the
 * probes as if it had. The iptables model's walks are cached the same way (ns_walk_memo, iptables.cc).
 *
 * Direct-mapped: a slot holds the last flow that hashed there. The eBPF check is inline here, ahead of
 * the call into ebpf.cc: a hit is a few dozen instructions, and the call's prologue alone saved six
 * registers (cachegrind). The bench's traffic has about 3,200 distinct flows at every tier for 0.1 to
 * 0.3 openings a packet (bench/NOTES.md, 2026-11-28 12:06).
 */
#ifndef NETSIEVE_DECISION_CACHE_H
#define NETSIEVE_DECISION_CACHE_H
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "layout.h"

/* A flow as a cache slot keys it: both addresses and a word of the rest (0: an empty slot). */
struct ns_flow_key {
  uint32_t src[4], dst[4];
  uint32_t flow;
};

struct alignas(64) ns_decision {
  ns_flow_key key; /* flow: ebpf_flow_word */
  int32_t decided, egress, ingress;
  uint16_t ipcProbes, policyProbes;
  uint8_t verdict;
};

/*
 * The iptables model's walk, cached the same way (iptables.cc): a walk reads of the packet its addresses,
 * protocol, destination port and conntrack state (and the mark, which starts at 0), and it adds a packet
 * and its bytes to every rule it matches, so a slot keeps those rules. Four lines a slot: an opening's
 * walk matches FORWARD's jump, the isolation sets', each dispatch level's GOTO, the pod chains' marks and
 * each policy chain's jump and RETURN, 7-13 rules at the small tier and 9-40 at the real tier's 14k
 * policies (a slot of 20 left a third of those uncached); a walk that matches more is not cached.
 */
enum { IPT_MEMO_RULES = 52 };
struct alignas(64) ns_walk_memo {
  ns_flow_key key; /* flow: ipt_flow_word */
  int32_t decided;
  uint32_t cost;
  uint8_t verdict, count;
  int32_t rules[IPT_MEMO_RULES];
};
static_assert(sizeof(ns_decision) == 64 && sizeof(ns_walk_memo) == 256, "one line a decision, four a walk");

/*
 * The walk cache's key word of a row of `family` in conntrack state `ct`: family, state, protocol and
 * destination port, with bit 31 set (so never 0, an empty slot's); 0 for rows not cached: an established
 * or related packet's walk is FORWARD's jump and the conntrack ACCEPT, two rules, cheaper than a slot, and
 * an invalid one's three.
 */
static inline uint32_t ipt_flow_word(uint32_t family, uint32_t ct, uint32_t proto, uint32_t dport) {
  if (ct != CT_NEW && ct != CT_UNTRACKED) return 0;
  return 0x80000000u | (uint32_t)(family == 6) << 30 | ct << 24 | proto << 16 | dport;
}

/*
 * A hit counted into an array the lanes of a replay share (EBPF_PARAM_SHARED_HITS): an atomic add of a
 * double, by compare-and-swap of its bits. Only on connection-opening packets; one array for all lanes
 * instead of one each spares every lane faulting in its own pages of it (141M entries at the stress tier)
 * and summing them at the end.
 */
static inline void ebpf_add_shared(double *at, double v) {
  uint64_t *word = (uint64_t *)at, seen = __atomic_load_n(word, __ATOMIC_RELAXED), next;
  do {
    double d;
    memcpy(&d, &seen, sizeof d);
    d += v;
    memcpy(&next, &d, sizeof next);
  } while (!__atomic_compare_exchange_n(word, &seen, next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

static inline void ebpf_count_hit(ns_ebpf *p, int32_t e) {
  if (p->params[EBPF_PARAM_SHARED_HITS]) ebpf_add_shared(&p->hits[e], 1);
  else p->hits[e] += 1;
}

/* The flow's word of row i: family, protocol and the destination port the policy keys (Cilium keys
   protocols other than TCP, UDP and SCTP with port 0); 0 for a row that is not IP. */
static inline uint32_t ebpf_flow_word(const ns_batch *b, uint32_t i) {
  uint32_t family = b->family[i], proto = b->proto[i];
  if (family != 4 && family != 6) return 0;
  uint32_t dport = proto == 6 || proto == 17 || proto == 132 ? b->dstPort[i] : 0;
  return (family << 24) | (proto << 16) | dport;
}

/* A flow's slot number under `mask`: multiply-xor over the words that can differ (an IPv4 address is word 0
   alone; `v6`: all four). */
static inline uint32_t flow_slot(const uint32_t *src, const uint32_t *dst, uint32_t flow, int v6, uint32_t mask) {
  uint32_t h = flow * 0x9e3779b1u;
  h = (h ^ src[0]) * 0x85ebca77u;
  h = (h ^ dst[0]) * 0xc2b2ae3du;
  if (v6) {
    for (int w = 1; w < 4; w++) h = ((h ^ src[w]) * 0x85ebca77u ^ dst[w]) * 0xc2b2ae3du;
  }
  h ^= h >> 16;
  return h & mask;
}

static inline ns_decision *ebpf_decision_slot(const ns_ebpf *p, const uint32_t *src, const uint32_t *dst, uint32_t flow) {
  return &p->decisions[flow_slot(src, dst, flow, (flow >> 24) != 4, p->decisionMask)];
}

static inline int flow_key_holds(const ns_flow_key *k, const uint32_t *src, const uint32_t *dst, uint32_t flow) {
  if (k->flow != flow) return 0;
#if defined(__SSE2__)
  __m128i s = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)k->src), _mm_loadu_si128((const __m128i *)src));
  __m128i t = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)k->dst), _mm_loadu_si128((const __m128i *)dst));
  return _mm_movemask_epi8(_mm_and_si128(s, t)) == 0xffff;
#else
  return memcmp(k->src, src, 16) == 0 && memcmp(k->dst, dst, 16) == 0;
#endif
}

static inline void flow_key_store(ns_flow_key *k, const uint32_t *src, const uint32_t *dst, uint32_t flow) {
  memcpy(k->src, src, 16);
  memcpy(k->dst, dst, 16);
  k->flow = flow;
}

/* The slot of row i's flow (`flow`: ebpf_flow_word), or NULL without a cache or for a row that is not IP. */
static inline ns_decision *ebpf_decision_of(const ns_ebpf *p, const ns_batch *b, uint32_t i, uint32_t flow) {
  if (!p->decisions || flow == 0) return nullptr;
  return ebpf_decision_slot(p, b->src + (size_t)i * 4, b->dst + (size_t)i * 4, flow);
}

/* Row i decided from its flow's slot `d`, which holds it: the verdict, cost and deciding entry written and
   the probes and hits counted as the lookups count them. */
static inline void ebpf_decision_replay(ns_ebpf *p, const ns_decision *d, ns_batch *b, uint32_t i) {
  p->probes[0] += d->ipcProbes;
  p->probes[1] += d->policyProbes;
  p->probes[2] += 1;
  if (d->egress >= 0) ebpf_count_hit(p, d->egress);
  if (d->ingress >= 0) ebpf_count_hit(p, d->ingress);
  b->verdict[i] = d->verdict;
  b->cost[i] = (uint32_t)d->ipcProbes + d->policyProbes;
  b->decidedBy[i] = d->decided;
}

#endif
