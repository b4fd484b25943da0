/*
 * The eBPF model's per-packet decision in C, step for step as src/match/ebpf.ts (and lpm.ts,
 * hash-table.ts) make it, over the same typed arrays: the ipcache LPM (IPv4: the pod block or the /16
 * table, then where its bits say so a host probe and binary search on /17-/31; IPv6: the full length,
 * then binary search) over a bucketized open-addressing table, then Cilium v1.17's policy map probe order.
 * Cost is counted the same way: every bucket (one 64-byte cache line) read is one probe, and so is every
 * direct-table read, the endpoint -> template read (epTemplate) included. The policy table holds template
 * rows (src/compile/ebpf/README.md "The probe sequence"); entry = row + the endpoint's offset.
 */
#include <string.h>
#include <new>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "hot.h"

/* A connection opening's path (both ipcache lookups, both directions' policy lookups) is inlined into
   ebpf_decide_row (NS_INLINE). */

/* hash-table.ts: buckets of BUCKET_WORDS (layout.h), slots of key words + 1 (the value, int32, -1 empty). */
enum { IPC_SLOT_WORDS = IPCACHE_KEY_WORDS + 1, POL_SLOT_WORDS = POLICY_KEY_WORDS + 1,
       IPC_SLOTS = BUCKET_WORDS / IPC_SLOT_WORDS, POL_SLOTS = BUCKET_WORDS / POL_SLOT_WORDS };
/* lpm.ts DIRECT_BITS, DIRECT_VALUE_MASK, DIRECT_DEEPER, DIRECT_HOST */
enum { DIRECT_BITS = 16 };
#define DIRECT_VALUE_MASK 0x1fffffffu
#define DIRECT_DEEPER 0x20000000u
#define DIRECT_HOST 0x40000000u
/* src/match/ebpf.ts PLEN_BITS, TEMPLATE_SHIFT and POLICY_HASH_MASK: the packed policy map is keyed per
 * template {identity, template << 5 | plen, proto/port} and hashes {identity, word 1 without the plen}. */
#define PLEN_BITS 0x1fu
enum { TEMPLATE_SHIFT = 5 };
static const uint32_t POLICY_HASH_MASK[POLICY_KEY_WORDS] = {0xffffffffu, ~PLEN_BITS, 0u};
static const uint32_t IPCACHE_HASH_MASK[IPCACHE_KEY_WORDS] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};

/* murmur3's 32-bit finaliser over the key words, each ANDed with its mask (hash-table.ts hashWords). */
static inline uint32_t hash_words(const uint32_t *w, const uint32_t *mask, int count, uint32_t seed) {
  uint32_t h = seed;
  for (int i = 0; i < count; i++) {
    uint32_t k = (w[i] & mask[i]) * 0xcc9e2d51u;
    k = rotl32(k, 15);
    h ^= k * 0x1b873593u;
    h = rotl32(h, 13);
    h = h * 5u + 0xe6546b64u;
  }
  h ^= (uint32_t)count * 4u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

static inline uint32_t bucket_mask(size_t words_len) { return (uint32_t)(words_len / BUCKET_WORDS) - 1; }

/* OpenHashTable.lookup on the ipcache: bucket after bucket until the key or an empty slot; counts buckets. */
static int32_t ipc_table_lookup(ns_ebpf *p, const uint32_t *key) {
  uint32_t mask = bucket_mask(p->ipcSlots_len);
  uint32_t b = hash_words(key, IPCACHE_HASH_MASK, IPCACHE_KEY_WORDS, p->params[EBPF_PARAM_IPC_SEED]) & mask;
  for (;; b = (b + 1) & mask) {
    p->probes[0] += 1;
    const uint32_t *slot = p->ipcSlots + (size_t)b * BUCKET_WORDS;
    for (int s = 0; s < IPC_SLOTS; s++, slot += IPC_SLOT_WORDS) {
      int32_t v = (int32_t)slot[IPCACHE_KEY_WORDS];
      if (v < 0) return -1;
      int same = 1;
      for (int w = 0; w < IPCACHE_KEY_WORDS; w++) same &= slot[w] == key[w];
      if (same) return v;
    }
  }
}

/* Key: {family << 8 | prefix, address masked to the prefix} (lpm.ts writeKey). */
static inline void ipcache_key(uint32_t *key, uint32_t family, int32_t prefix, const uint32_t *addr) {
  key[0] = (family << 8) | (uint32_t)prefix;
  for (int w = 0; w < 4; w++) {
    int32_t bits = prefix - 32 * w;
    uint32_t mask = bits >= 32 ? 0xffffffffu : bits <= 0 ? 0u : 0xffffffffu << (32 - bits);
    key[1 + w] = addr[w] & mask;
  }
}

/* LpmTable.search: binary search on prefix lengths (Waldvogel et al.): a hit, prefix or marker, means
 * "this key's best, or longer", a miss "shorter". */
static int32_t ipcache_search(ns_ebpf *p, uint32_t family, const int32_t *lengths, size_t count, const uint32_t *addr) {
  uint32_t key[IPCACHE_KEY_WORDS];
  int32_t lo = 0, hi = (int32_t)count - 1, found = -1;
  while (lo <= hi) {
    int32_t mid = (lo + hi) >> 1;
    ipcache_key(key, family, lengths[mid], addr);
    int32_t slot = ipc_table_lookup(p, key);
    if (slot < 0) { hi = mid - 1; continue; }
    found = p->ipcBest[slot];
    lo = mid + 1;
  }
  return found;
}

/* LpmTable.lookup, IPv4: one direct read, the pod block's or the /16 table's; the /16 entry's bits send
 * it on to the host probe and the /17-/31 search. IPv6: the full length first, then the search. */
static NS_INLINE int32_t ipcache_lookup(ns_ebpf *p, uint32_t family, const uint32_t *addr) {
  uint32_t key[IPCACHE_KEY_WORDS];
  if (family != 4) {
    if (p->params[EBPF_PARAM_HAS_HOST6]) {
      ipcache_key(key, family, 128, addr);
      int32_t slot = ipc_table_lookup(p, key);
      if (slot >= 0) return p->ipcBest[slot];
    }
    return ipcache_search(p, family, p->ipcLengths6, p->ipcLengths6_len, addr);
  }
  p->probes[0] += 1; /* the direct-table read */
  uint32_t in_block = addr[0] - p->params[EBPF_PARAM_POD_BASE];
  if (in_block < p->params[EBPF_PARAM_POD_SIZE]) return p->ipcPods[in_block] - 1;
  uint32_t d = (uint32_t)p->ipcDirect[addr[0] >> (32 - DIRECT_BITS)];
  if (d & DIRECT_HOST) {
    ipcache_key(key, 4, 32, addr);
    int32_t slot = ipc_table_lookup(p, key);
    if (slot >= 0) return p->ipcBest[slot];
  }
  int32_t found = (d & DIRECT_DEEPER) ? ipcache_search(p, 4, p->ipcLengths4, p->ipcLengths4_len, addr) : -1;
  return found >= 0 ? found : (int32_t)(d & DIRECT_VALUE_MASK) - 1;
}

/*
 * What an opening's lookups read per ipcache entry (endpoint, identity, node) and, past the isolation
 * check, per endpoint and direction (masks, template, entries' offset), one record each, packed from the
 * bound arrays at bind: in the arrays each field was a cache line of its own. An endpoint's flags and
 * node stay in their small arrays, which every opening reads whether or not the endpoint is isolated.
 * Classification alone (every packet an opening), one process, in turns, 8 rounds: small tier 1.04x
 * (quartiles 1.00-1.07), large 1.15x (1.03-1.15), stress 1.05x (1.05-1.09); the replay within noise
 * (bench/NOTES.md, 2026-11-28).
 */
struct ns_ipc_row {
  int32_t endpoint, identity, node, unused;
};
struct alignas(32) ns_ep_row {
  uint32_t mask[4];   /* epMask: per direction, L3 then L4 */
  int32_t templ[4];   /* epTemplate: per direction, the template then the entries' offset */
};

int ebpf_pack(ns_ebpf *p) {
  size_t entries = p->ipcEndpoint_len, endpoints = p->epFlags_len;
  if (p->ipcIdentity_len < entries || p->ipcNode_len < entries || p->epNode_len < endpoints || p->epMask_len < endpoints * 4 ||
      p->epTemplate_len < endpoints * 4) return EBPF_PACK_SHORT;
  uint32_t decisions = p->params[EBPF_PARAM_DECISIONS];
  if ((decisions & (decisions - 1)) != 0) return EBPF_PACK_SHORT;
  p->ipcRows = new (std::nothrow) ns_ipc_row[entries > 0 ? entries : 1];
  p->epRows = new (std::nothrow) ns_ep_row[endpoints > 0 ? endpoints : 1];
  p->decisions = decisions > 0 ? new (std::nothrow) ns_decision[decisions]() : nullptr;
  p->decisionMask = decisions > 0 ? decisions - 1 : 0;
  if (!p->ipcRows || !p->epRows || (decisions > 0 && !p->decisions)) {
    ebpf_unpack(p);
    return EBPF_PACK_NO_MEMORY;
  }
  for (size_t e = 0; e < entries; e++) p->ipcRows[e] = ns_ipc_row{p->ipcEndpoint[e], p->ipcIdentity[e], p->ipcNode[e], 0};
  for (size_t ep = 0; ep < endpoints; ep++) {
    ns_ep_row *r = &p->epRows[ep];
    for (int k = 0; k < 4; k++) {
      r->mask[k] = p->epMask[ep * 4 + k];
      r->templ[k] = p->epTemplate[ep * 4 + k];
    }
  }
  return EBPF_PACK_OK;
}

void ebpf_unpack(ns_ebpf *p) {
  delete[] p->ipcRows;
  delete[] p->epRows;
  delete[] p->decisions;
  p->ipcRows = nullptr;
  p->epRows = nullptr;
  p->decisions = nullptr;
}

static inline uint32_t key_word2(uint32_t proto, uint32_t dport, uint32_t plen) {
  if (plen == PLEN_ANY) return 0;
  if (plen <= PLEN_PROTO) return proto << 16;
  uint32_t port_mask = (0xffffu << (PLEN_FULL - plen)) & 0xffffu;
  return (proto << 16) | (dport & port_mask);
}

#if defined(__SSE2__)
static_assert(POL_SLOTS == 4 && POL_SLOT_WORDS == 4, "bucket_slots reads a bucket as four slots of four words");

/*
 * Of the four slots of a policy bucket: those that hold {identity, template} (bit s for slot s), and
 * those whose value is negative, empty: the lookup's compares, four slots at once, instead of a compare
 * and a branch per slot, whose outcome varies from bucket to bucket. Classification alone (every packet
 * an opening), in one process in turns, 8 rounds: 1.07x at the small tier, 1.09x at the stress tier,
 * where buckets hold more of other pairs' rows (bench/NOTES.md, 2026-11-28).
 */
static inline void bucket_slots(const uint32_t *bucket, uint32_t identity, uint32_t template_id, uint32_t *match, uint32_t *empty) {
  __m128i r0 = _mm_loadu_si128((const __m128i *)bucket), r1 = _mm_loadu_si128((const __m128i *)(bucket + 4));
  __m128i r2 = _mm_loadu_si128((const __m128i *)(bucket + 8)), r3 = _mm_loadu_si128((const __m128i *)(bucket + 12));
  /* Transposed: word w of every slot in one vector (identities, template words, values). */
  __m128i lo01 = _mm_unpacklo_epi32(r0, r1), lo23 = _mm_unpacklo_epi32(r2, r3);
  __m128i hi01 = _mm_unpackhi_epi32(r0, r1), hi23 = _mm_unpackhi_epi32(r2, r3);
  __m128i ids = _mm_unpacklo_epi64(lo01, lo23), word1 = _mm_unpackhi_epi64(lo01, lo23), values = _mm_unpackhi_epi64(hi01, hi23);
  __m128i same = _mm_and_si128(_mm_cmpeq_epi32(ids, _mm_set1_epi32((int)identity)),
                               _mm_cmpeq_epi32(_mm_srli_epi32(word1, TEMPLATE_SHIFT), _mm_set1_epi32((int)template_id)));
  *match = (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(same));
  *empty = (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(values)); /* the values' sign bits */
}
#endif

/*
 * lookupLongest: every row of {identity, template} is in one run of buckets (the hash leaves out the
 * plen, protocol and port); of those whose {proto, port} matches at their own prefix length, the longest
 * wins. The run ends at the first bucket with an empty slot. Returns the template row, and its prefix
 * length in *plen_out (the slot's own, equal to rowPlen[row]: the precedence check reads no other array).
 */
static NS_INLINE int32_t lookup_longest(ns_ebpf *p, uint32_t template_id, uint32_t identity, uint32_t proto, uint32_t dport,
                                        int32_t *plen_out) {
  uint32_t key[POLICY_KEY_WORDS] = {identity, template_id << TEMPLATE_SHIFT, 0};
  uint32_t mask = bucket_mask(p->polSlots_len);
  uint32_t b = hash_words(key, POLICY_HASH_MASK, POLICY_KEY_WORDS, p->params[EBPF_PARAM_POLICY_SEED]) & mask;
  int32_t best = -1;
  int32_t best_plen = -1;
  for (;; b = (b + 1) & mask) {
    p->probes[1] += 1;
#if defined(__SSE2__)
    const uint32_t *bucket = p->polSlots + (size_t)b * BUCKET_WORDS;
    uint32_t match, empty;
    bucket_slots(bucket, identity, template_id, &match, &empty);
    /* The matching slots before the first empty one, in slot order: an empty slot ends the run. */
    uint32_t live = empty != 0 ? (empty & (0u - empty)) - 1 : (1u << POL_SLOTS) - 1;
    for (uint32_t m = match & live; m != 0; m &= m - 1) {
      const uint32_t *slot = bucket + POL_SLOT_WORDS * (uint32_t)__builtin_ctz(m);
      int32_t plen = (int32_t)(slot[1] & PLEN_BITS);
      if (plen > best_plen && slot[2] == key_word2(proto, dport, (uint32_t)plen)) {
        best = (int32_t)slot[POLICY_KEY_WORDS];
        best_plen = plen;
      }
    }
    if (empty != 0) { *plen_out = best_plen; return best; }
#else
    const uint32_t *slot = p->polSlots + (size_t)b * BUCKET_WORDS;
    int s = 0;
    for (; s < POL_SLOTS; s++, slot += POL_SLOT_WORDS) {
      int32_t v = (int32_t)slot[POLICY_KEY_WORDS];
      if (v < 0) break; /* an empty slot ends the run */
      if (slot[0] != identity || (slot[1] >> TEMPLATE_SHIFT) != template_id) continue; /* another pair in the bucket */
      int32_t plen = (int32_t)(slot[1] & PLEN_BITS);
      if (plen > best_plen && slot[2] == key_word2(proto, dport, (uint32_t)plen)) { best = v; best_plen = plen; }
    }
    if (s < POL_SLOTS) { *plen_out = best_plen; return best; }
#endif
  }
}

/*
 * Whether template row `row` denies: rowDeny is read only when the program has deny rows at all (never
 * for v1 NetworkPolicy), so a lookup reads nothing past its buckets, as Cilium's reads the deny bit from
 * the policy entry it found. At the stress tier rowDeny is 49 MB and each read a last-level miss on the
 * decision's critical path: classification alone 1.045x there (24 rounds in turns, one process), 1.01x
 * at the small and real tiers (bench/NOTES.md, 2026-11-28 08:18).
 */
static inline int row_denies(const ns_ebpf *p, int32_t row) {
  return p->params[EBPF_PARAM_HAS_DENY] && p->rowDeny[row] == 1;
}

/* Cilium v1.17 __policy_can_access: L3 lookup, then L4-only; deny, then longer prefix, then L3 wins. Returns
 * the deciding template row or -1; the endpoint -> template read (epTemplate) is one probe when a lookup is made. */
static NS_INLINE int32_t lookup_policy(ns_ebpf *p, uint32_t ep, uint32_t dir, uint32_t remote, uint32_t proto, uint32_t dport) {
  const ns_ep_row *r = &p->epRows[ep];
  uint32_t l3_mask = r->mask[dir * 2], l4_mask = r->mask[dir * 2 + 1];
  if ((l3_mask | l4_mask) == 0) return -1;
  p->probes[1] += 1;
  uint32_t template_id = (uint32_t)r->templ[dir * 2];
  int32_t l3_plen = -1, l4_plen = -1;
  int32_t l3 = l3_mask == 0 ? -1 : lookup_longest(p, template_id, remote, proto, dport, &l3_plen);
  if (l3 >= 0 && row_denies(p, l3)) return l3;
  int32_t l4 = l4_mask == 0 ? -1 : lookup_longest(p, template_id, IDENTITY_ANY, proto, dport, &l4_plen);
  if (l4 >= 0 && (row_denies(p, l4) || l3 < 0 || l4_plen > l3_plen)) return l4;
  return l3;
}

/* One direction at one endpoint: 1 when it allows; *entry gets the deciding entry or stays -1. */
static NS_INLINE int decide_direction(ns_ebpf *p, int32_t ep, uint32_t dir, uint32_t remote, uint32_t proto, uint32_t dport,
                            int32_t *entry) {
  if (ep < 0) return 1;
  uint8_t isolated = dir == DIR_INGRESS ? EP_INGRESS_ISOLATED : EP_EGRESS_ISOLATED;
  if ((p->epFlags[ep] & isolated) == 0) return 1; /* policy enforcement "default": not isolated, allowed */
  int32_t row = lookup_policy(p, (uint32_t)ep, dir, remote, proto, dport);
  if (row < 0) return 0;
  /* The endpoint's entry index: its template row plus its map's offset (hits stay per endpoint entry). */
  int32_t e = row + p->epRows[ep].templ[dir * 2 + 1];
  *entry = e;
  ebpf_count_hit(p, e);
  return !row_denies(p, row);
}

static inline int own_node(const ns_ebpf *p, int32_t endpoint, int32_t node) {
  return endpoint >= 0 && node >= 0 && p->epNode[endpoint] == node;
}

/* decideOpening: returns the verdict, *decided the entry (ingress first) when accepted by one; the entries
   each direction found (and counted a hit to) in *eg_entry and *in_entry, or -1. */
static NS_INLINE uint8_t decide_opening(ns_ebpf *p, uint32_t family, const uint32_t *src, const uint32_t *dst, uint32_t proto,
                              uint32_t dport, int32_t *decided, int32_t *eg_entry, int32_t *in_entry) {
  int32_t s = ipcache_lookup(p, family, src);
  int32_t d = ipcache_lookup(p, family, dst);
  const ns_ipc_row *sr = s >= 0 ? &p->ipcRows[s] : NULL, *dr = d >= 0 ? &p->ipcRows[d] : NULL;
  int32_t src_ep = sr ? sr->endpoint : -1;
  int32_t dst_ep = dr ? dr->endpoint : -1;
  *decided = *eg_entry = *in_entry = -1;
  /* A pod to its own address never reaches the datapath (lo inside the pod). */
  if (p->params[EBPF_PARAM_ALLOW_LOOPBACK] && src_ep >= 0 && src[0] == dst[0] && src[1] == dst[1] &&
      src[2] == dst[2] && src[3] == dst[3]) return VERDICT_ACCEPT;
  int node_traffic = p->params[EBPF_PARAM_ALLOW_NODE_TRAFFIC] &&
      (own_node(p, dst_ep, sr ? sr->node : -1) || own_node(p, src_ep, dr ? dr->node : -1));
  uint32_t src_id = sr ? (uint32_t)sr->identity : 0;
  uint32_t dst_id = dr ? (uint32_t)dr->identity : 0;
  if (!decide_direction(p, src_ep, DIR_EGRESS, node_traffic ? (uint32_t)IDENTITY_HOST : dst_id, proto, dport, eg_entry))
    return VERDICT_DROP; /* dropped at the source's egress: never reaches the destination's ingress */
  if (!decide_direction(p, dst_ep, DIR_INGRESS, node_traffic ? (uint32_t)IDENTITY_HOST : src_id, proto, dport, in_entry))
    return VERDICT_DROP;
  *decided = *in_entry >= 0 ? *in_entry : *eg_entry;
  return VERDICT_ACCEPT;
}

/* hot.h ebpf_classify_row, past conntrack and the decision cache: the lookups, and the decision cached. */
void ebpf_decide_row(ns_ebpf *p, ns_batch *b, uint32_t i, uint32_t flow, ns_decision *slot) {
  b->decidedBy[i] = -1;
  b->cost[i] = 0;
  if (flow == 0) { b->verdict[i] = VERDICT_NONE; return; }
  uint32_t family = flow >> 24, proto = (flow >> 16) & 0xff, dport = flow & 0xffff;
  const uint32_t *src = b->src + (size_t)i * 4, *dst = b->dst + (size_t)i * 4;
  double ipc_before = p->probes[0], policy_before = p->probes[1];
  int32_t decided, egress, ingress;
  uint8_t verdict = decide_opening(p, family, src, dst, proto, dport, &decided, &egress, &ingress);
  double ipc = p->probes[0] - ipc_before, policy = p->probes[1] - policy_before;
  b->verdict[i] = verdict;
  b->cost[i] = (uint32_t)(ipc + policy);
  b->decidedBy[i] = decided;
  /* A decision of more probes than a slot counts (a long ipcache search is about ten) is not cached. */
  if (slot && ipc <= 0xffff && policy <= 0xffff) {
    flow_key_store(&slot->key, src, dst, flow);
    slot->decided = decided;
    slot->egress = egress;
    slot->ingress = ingress;
    slot->ipcProbes = (uint16_t)ipc;
    slot->policyProbes = (uint16_t)policy;
    slot->verdict = verdict;
  }
}

/*
 * OpenHashTable.insertBatch (hash-table.ts): keys[0, count * key_words) with values[0, count) placed in
 * that order, each as `insert` does it (the first slot of its run that is empty or holds the same key),
 * so the table is the one TypeScript builds, word for word. The TypeScript loop waits for every bucket
 * it reads (about 190 ns a key in the real tier's 64 MiB policy table, 1.73M rows); here each key's home
 * bucket is hashed and prefetched PLACE_AHEAD keys before it is placed. Returns the keys that took an
 * empty slot, or -1 when the table is full.
 */
enum { PLACE_AHEAD = 16 };

/* A key's home bucket, its line prefetched for the write to come. */
static inline uint32_t home_prefetched(uint32_t *words, const uint32_t *key, uint32_t key_words, const uint32_t *hash_mask,
                                       uint32_t seed, uint32_t mask) {
  uint32_t b = hash_words(key, hash_mask, (int)key_words, seed) & mask;
  __builtin_prefetch(words + (size_t)b * BUCKET_WORDS, 1);
  return b;
}

int64_t hash_table_place(uint32_t *words, size_t words_len, uint32_t key_words, uint32_t seed, const uint32_t *hash_mask,
                         const uint32_t *keys, const int32_t *values, uint32_t count) {
  const uint32_t slot_words = key_words + 1, slots = BUCKET_WORDS / slot_words, mask = bucket_mask(words_len);
  uint32_t home[PLACE_AHEAD];
  int64_t added = 0;
  for (uint32_t j = 0; j < PLACE_AHEAD && j < count; j++)
    home[j] = home_prefetched(words, keys + (size_t)j * key_words, key_words, hash_mask, seed, mask);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t b = home[i % PLACE_AHEAD];
    uint32_t ahead = i + PLACE_AHEAD;
    if (ahead < count) home[i % PLACE_AHEAD] = home_prefetched(words, keys + (size_t)ahead * key_words, key_words, hash_mask, seed, mask);
    const uint32_t *key = keys + (size_t)i * key_words;
    int placed = 0;
    for (uint32_t n = 0; n <= mask && !placed; n++, b = (b + 1) & mask) {
      uint32_t *slot = words + (size_t)b * BUCKET_WORDS;
      for (uint32_t s = 0; s < slots; s++, slot += slot_words) {
        int empty = (int32_t)slot[key_words] < 0;
        if (!empty && memcmp(slot, key, key_words * 4) != 0) continue;
        added += empty;
        memcpy(slot, key, key_words * 4);
        slot[key_words] = (uint32_t)values[i];
        placed = 1;
        break;
      }
    }
    if (!placed) return -1;
  }
  return added;
}
