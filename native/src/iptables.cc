/*
 * The iptables model's table walk in C, as src/match/iptables.ts walks it (and the kernel's
 * ipt_do_table): rules in order, JUMP pushes a return point, GOTO does not, RETURN pops (in the builtin
 * chain it applies the chain's ACCEPT policy), ACCEPT and DROP end the walk, MARK edits the mark and
 * continues. Same cost (rules evaluated), decidedBy and per-rule packet/byte counters.
 */
#include "hot.h"

/* iptables-sets.ts hashKey. */
static inline uint32_t set_hash(const uint32_t *k, uint32_t extra) {
  uint32_t h = (extra ^ 0x9e3779b9u) * 0x85ebca6bu;
  for (int w = 0; w < 4; w++) h = rotl32((h ^ k[w]) * 0xcc9e2d51u, 15);
  h ^= h >> 16;
  return (h * 0x85ebca6bu) ^ (h >> 13);
}

static uint8_t probe_set(const ns_ipt_sets *s, uint32_t set, const uint32_t *k, uint32_t extra) {
  uint32_t mask = s->mask[set];
  const uint8_t *state = s->state + s->slotStart[set];
  const uint32_t *keys = s->keys + (size_t)s->slotStart[set] * SET_KEY_WORDS;
  for (uint32_t slot = set_hash(k, extra) & mask;; slot = (slot + 1) & mask) {
    uint8_t st = state[slot];
    if (st == SLOT_EMPTY) return SLOT_EMPTY;
    const uint32_t *key = keys + (size_t)slot * SET_KEY_WORDS;
    if (key[0] == k[0] && key[1] == k[1] && key[2] == k[2] && key[3] == k[3] && key[4] == extra) return st;
  }
}

/* hash:ip exact; hash:ip,port with proto and port; hash:net most specific prefix first, nomatch = out. */
static int set_contains(const ns_ipt_sets *s, uint32_t set, const uint32_t *addr, uint32_t proto, uint32_t port) {
  uint8_t kind = s->kind[set];
  if (kind == SET_IP) return probe_set(s, set, addr, 0) == SLOT_MEMBER;
  if (kind == SET_IPPORT) return probe_set(s, set, addr, (proto << 16) | port) == SLOT_MEMBER;
  uint32_t scratch[4];
  for (uint32_t p = 0; p < s->prefixCount[set]; p++) {
    size_t at = s->prefixStart[set] + p;
    const uint32_t *m = s->prefixMasks + at * 4;
    for (int w = 0; w < 4; w++) scratch[w] = addr[w] & m[w];
    uint8_t st = probe_set(s, set, scratch, (uint32_t)s->prefixes[at]);
    if (st != SLOT_EMPTY) return st == SLOT_MEMBER;
  }
  return 0;
}

static inline int cidr_matches(const uint32_t *base, const uint32_t *mask, const uint32_t *addr) {
  return (addr[0] & mask[0]) == base[0] && (addr[1] & mask[1]) == base[1] && (addr[2] & mask[2]) == base[2] &&
         (addr[3] & mask[3]) == base[3];
}

static int rule_matches(const ns_iptables *m, const ns_ipt_family *f, int32_t r, const ns_batch *b, uint32_t i,
                        uint32_t mark) {
  uint32_t proto = b->proto[i];
  if (f->proto[r] != 0 && f->proto[r] != proto) return 0;
  if (f->ctMask[r] != 0 && (f->ctMask[r] & (1u << b->ctState[i])) == 0) return 0;
  if (f->markMask[r] != 0 && (mark & f->markMask[r]) != f->markValue[r]) return 0;
  const uint32_t *src = b->src + (size_t)i * 4;
  const uint32_t *dst = b->dst + (size_t)i * 4;
  if (f->srcPrefix[r] >= 0 && !cidr_matches(f->srcBase + (size_t)r * 4, f->srcMask + (size_t)r * 4, src)) return 0;
  if (f->dstPrefix[r] >= 0 && !cidr_matches(f->dstBase + (size_t)r * 4, f->dstMask + (size_t)r * 4, dst)) return 0;
  uint32_t dport = b->dstPort[i];
  int32_t p_start = f->portStart[r], p_end = p_start + f->portCount[r];
  if (p_end > p_start) {
    int hit = 0;
    for (int32_t p = p_start; p < p_end && !hit; p++) hit = dport >= f->portLo[p] && dport <= f->portHi[p];
    if (!hit) return 0;
  }
  int32_t s_end = f->setStart[r] + f->setCount[r];
  for (int32_t s = f->setStart[r]; s < s_end; s++) {
    int in = set_contains(m->sets, (uint32_t)f->setId[s], f->setDir[s] == 0 ? src : dst, proto, dport);
    if (in == (f->setNeg[s] == 1)) return 0;
  }
  return 1;
}

/* The table walk, the one hot loop (kept whole, as in the TS). */
static void walk(ns_iptables *m, const ns_ipt_family *f, ns_batch *b, uint32_t i) {
  int32_t entry = f->params[IPT_PARAM_ENTRY];
  int32_t pc = f->chainStart[entry], end = f->chainEnd[entry], sp = 0, accepted = -1, decided = -1;
  uint32_t mark = 0, cost = 0;
  uint8_t verdict = VERDICT_ACCEPT; /* builtin chain policy (every builtin chain is ACCEPT) */
  for (;;) {
    if (pc >= end) {
      if (sp == 0) break; /* fell off the builtin chain: its policy */
      sp--;
      pc = m->stack_pc[sp];
      end = m->stack_end[sp];
      continue;
    }
    cost++;
    if (!rule_matches(m, f, pc, b, i, mark)) { pc++; continue; }
    f->packets[pc] += 1;
    f->bytes[pc] += b->wireLength[i];
    uint8_t target = f->target[pc];
    if (target == TARGET_ACCEPT) { verdict = VERDICT_ACCEPT; decided = accepted >= 0 ? accepted : pc; break; }
    if (target == TARGET_DROP) { verdict = VERDICT_DROP; decided = pc; break; }
    if (target == TARGET_MARK) {
      if ((mark & ACCEPT_MARK) == 0 && (f->targetArg[pc] & f->targetMask[pc] & ACCEPT_MARK) != 0) accepted = pc;
      mark = (mark & ~f->targetMask[pc]) ^ f->targetArg[pc];
      pc++;
    } else if (target == TARGET_JUMP || target == TARGET_GOTO) {
      if (target == TARGET_JUMP) {
        /* The compiler bounds the depth (IptParam DEPTH); a deeper table would be a compiler bug. */
        if (sp >= m->depth) { verdict = VERDICT_DROP; decided = pc; break; }
        m->stack_pc[sp] = pc + 1;
        m->stack_end[sp] = end;
        sp++;
      }
      uint32_t chain = f->targetArg[pc];
      pc = f->chainStart[chain];
      end = f->chainEnd[chain];
    } else if (target == TARGET_RETURN) {
      pc = end; /* handled at the top: pop, or the builtin policy */
    } else {
      pc++;
    }
  }
  b->verdict[i] = verdict;
  b->cost[i] = cost;
  b->decidedBy[i] = decided;
}

void iptables_classify_row(ns_iptables *m, ns_batch *b, uint32_t i) {
  uint8_t family = b->family[i];
  if (family != 4 && family != 6) {
    b->verdict[i] = VERDICT_NONE;
    b->cost[i] = 0;
    b->decidedBy[i] = -1;
    return;
  }
  walk(m, family == 4 ? m->v4 : m->v6, b, i);
}
