/*
 * The iptables model's table walk in C, as src/match/iptables.ts walks it (and the kernel's
 * ipt_do_table): rules in order, JUMP pushes a return point, GOTO does not, RETURN pops (in the builtin
 * chain it applies the chain's ACCEPT policy), ACCEPT and DROP end the walk, MARK edits the mark and
 * continues. Same cost (rules evaluated), decidedBy and per-rule packet/byte counters.
 */
#include <string.h>
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

/*
 * NARROW: words 1-3 of base and mask are zero (iptables_v4_narrow), so they match any address and only
 * word 0 is compared: an IPv4 packet's CIDR tests in the IPv4 table.
 */
template <int NARROW> static inline int cidr_matches(const uint32_t *base, const uint32_t *mask, const uint32_t *addr) {
  if (NARROW) return (addr[0] & mask[0]) == base[0];
  return (addr[0] & mask[0]) == base[0] && (addr[1] & mask[1]) == base[1] && (addr[2] & mask[2]) == base[2] &&
         (addr[3] & mask[3]) == base[3];
}

int iptables_v4_narrow(const ns_ipt_family *f) {
  size_t rules = f->target_len;
  if (f->srcBase_len < rules * 4 || f->srcMask_len < rules * 4 || f->dstBase_len < rules * 4 || f->dstMask_len < rules * 4) return 0;
  for (size_t r = 0; r < rules; r++) {
    for (int w = 1; w < 4; w++) {
      if ((f->srcBase[r * 4 + w] | f->srcMask[r * 4 + w] | f->dstBase[r * 4 + w] | f->dstMask[r * 4 + w]) != 0) return 0;
    }
  }
  return 1;
}

/*
 * Which match fields each rule sets, computed once when a family is bound. A rule sets one or two of its
 * seven (a conntrack state, or a set and a port); testing each field for "unset" read seven per-rule
 * arrays, seven cache lines, for every rule walked.
 */
void iptables_rule_checks(const ns_ipt_family *f, uint8_t *checks) {
  for (size_t r = 0; r < f->target_len; r++) {
    uint8_t c = 0;
    if (r < f->proto_len && f->proto[r] != 0) c |= RULE_CHECK_PROTO;
    if (r < f->ctMask_len && f->ctMask[r] != 0) c |= RULE_CHECK_CT;
    if (r < f->markMask_len && f->markMask[r] != 0) c |= RULE_CHECK_MARK;
    if (r < f->srcPrefix_len && f->srcPrefix[r] >= 0) c |= RULE_CHECK_SRC;
    if (r < f->dstPrefix_len && f->dstPrefix[r] >= 0) c |= RULE_CHECK_DST;
    if (r < f->portCount_len && f->portCount[r] > 0) c |= RULE_CHECK_PORTS;
    if (r < f->setCount_len && f->setCount[r] > 0) c |= RULE_CHECK_SETS;
    checks[r] = c;
  }
}

/* What the rules test of the packet, read from the batch once per walk rather than once per rule. */
typedef struct {
  const uint32_t *src, *dst;
  uint32_t proto, dport, ct_bit;
} packet_view;

/* A rule's match fields in the TypeScript's order (iptables.ts ruleMatches); `checks` says which are set. */
template <int NARROW>
static inline int rule_matches(const ns_iptables *m, const ns_ipt_family *f, uint8_t checks, int32_t r,
                               const packet_view *v, uint32_t mark) {
  if (checks == 0) return 1;
  if ((checks & RULE_CHECK_PROTO) && f->proto[r] != v->proto) return 0;
  if ((checks & RULE_CHECK_CT) && (f->ctMask[r] & v->ct_bit) == 0) return 0;
  if ((checks & RULE_CHECK_MARK) && (mark & f->markMask[r]) != f->markValue[r]) return 0;
  const uint32_t *src = v->src, *dst = v->dst;
  uint32_t proto = v->proto, dport = v->dport;
  if ((checks & RULE_CHECK_SRC) && !cidr_matches<NARROW>(f->srcBase + (size_t)r * 4, f->srcMask + (size_t)r * 4, src)) return 0;
  if ((checks & RULE_CHECK_DST) && !cidr_matches<NARROW>(f->dstBase + (size_t)r * 4, f->dstMask + (size_t)r * 4, dst)) return 0;
  if (checks & RULE_CHECK_PORTS) {
    int32_t p_start = f->portStart[r], p_end = p_start + f->portCount[r];
    int hit = 0;
    for (int32_t p = p_start; p < p_end && !hit; p++) hit = dport >= f->portLo[p] && dport <= f->portHi[p];
    if (!hit) return 0;
  }
  if (checks & RULE_CHECK_SETS) {
    int32_t s_end = f->setStart[r] + f->setCount[r];
    for (int32_t s = f->setStart[r]; s < s_end; s++) {
      int in = set_contains(m->sets, (uint32_t)f->setId[s], f->setDir[s] == 0 ? src : dst, proto, dport);
      if (in == (f->setNeg[s] == 1)) return 0;
    }
  }
  return 1;
}

/*
 * The table walk, the one hot loop (kept whole, as in the TS). With `trail` (a walk to be cached), the
 * rules it matches, in order, while they fit: *matched counts them all.
 */
template <int NARROW> static void walk(ns_iptables *m, const ns_ipt_family *f, const uint8_t *checks, ns_batch *b, uint32_t i,
                                       int32_t *trail = nullptr, uint32_t *matched = nullptr) {
  int32_t entry = f->params[IPT_PARAM_ENTRY];
  int32_t pc = f->chainStart[entry], end = f->chainEnd[entry], sp = 0, accepted = -1, decided = -1;
  uint32_t mark = 0, cost = 0;
  uint8_t verdict = VERDICT_ACCEPT; /* builtin chain policy (every builtin chain is ACCEPT) */
  const packet_view v = {b->src + (size_t)i * 4, b->dst + (size_t)i * 4, b->proto[i], b->dstPort[i], 1u << b->ctState[i]};
  const double wire = b->wireLength[i];
  for (;;) {
    if (pc >= end) {
      if (sp == 0) break; /* fell off the builtin chain: its policy */
      sp--;
      pc = m->stack_pc[sp];
      end = m->stack_end[sp];
      continue;
    }
    cost++;
    if (!rule_matches<NARROW>(m, f, checks[pc], pc, &v, mark)) { pc++; continue; }
    f->packets[pc] += 1;
    f->bytes[pc] += wire;
    if (trail) {
      if (*matched < IPT_MEMO_RULES) trail[*matched] = pc;
      *matched += 1;
    }
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

static void walk_family(ns_iptables *m, ns_batch *b, uint32_t i, uint32_t family, int32_t *trail, uint32_t *matched) {
  /* In a narrow table words 1-3 of every mask are zero, so they match whatever the packet holds there. */
  if (family == 4 && m->v4_narrow) walk<1>(m, m->v4, m->v4_checks, b, i, trail, matched);
  else if (family == 4) walk<0>(m, m->v4, m->v4_checks, b, i, trail, matched);
  else walk<0>(m, m->v6, m->v6_checks, b, i, trail, matched);
}

/* The cached walk again: its rules' packet and byte counters added, its verdict, cost and deciding rule. */
static void walk_replay(ns_iptables *m, const ns_walk_memo *w, ns_batch *b, uint32_t i, uint32_t family) {
  const ns_ipt_family *f = family == 4 ? m->v4 : m->v6;
  const double wire = b->wireLength[i];
  for (uint32_t k = 0; k < w->count; k++) {
    f->packets[w->rules[k]] += 1;
    f->bytes[w->rules[k]] += wire;
  }
  b->verdict[i] = w->verdict;
  b->cost[i] = w->cost;
  b->decidedBy[i] = w->decided;
  m->cached[0] += 1;
}

void iptables_classify_row(ns_iptables *m, ns_batch *b, uint32_t i) {
  uint8_t family = b->family[i];
  if (family != 4 && family != 6) {
    b->verdict[i] = VERDICT_NONE;
    b->cost[i] = 0;
    b->decidedBy[i] = -1;
    return;
  }
  uint32_t flow = m->memo ? ipt_flow_word(family, b->ctState[i], b->proto[i], b->dstPort[i]) : 0;
  if (flow == 0) {
    walk_family(m, b, i, family, nullptr, nullptr);
    return;
  }
  const uint32_t *src = b->src + (size_t)i * 4, *dst = b->dst + (size_t)i * 4;
  ns_walk_memo *w = iptables_memo_slot(m, src, dst, flow);
  if (flow_key_holds(&w->key, src, dst, flow)) {
    walk_replay(m, w, b, i, family);
    return;
  }
  int32_t trail[IPT_MEMO_RULES];
  uint32_t matched = 0;
  walk_family(m, b, i, family, trail, &matched);
  if (matched > IPT_MEMO_RULES) return;
  flow_key_store(&w->key, src, dst, flow);
  memcpy(w->rules, trail, matched * sizeof trail[0]);
  w->count = (uint8_t)matched;
  w->verdict = b->verdict[i];
  w->cost = b->cost[i];
  w->decided = b->decidedBy[i];
}
