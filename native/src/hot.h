/* The native hot loops: flat functions over the bound groups (layout.h). No allocation, no V8 calls. */
#ifndef NETSIEVE_HOT_H
#define NETSIEVE_HOT_H
#include "layout.h"

/* The iptables model: both families, the shared sets, and a jump stack per call site. */
typedef struct {
  const ns_ipt_family *v4;
  const ns_ipt_family *v6;
  const ns_ipt_sets *sets;
  int32_t *stack_pc;
  int32_t *stack_end;
  int32_t depth;
} ns_iptables;

/* Verdict, cost and decidedBy of rows [0, count), ctState already set (src/match/ebpf.ts classifyRow). */
void ebpf_classify_row(ns_ebpf *p, ns_batch *b, uint32_t i);
/* The same for the iptables model (src/match/iptables.ts classifyRow). */
void iptables_classify_row(ns_iptables *m, ns_batch *b, uint32_t i);

/* src/wire/decode.ts decodePacket: the row's flow fields from its record's bytes in the chunk `b`. */
void decode_row(const uint8_t *b, ns_batch *bt, uint32_t row);

/* src/conntrack/track.ts: track() before the filter, confirm() after it; fragment_verdict per row. */
void ct_track(ns_conntrack *ct, ns_batch *b, uint32_t i);
void ct_confirm(ns_conntrack *ct, ns_batch *b, uint32_t i);

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
#endif
