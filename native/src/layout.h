/*
 * The TypeScript <-> native boundary, mirrored from src/native/layout.ts (the definition). Each X-macro
 * list below is one group of typed arrays, in the TS order, with its element type. The structs of
 * pointers, the bind-time type checks and the `layout()` export (compared with the TS lists by
 * test/native/layout.test.ts) are all generated from these lists, so a field cannot be added to one
 * without the others. The constants after them mirror src/wire/flow-batch.ts, src/compile/ebpf/layout.ts,
 * src/compile/iptables/ir.ts and src/conntrack; the same test compares each.
 */
#ifndef NETSIEVE_LAYOUT_H
#define NETSIEVE_LAYOUT_H
#include <stdint.h>
#include <stddef.h>

/* Element types (src/native/layout.ts Elem). */
enum { ELEM_U8 = 1, ELEM_U16 = 2, ELEM_U32 = 3, ELEM_I16 = 4, ELEM_I32 = 5, ELEM_F64 = 6 };
typedef uint8_t ns_U8;
typedef uint16_t ns_U16;
typedef uint32_t ns_U32;
typedef int16_t ns_I16;
typedef int32_t ns_I32;
typedef double ns_F64;

enum { GROUP_BATCH = 1, GROUP_EBPF = 2, GROUP_IPT_FAMILY = 3, GROUP_IPT_SETS = 4, GROUP_CONNTRACK = 5, GROUP_NAT = 6 };

#define NS_BATCH_FIELDS(X) \
  X(family, U8) X(src, U32) X(dst, U32) X(proto, U8) X(srcPort, U16) X(dstPort, U16) X(tcpFlags, U8) \
  X(icmpType, U8) X(icmpCode, U8) X(flags, U8) X(fragmentId, U32) X(innerSrc, U32) X(innerDst, U32) \
  X(innerProto, U8) X(innerSrcPort, U16) X(innerDstPort, U16) X(sctpChunk, U8) X(wireLength, U32) X(tsSec, F64) X(tsNsec, U32) \
  X(ctState, U8) X(verdict, U8) X(cost, U32) X(decidedBy, I32) X(dataOffset, U32) X(capturedLength, U32) X(linkType, U16) \
  X(recordIndex, F64)

#define NS_EBPF_FIELDS(X) \
  X(ipcSlots, U32) X(ipcBest, I32) X(ipcLengths4, I32) X(ipcLengths6, I32) X(ipcDirect, I32) X(ipcPods, I32) \
  X(ipcIdentity, I32) \
  X(ipcEndpoint, I32) X(ipcNode, I32) X(polSlots, U32) X(rowPlen, U8) X(rowDeny, U8) \
  X(epFlags, U8) X(epNode, I32) X(epMask, U32) X(epTemplate, I32) X(hits, F64) X(params, U32) X(probes, F64)
enum { EBPF_PARAM_IPC_SEED = 0, EBPF_PARAM_POLICY_SEED = 1, EBPF_PARAM_ALLOW_LOOPBACK = 2,
       EBPF_PARAM_ALLOW_NODE_TRAFFIC = 3, EBPF_PARAM_HAS_HOST6 = 4, EBPF_PARAM_POD_BASE = 5, EBPF_PARAM_POD_SIZE = 6,
       EBPF_PARAM_SHARED_HITS = 7, EBPF_PARAM_HAS_DENY = 8, EBPF_PARAM_DECISIONS = 9, EBPF_PARAM_COUNT = 10 };

#define NS_IPT_FAMILY_FIELDS(X) \
  X(chainStart, I32) X(chainEnd, I32) X(proto, U8) X(ctMask, U8) X(markValue, U32) X(markMask, U32) \
  X(srcPrefix, I16) X(srcBase, U32) X(srcMask, U32) X(dstPrefix, I16) X(dstBase, U32) X(dstMask, U32) \
  X(portStart, I32) X(portCount, U8) X(portLo, U16) X(portHi, U16) X(setStart, I32) X(setCount, U8) \
  X(setId, I32) X(setDir, U8) X(setNeg, U8) X(target, U8) X(targetArg, U32) X(targetMask, U32) \
  X(packets, F64) X(bytes, F64) X(params, I32)
enum { IPT_PARAM_ENTRY = 0, IPT_PARAM_DEPTH = 1, IPT_PARAM_COUNT = 2 };

#define NS_IPT_SETS_FIELDS(X) \
  X(kind, U8) X(mask, U32) X(slotStart, U32) X(prefixStart, U32) X(prefixCount, U32) X(keys, U32) \
  X(state, U8) X(prefixes, I32) X(prefixMasks, U32)

#define NS_CONNTRACK_FIELDS(X) \
  X(slots, I32) X(tuples, U32) X(prev, I32) X(next, I32) X(free, I32) X(meta, I32) \
  X(state, U8) X(status, U8) X(lastIndex, U8) X(lastDir, U8) X(expires, F64) X(streamAt, F64) \
  X(counters, F64) X(fragKeys, U32) X(fragVerdict, U8) X(fragCtState, U8) X(fragExpires, F64) X(now, F64) \
  X(pending, U8) X(fragmentVerdict, U8) X(timeouts, F64) X(params, I32)
enum { CT_PARAM_TABLE_MASK = 0, CT_PARAM_FRAG_MASK = 1, CT_PARAM_COUNT = 2 };

/* Service DNAT tables (src/replay/nat.ts ServiceNat); params: slot mask, service port count. */
#define NS_NAT_FIELDS(X) \
  X(addr, U32) X(family, U8) X(port, U16) X(proto, U8) X(backendStart, I32) X(backendCount, I32) \
  X(backendAddr, U32) X(backendPort, U16) X(slots, I32) X(params, I32)
enum { NAT_PARAM_MASK = 0, NAT_PARAM_COUNT = 1, NAT_PARAM_SLOTS = 2 };

/* Slots of the Float64Array of a native replay's counters (src/native/layout.ts ReplayStat). */
enum { RS_PACKETS = 0, RS_IP = 1, RS_NON_IP = 2, RS_MALFORMED = 3, RS_ACCEPTED = 4, RS_DROPPED = 5, RS_ORPHANS = 6,
       RS_LATER_FRAGMENTS = 7, RS_ICMP_ERRORS = 8, RS_CONNECTIONS = 9, RS_OVERFLOW = 10, RS_PREFAULTED = 11,
       RS_COUNT = 12 };

/* Timeout slots (src/native/layout.ts Timeout). */
enum { TO_TCP = 0, TO_TCP_UNACKNOWLEDGED = 10, TO_UDP_UNREPLIED = 11, TO_UDP_REPLIED = 12,
       TO_UDP_STREAM_AFTER = 13, TO_ICMP = 14, TO_ICMPV6 = 15, TO_GENERIC = 16, TO_SCTP_COOKIE_WAIT = 17,
       TO_SCTP_ESTABLISHED = 18, TO_FRAGMENT = 19, TO_GRE_UNREPLIED = 20, TO_GRE_REPLIED = 21,
       TO_COUNT = 22 };

enum { MODEL_EBPF = 1, MODEL_IPTABLES = 2, MODEL_REFERENCE = 3 };

/* Slots of the Float64Array a chunk walk reads and writes (src/native/layout.ts WalkSlot). */
enum { WALK_POS = 0, WALK_END = 1, WALK_LE = 2, WALK_NANO = 3, WALK_LINK_TYPE = 4, WALK_LIMIT = 5, WALK_FIRST = 6,
       WALK_DECODE = 7, WALK_ROWS = 8, WALK_BAD_CAPLEN = 9, WALK_ORPHANS = 10, WALK_PREFETCH = 11, WALK_COUNT = 12 };

/* Structs of pointers, one per group, generated from the lists. */
#define NS_MEMBER(name, type) ns_##type *name; size_t name##_len;
typedef struct { NS_BATCH_FIELDS(NS_MEMBER) } ns_batch;
/* The eBPF group also carries rows the addon packs from its arrays once, at bind, and its decision cache
   (ebpf.cc ebpf_pack): not part of the layout TypeScript binds. */
struct ns_ipc_row;
struct ns_ep_row;
struct ns_decision;
typedef struct {
  NS_EBPF_FIELDS(NS_MEMBER) struct ns_ipc_row *ipcRows; struct ns_ep_row *epRows;
  struct ns_decision *decisions; uint32_t decisionMask;
} ns_ebpf;
typedef struct { NS_IPT_FAMILY_FIELDS(NS_MEMBER) } ns_ipt_family;
typedef struct { NS_IPT_SETS_FIELDS(NS_MEMBER) } ns_ipt_sets;
typedef struct { NS_CONNTRACK_FIELDS(NS_MEMBER) } ns_conntrack;
/* The NAT group also carries the Service address filter the addon builds at bind (hot.h vip_maybe): not
   part of the layout TypeScript binds; NULL without Services. */
struct ns_vip_filter;
typedef struct { NS_NAT_FIELDS(NS_MEMBER) struct ns_vip_filter *vips; } ns_nat;
#undef NS_MEMBER

/* src/wire/flow-batch.ts */
enum { VERDICT_DROP = 0, VERDICT_ACCEPT = 1, VERDICT_NONE = 2 };
enum { CT_NEW = 0, CT_ESTABLISHED = 1, CT_RELATED = 2, CT_INVALID = 3, CT_UNTRACKED = 4 };
enum { ROW_FIRST_FRAGMENT = 1, ROW_LATER_FRAGMENT = 2, ROW_ICMP_ERROR = 4, ROW_ICMP_ECHO = 8, ROW_MALFORMED = 16 };

/* src/compile/ebpf/layout.ts */
enum { POLICY_KEY_WORDS = 3, IPCACHE_KEY_WORDS = 5, DIR_INGRESS = 0, DIR_EGRESS = 1, PLEN_ANY = 0,
       PLEN_PROTO = 8, PLEN_FULL = 24, IDENTITY_ANY = 0, IDENTITY_HOST = 1, EP_INGRESS_ISOLATED = 1,
       EP_EGRESS_ISOLATED = 2 };

/* src/match/hash-table.ts: a bucket is one 64-byte cache line of 32-bit words */
enum { BUCKET_WORDS = 16 };

/* src/compile/iptables/ir.ts; set kinds and slot states of src/match/iptables-sets.ts */
enum { TARGET_NONE = 0, TARGET_ACCEPT = 1, TARGET_DROP = 2, TARGET_RETURN = 3, TARGET_JUMP = 4, TARGET_GOTO = 5,
       TARGET_MARK = 6 };
#define ACCEPT_MARK 0x10000u
enum { SET_IP = 0, SET_NET = 1, SET_IPPORT = 2, SET_KEY_WORDS = 5, SLOT_EMPTY = 0, SLOT_MEMBER = 1, SLOT_NOMATCH = 2 };

/* src/conntrack: table.ts, state.ts, tcp.ts, timeouts.ts, track.ts */
enum { TUPLE_WORDS = 10, META_HEAD = 0, META_TAIL = 1, META_FREE_TOP = 2, META_COUNT = 3, META_FRESH = 4 };
enum { STATUS_SEEN_REPLY = 1, STATUS_ASSURED = 2, STATUS_CLOSE_INIT = 4 };
enum { COUNTER_INSERTS = 0, COUNTER_EVICTIONS = 1, COUNTER_EXPIRATIONS = 2, COUNTER_INVALID = 3,
       COUNTER_DELETES = 4, COUNTER_ORPHAN_FRAGMENTS = 5, COUNTER_RELATED = 6, COUNTER_CLASHES = 7 };
enum { TCP_NONE = 0, TCP_SYN_SENT = 1, TCP_SYN_RECV = 2, TCP_ESTABLISHED = 3, TCP_FIN_WAIT = 4, TCP_CLOSE_WAIT = 5,
       TCP_LAST_ACK = 6, TCP_TIME_WAIT = 7, TCP_CLOSE = 8, TCP_SYN_SENT2 = 9, TCP_IGNORE = 10, TCP_INVALID = 11 };
enum { TCPI_SYN = 0, TCPI_SYNACK = 1, TCPI_FIN = 2, TCPI_ACK = 3, TCPI_RST = 4, TCPI_NONE = 5 };
enum { SCTP_COOKIE_WAIT = 1, SCTP_ESTABLISHED = 4 };
enum { FRAGMENT_WITHOUT_FIRST = 3, EARLY_DROP_SCAN = 64 };

#endif
