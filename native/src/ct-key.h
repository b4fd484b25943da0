/*
 * The tracker's tuple of a row and its hash (src/conntrack/keys.ts packetKey, table.ts hashTuple), and the
 * first stage of prefetching a row's lookup. In a header, inline: replay_lane and walk.cc's prefetching
 * loop build every row's tuple and hash a few rows ahead and hand both to ct_track, and a call per row
 * across files cost more than the work (cachegrind).
 */
#ifndef NETSIEVE_CT_KEY_H
#define NETSIEVE_CT_KEY_H
#include <string.h>
#include "hot.h"

/* Tuple words: source address (0-3), destination (4-7), family << 8 | protocol, the two 16-bit "ports". */
enum { PROTO_WORD = 8, PORT_WORD = 9 };

/* The tuple a slot reference names: entry ref >> 1, its original (ref & 1 == 0) or reply tuple. An
   entry's two tuples lie side by side, original first, so that is tuple number ref of the array. */
static inline const uint32_t *ct_tuple_of(const ns_conntrack *ct, int32_t ref) {
  return ct->tuples + (size_t)(uint32_t)ref * TUPLE_WORDS;
}

static inline int is_icmp(uint32_t proto) { return proto == 1 || proto == 58; }
static inline int has_ports(uint32_t proto) { return proto == 6 || proto == 17 || proto == 132 || proto == 136; }

static inline uint32_t hash_round(uint32_t h, uint32_t word) {
  uint32_t x = word * 0xcc9e2d51u;
  x = rotl32(x, 15) * 0x1b873593u;
  h ^= x;
  return rotl32(h, 13) * 5u + 0xe6546b64u;
}

/* table.ts hashTuple: murmur3-style, 30 bits; an IPv4 tuple mixes words 0, 4, 8, 9 only (the rest are 0). */
static inline uint32_t hash_tuple(const uint32_t *w) {
  uint32_t h = 0x9747b28cu;
  if ((w[PROTO_WORD] >> 8) == 4) {
    h = hash_round(hash_round(hash_round(hash_round(h, w[0]), w[4]), w[PROTO_WORD]), w[PORT_WORD]);
  } else {
    for (int k = 0; k < TUPLE_WORDS; k++) h = hash_round(h, w[k]);
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  return h & 0x3fffffffu;
}

/* keys.ts packetKey: row i's tuple (TUPLE_WORDS words) into `out`. */
static inline void packet_key_into(uint32_t *out, const ns_batch *b, uint32_t i) {
  memcpy(out, b->src + (size_t)i * 4, 16);
  memcpy(out + 4, b->dst + (size_t)i * 4, 16);
  uint32_t proto = b->proto[i];
  out[PROTO_WORD] = ((uint32_t)b->family[i] << 8) | proto;
  if (has_ports(proto)) out[PORT_WORD] = ((uint32_t)b->srcPort[i] << 16) | b->dstPort[i];
  else if (is_icmp(proto)) out[PORT_WORD] = ((uint32_t)b->srcPort[i] << 16) | ((uint32_t)b->icmpType[i] << 8) | b->icmpCode[i];
  else out[PORT_WORD] = 0;
}

/*
 * Prefetching for a row a few rows ahead: the table is megabytes, so a lookup's first touch of its home
 * slot, and then of the entry's tuple, misses the cache. Stage 1 (this) builds the row's tuple into `key`
 * and hashes it, prefetches its home slot, and returns the hash (or -1 when ct_track will not look the
 * tuple up); stage 2, later, reads that slot, now cached, and prefetches the entry it names
 * (ct_prefetch_entry). Both are hints: no state changes. The caller hands the hash and the tuple on to
 * ct_track for that row, so neither is built twice.
 */
static inline int64_t ct_prefetch_slot(const ns_conntrack *ct, const ns_batch *b, uint32_t i, uint32_t *key) {
  if (b->family[i] == 0 || (b->flags[i] & (ROW_LATER_FRAGMENT | ROW_MALFORMED | ROW_ICMP_ERROR)) != 0) return -1;
  packet_key_into(key, b, i);
  uint32_t h = hash_tuple(key), s = h & (uint32_t)ct->params[CT_PARAM_TABLE_MASK];
  __builtin_prefetch(ct->slots + 2 * (size_t)s); /* the slot's two halves, one line */
  return h;
}

/*
 * The reply direction of tuple `k` into `out`, but for its "ports" word: the ends swapped, the family
 * and protocol kept (keys.ts replyKey). A ported protocol's reply ports are reply_ports(k); an ICMP
 * query's word takes the inverse type (conntrack.cc reply_key).
 */
static inline void reply_ends_into(uint32_t *out, const uint32_t *k) {
  memcpy(out, k + 4, 16);
  memcpy(out + 4, k, 16);
  out[PROTO_WORD] = k[PROTO_WORD];
}

static inline uint32_t reply_ports(const uint32_t *k) { return (k[PORT_WORD] << 16) | (k[PORT_WORD] >> 16); }

/*
 * The hash of the reply tuple ct_confirm enters for a connection opened by a row whose tuple is `key`,
 * for the ported protocols; -1 for the others (an ICMP query's reply takes the inverse type, left to
 * ct_confirm). A hint: its home slot is prefetched for the rows that will most likely open a connection
 * (replay.cc hint_row).
 */
static inline int64_t ct_reply_hash(const uint32_t *key) {
  if (!has_ports(key[PROTO_WORD] & 0xff)) return -1;
  uint32_t reply[TUPLE_WORDS];
  reply_ends_into(reply, key);
  reply[PORT_WORD] = reply_ports(key);
  return hash_tuple(reply);
}

#endif
