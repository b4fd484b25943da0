/*
 * src/replay/shard.ts shardOf in C: a row's lane of `n` from its address pair and protocol, the same for
 * both directions. replay.cc shards decoded rows with it; walk.cc's split walk shards plain IPv4 records
 * straight from their bytes (shard_v4_spread), which must give the same lane (test/native/shard.test.ts).
 */
#ifndef NETSIEVE_SHARD_H
#define NETSIEVE_SHARD_H
#include <stdint.h>

/* shard.ts mixWords: four independent multiplies (Math.imul, as uint32). */
static inline uint32_t shard_mix_words(const uint32_t *w) {
  return (w[0] ^ 0x9e3779b9u) * 0x85ebca6bu ^ w[1] * 0xc2b2ae35u ^ w[2] * 0x27d4eb2du ^ w[3] * 0x165667b1u;
}

/* shard.ts shardOf's end before the remainder: the two ends' mixes summed (h), with the protocol. */
static inline uint32_t shard_spread(uint32_t h, uint32_t proto) {
  uint32_t m = (h ^ proto) * 0x27d4eb2du;
  m = (m ^ (m >> 15)) * 0x85ebca6bu;
  return (m ^ (m >> 13)) >> 1;
}

/* ... and to a lane of n. */
static inline uint32_t shard_finish(uint32_t h, uint32_t proto, uint32_t n) { return shard_spread(h, proto) % n; }

/* An IPv4 pair's spread: shard_mix_words of (a, 0, 0, 0) is its first multiply alone. */
static inline uint32_t shard_v4_spread(uint32_t src, uint32_t dst, uint32_t proto) {
  return shard_spread((src ^ 0x9e3779b9u) * 0x85ebca6bu + (dst ^ 0x9e3779b9u) * 0x85ebca6bu, proto);
}

/* The remainder of a spread by n, `pow2_mask` n - 1 when n is a power of two (a mask, not a division), else 0. */
static inline uint32_t shard_of_spread(uint32_t spread, uint32_t n, uint32_t pow2_mask) {
  return pow2_mask ? spread & pow2_mask : spread % n;
}

#endif
