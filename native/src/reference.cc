/*
 * The reference model's per-flow memory in C (hot.h ns_reference), as src/replay/verdict-cache.ts keeps
 * it in TypeScript: open addressing over the flow's key laid out as a conntrack tuple (hash_tuple), at
 * most half full, doubled as it fills, started again empty past REF_MAX_FLOWS (a cache: the evaluator
 * decides a flow the same again). The evaluator itself stays in TypeScript: a replay asks it once per
 * flow, a few thousand times in a million packets of the bench's traffic.
 */
#include <stdlib.h>
#include <string.h>
#include "ct-key.h"

enum { REF_FIRST_SLOTS = 4096, REF_MAX_FLOWS = 1 << 19 };

static int ref_alloc(ns_reference *r, uint32_t slots) {
  uint32_t *keys = (uint32_t *)calloc((size_t)slots * TUPLE_WORDS, sizeof(uint32_t));
  int32_t *hashes = (int32_t *)calloc(slots, sizeof(int32_t));
  uint8_t *verdicts = (uint8_t *)calloc(slots, 1);
  if (!keys || !hashes || !verdicts) {
    free(keys);
    free(hashes);
    free(verdicts);
    return 0;
  }
  r->keys = keys;
  r->hashes = hashes;
  r->verdicts = verdicts;
  r->mask = slots - 1;
  r->size = 0;
  return 1;
}

int reference_init(ns_reference *r) { return ref_alloc(r, REF_FIRST_SLOTS); }

void reference_free(ns_reference *r) {
  free(r->keys);
  free(r->hashes);
  free(r->verdicts);
  r->keys = NULL;
  r->hashes = NULL;
  r->verdicts = NULL;
}

/* evaluate.ts hasPolicyPort: the protocols whose destination port NetworkPolicy matches. */
static inline int policy_ports(uint32_t proto) { return proto == 6 || proto == 17 || proto == 132; }

/* What the evaluator reads of row i (models.ts referenceModel: family, addresses, protocol, port). */
static inline void flow_key(uint32_t *k, const ns_batch *b, uint32_t i) {
  memcpy(k, b->src + (size_t)i * 4, 16);
  memcpy(k + 4, b->dst + (size_t)i * 4, 16);
  uint32_t proto = b->proto[i];
  k[PROTO_WORD] = ((uint32_t)b->family[i] << 8) | proto;
  k[PORT_WORD] = policy_ports(proto) ? b->dstPort[i] : 0;
}

static uint32_t free_slot(const ns_reference *r, uint32_t h) {
  uint32_t s = h & r->mask;
  while (r->verdicts[s] != 0) s = (s + 1) & r->mask;
  return s;
}

static void put(ns_reference *r, uint32_t s, const uint32_t *k, uint32_t h, uint8_t verdict) {
  memcpy(r->keys + (size_t)s * TUPLE_WORDS, k, TUPLE_WORDS * sizeof(uint32_t));
  r->hashes[s] = (int32_t)h;
  r->verdicts[s] = (uint8_t)(verdict + 1);
  r->size++;
}

/* Room for one more flow: doubled, or started again past REF_MAX_FLOWS. 0: out of memory. */
static int make_room(ns_reference *r) {
  if ((r->size + 1) * 2 <= r->mask + 1) return 1;
  ns_reference old = *r;
  uint32_t slots = old.mask + 1 >= 2u * REF_MAX_FLOWS ? (uint32_t)REF_FIRST_SLOTS : 2 * (old.mask + 1);
  if (!ref_alloc(r, slots)) {
    *r = old;
    return 0;
  }
  if (slots > old.mask + 1) {
    for (uint32_t s = 0; s <= old.mask; s++) {
      if (old.verdicts[s] == 0) continue;
      uint32_t h = (uint32_t)old.hashes[s];
      put(r, free_slot(r, h), old.keys + (size_t)s * TUPLE_WORDS, h, (uint8_t)(old.verdicts[s] - 1));
    }
  }
  reference_free(&old);
  return 1;
}

void reference_classify_row(ns_reference *r, ns_batch *b, uint32_t i) {
  if (r->waiting && __atomic_load_n(r->waiting, __ATOMIC_ACQUIRE)) r->serve(r->desk);
  b->cost[i] = 0;
  b->decidedBy[i] = -1;
  uint8_t family = b->family[i], ct = b->ctState[i];
  if (family != 4 && family != 6) {
    b->verdict[i] = VERDICT_NONE;
    return;
  }
  if (ct == CT_ESTABLISHED || ct == CT_RELATED) {
    b->verdict[i] = VERDICT_ACCEPT;
    return;
  }
  if (ct == CT_INVALID) {
    b->verdict[i] = VERDICT_DROP;
    return;
  }
  uint32_t k[TUPLE_WORDS];
  flow_key(k, b, i);
  uint32_t h = hash_tuple(k);
  for (uint32_t s = h & r->mask; r->verdicts[s] != 0; s = (s + 1) & r->mask) {
    if ((uint32_t)r->hashes[s] == h && memcmp(r->keys + (size_t)s * TUPLE_WORDS, k, sizeof k) == 0) {
      b->verdict[i] = (uint8_t)(r->verdicts[s] - 1);
      return;
    }
  }
  int v = r->failed ? -1 : r->decide(r->ctx, b, i);
  if (v != VERDICT_DROP && v != VERDICT_ACCEPT) {
    if (!r->failed) r->failed = 1;
    b->verdict[i] = VERDICT_DROP;
    return;
  }
  b->verdict[i] = (uint8_t)v;
  if (!make_room(r)) {
    r->failed = 2;
    return;
  }
  put(r, free_slot(r, h), k, h, (uint8_t)v);
}
