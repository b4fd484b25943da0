/**
 * The boundary between TypeScript and the native addon, defined once: which typed arrays cross it, in
 * which order, with which element type and how many elements per row (batch) or in all (tables).
 * native/src/layout.h mirrors every list and constant here; the addon exports its compiled-in copy
 * (`layout()`) and test/native/layout.test.ts fails when the two drift. The addon also checks each array
 * against its compiled-in type when a group is bound, so a drift can never read memory wrongly.
 *
 * A group is bound once (`bind(group, arrays)` in the addon) and the handle reused for every call, so a
 * call per batch costs a few pointer loads, not a walk over dozens of arrays.
 */

/** Element types, as the addon names them (napi_typedarray_type values would tie us to Node's enum). */
export const Elem = { U8: 1, U16: 2, U32: 3, I16: 4, I32: 5, F64: 6 } as const;
export type ElemCode = (typeof Elem)[keyof typeof Elem];

export interface FieldSpec {
  readonly name: string;
  readonly elem: ElemCode;
}

const f = (name: string, elem: ElemCode): FieldSpec => ({ name, elem });

/** Group codes passed to the addon's `bind`. */
export const Group = { BATCH: 1, EBPF: 2, IPT_FAMILY: 3, IPT_SETS: 4, CONNTRACK: 5, NAT: 6 } as const;

/** FlowBatch columns the native loops read or write (src/wire/flow-batch.ts), in this order. */
export const BATCH_FIELDS: readonly FieldSpec[] = [
  f('family', Elem.U8), f('src', Elem.U32), f('dst', Elem.U32), f('proto', Elem.U8), f('srcPort', Elem.U16),
  f('dstPort', Elem.U16), f('tcpFlags', Elem.U8), f('icmpType', Elem.U8), f('icmpCode', Elem.U8), f('flags', Elem.U8),
  f('fragmentId', Elem.U32), f('innerSrc', Elem.U32), f('innerDst', Elem.U32), f('innerProto', Elem.U8),
  f('innerSrcPort', Elem.U16), f('innerDstPort', Elem.U16), f('sctpChunk', Elem.U8), f('wireLength', Elem.U32), f('tsSec', Elem.F64),
  f('tsNsec', Elem.U32), f('ctState', Elem.U8), f('verdict', Elem.U8), f('cost', Elem.U32), f('decidedBy', Elem.I32),
  // Where each record's bytes are in the reader's chunk, for decoding in C (a reader opened with decode: false).
  f('dataOffset', Elem.U32), f('capturedLength', Elem.U32), f('linkType', Elem.U16),
  // Written by the native record walk (walk.cc), which fills whole rows as the TypeScript reader does.
  f('recordIndex', Elem.F64),
];

/**
 * The eBPF model's loaded tables (src/match/ebpf.ts LoadedEbpf, lpm.ts, hash-table.ts).
 * `ipcSlots`, `polSlots` (U32): OpenHashTable.words, buckets of 16 words (one cache line), each slot the
 * key then the value as an int32 (-1 empty); slots per bucket = 16 / (key words + 1). The policy map
 * is keyed per template {identity, template << 5 | plen, proto/port} -> template row and hashes its keys
 * under POLICY_HASH_MASK (src/match/ebpf.ts): no prefix length, no protocol or port. `rowPlen`, `rowDeny`
 * (U8) per template row; `epTemplate` (I32) per endpoint and direction [ep*4 + dir*2]: the template
 * (-1 none), then the offset from a row to the endpoint's entry index (the index of `hits`).
 * `params` (U32): ipcache seed, policy seed, allowLoopback, allowNodeTraffic, whether the ipcache holds
 * IPv6 full-length (host) entries, which LpmTable probes first, the IPv4 pod block's first address
 * and size (0: none), whether `hits` is shared between lanes (atomic adds), whether any template
 * row denies (EbpfParam.HAS_DENY), and the decision cache's slots (EbpfParam.DECISIONS).
 * `ipcLengths4/6`: the prefix lengths LpmTable binary-searches, shortest first (IPv4 /17-/31 outside the
 * pod block, IPv6 below /128); `ipcBest` is the value (ipcache entry) of the best real prefix per stored
 * key, markers included; `ipcDirect` the IPv4 /16 table (lpm.ts DIRECT_VALUE_MASK, DIRECT_DEEPER,
 * DIRECT_HOST); `ipcPods` the pod block's answer + 1 per address.
 * `probes` (F64): probes (buckets and direct-table reads) made by calls so far, [ipcache, policy], which
 * the loader adds to the JS tables; then the openings the decision cache decided since bind (counted in
 * the probes as their lookups would have been).
 */
export const EBPF_FIELDS: readonly FieldSpec[] = [
  f('ipcSlots', Elem.U32), f('ipcBest', Elem.I32), f('ipcLengths4', Elem.I32), f('ipcLengths6', Elem.I32), f('ipcDirect', Elem.I32),
  f('ipcPods', Elem.I32),   f('ipcIdentity', Elem.I32), f('ipcEndpoint', Elem.I32), f('ipcNode', Elem.I32),
  f('polSlots', Elem.U32), f('rowPlen', Elem.U8), f('rowDeny', Elem.U8),
  f('epFlags', Elem.U8), f('epNode', Elem.I32), f('epMask', Elem.U32), f('epTemplate', Elem.I32), f('hits', Elem.F64),
  f('params', Elem.U32), f('probes', Elem.F64),
];
export const EbpfParam = {
  IPC_SEED: 0, POLICY_SEED: 1, ALLOW_LOOPBACK: 2, ALLOW_NODE_TRAFFIC: 3, HAS_HOST6: 4, POD_BASE: 5, POD_SIZE: 6,
  /** 1: `hits` is shared with other lanes of a replay (src/replay/fused-lanes.ts), added to atomically. */
  SHARED_HITS: 7,
  /** 1: some template row denies (`rowDeny`); 0 (every v1 NetworkPolicy program): no lookup reads `rowDeny`. */
  HAS_DENY: 8,
  /**
   * Slots of the decision cache (native/src/decision-cache.h `ns_decision`): a power of two, or 0 for none. It
   * changes no result, only how often an opening's lookups run again for the same flow.
   */
  DECISIONS: 9,
  COUNT: 10,
} as const;

/**
 * One family of the packed iptables table (src/match/iptables-pack.ts PackedFamily), field for field.
 * `params` (I32): entry chain, stack depth (max jump depth + 1).
 */
export const IPT_FAMILY_FIELDS: readonly FieldSpec[] = [
  f('chainStart', Elem.I32), f('chainEnd', Elem.I32), f('proto', Elem.U8), f('ctMask', Elem.U8),
  f('markValue', Elem.U32), f('markMask', Elem.U32), f('srcPrefix', Elem.I16), f('srcBase', Elem.U32),
  f('srcMask', Elem.U32), f('dstPrefix', Elem.I16), f('dstBase', Elem.U32), f('dstMask', Elem.U32),
  f('portStart', Elem.I32), f('portCount', Elem.U8), f('portLo', Elem.U16), f('portHi', Elem.U16),
  f('setStart', Elem.I32), f('setCount', Elem.U8), f('setId', Elem.I32), f('setDir', Elem.U8), f('setNeg', Elem.U8),
  f('target', Elem.U8), f('targetArg', Elem.U32), f('targetMask', Elem.U32), f('packets', Elem.F64),
  f('bytes', Elem.F64), f('params', Elem.I32),
];
export const IptParam = { ENTRY: 0, DEPTH: 1, COUNT: 2 } as const;

/**
 * Every ipset of the program (src/match/iptables-sets.ts PackedSet), concatenated: per set its kind,
 * slot mask and where its keys (5 words a slot), states and prefixes start in the shared arrays.
 */
export const IPT_SETS_FIELDS: readonly FieldSpec[] = [
  f('kind', Elem.U8), f('mask', Elem.U32), f('slotStart', Elem.U32), f('prefixStart', Elem.U32),
  f('prefixCount', Elem.U32), f('keys', Elem.U32), f('state', Elem.U8), f('prefixes', Elem.I32),
  f('prefixMasks', Elem.U32),
];

/**
 * The connection tracker (src/conntrack/state.ts Conntrack, table.ts ConnTable, fragments.ts), array for
 * array. `timeouts` (F64) is TIMEOUT_SLOTS below; `params` (I32): table slot mask, fragment slot mask.
 */
export const CONNTRACK_FIELDS: readonly FieldSpec[] = [
  f('slots', Elem.I32), f('tuples', Elem.U32), f('prev', Elem.I32), f('next', Elem.I32),
  f('free', Elem.I32), f('meta', Elem.I32), f('state', Elem.U8), f('status', Elem.U8), f('lastIndex', Elem.U8),
  f('lastDir', Elem.U8), f('expires', Elem.F64), f('streamAt', Elem.F64), f('counters', Elem.F64),
  f('fragKeys', Elem.U32), f('fragVerdict', Elem.U8), f('fragCtState', Elem.U8), f('fragExpires', Elem.F64),
  f('now', Elem.F64), f('pending', Elem.U8), f('fragmentVerdict', Elem.U8), f('timeouts', Elem.F64),
  f('params', Elem.I32),
];
export const CtParam = { TABLE_MASK: 0, FRAG_MASK: 1, COUNT: 2 } as const;

/**
 * The Service DNAT tables (src/replay/nat.ts ServiceNat), array for array; `params` (I32): slot mask,
 * service port count.
 */
export const NAT_FIELDS: readonly FieldSpec[] = [
  f('addr', Elem.U32), f('family', Elem.U8), f('port', Elem.U16), f('proto', Elem.U8), f('backendStart', Elem.I32),
  f('backendCount', Elem.I32), f('backendAddr', Elem.U32), f('backendPort', Elem.U16), f('slots', Elem.I32),
  f('params', Elem.I32),
];
export const NatParam = { MASK: 0, COUNT: 1, SLOTS: 2 } as const;

/**
 * Slots of the Float64Array of counters a native replay (src/native/replay.ts) adds to: the records and
 * IP rows seen, non-IP and malformed rows, the model's accepted and dropped IP rows, later fragments
 * without a first, later fragments and ICMP errors met while grouping, the connection table's size
 * and overflow (set, not added), and the bytes the prefault helper faulted in (native/src/prefault.h; set
 * when the connections are taken).
 */
export const ReplayStat = {
  PACKETS: 0, IP: 1, NON_IP: 2, MALFORMED: 3, ACCEPTED: 4, DROPPED: 5, ORPHANS: 6, LATER_FRAGMENTS: 7, ICMP_ERRORS: 8,
  CONNECTIONS: 9, OVERFLOW: 10, PREFAULTED: 11, COUNT: 12,
} as const;

/**
 * bindReplay's `prefault` bits (native/src/prefault.h): ON, a helper thread faults in the tables' fresh
 * pages ahead of the replay; SETTLE (for tests), stopping waits until the helper covered what the final
 * progress asks.
 */
export const PrefaultMode = { OFF: 0, ON: 1, SETTLE: 2 } as const;

/** Slots of the conntrack `timeouts` array (src/conntrack/timeouts.ts Timeouts, flattened). */
export const Timeout = {
  TCP: 0, // 10 slots, indexed by TcpState
  TCP_UNACKNOWLEDGED: 10, UDP_UNREPLIED: 11, UDP_REPLIED: 12, UDP_STREAM_AFTER: 13, ICMP: 14, ICMPV6: 15,
  GENERIC: 16, SCTP_COOKIE_WAIT: 17, SCTP_ESTABLISHED: 18, FRAGMENT: 19, GRE_UNREPLIED: 20, GRE_REPLIED: 21, COUNT: 22,
} as const;

/**
 * Slots of the Float64Array a native chunk walk (`walk`, `walkRun`) reads and writes: in, the chunk
 * position of the next record and the end of valid bytes, the file's byte order (1 little-endian) and
 * unit (1 nanoseconds), link type, captured-length limit, index of the first record, decode (1/0); out,
 * POS advanced past the rows, ROWS, BAD_CAPLEN (-1, or the length of a damaged record header at POS),
 * ORPHANS (walkRun: later fragments without a first). PREFETCH (in, walkRun): how many rows ahead the
 * conntrack slot is prefetched (0: not at all; src/native/walk.ts sets WALK_PREFETCH_DEFAULT).
 */
export const WalkSlot = {
  POS: 0, END: 1, LE: 2, NANO: 3, LINK_TYPE: 4, LIMIT: 5, FIRST: 6, DECODE: 7, ROWS: 8, BAD_CAPLEN: 9, ORPHANS: 10, PREFETCH: 11, COUNT: 12,
} as const;

/** Model codes for the addon's `runBatch`. */
export const NativeModel = { EBPF: 1, IPTABLES: 2, REFERENCE: 3 } as const;

export const GROUPS: Readonly<Record<number, readonly FieldSpec[]>> = {
  [Group.BATCH]: BATCH_FIELDS, [Group.EBPF]: EBPF_FIELDS, [Group.IPT_FAMILY]: IPT_FAMILY_FIELDS,
  [Group.IPT_SETS]: IPT_SETS_FIELDS, [Group.CONNTRACK]: CONNTRACK_FIELDS, [Group.NAT]: NAT_FIELDS,
};
