/**
 * The eBPF model's matcher: the compiled program loaded into typed arrays, and the per-packet decision
 * Cilium's bpf_lxc makes, in the same order as native/bpf/netsieve_policy.bpf.c:
 *   1. conntrack: ESTABLISHED and RELATED pass, INVALID drops (Cilium's CT drops invalid packets);
 *   2. ipcache LPM lookups of source and destination -> identity, endpoint, node;
 *   3. a pod to its own address never reaches the datapath (lo inside the pod) when allowLoopback;
 *   4. an address of the endpoint's own node resolves to the host identity (each node's ipcache does so);
 *   5. egress at the source endpoint, then ingress at the destination endpoint, each: not isolated ->
 *      allow (policy enforcement "default"), else the policy map probe sequence (PROBE_SEQUENCE).
 * The policy table is packed per template (endpoints with the same map share its rows; Cilium likewise
 * computes policy once per identity): epTemplate names an endpoint's template and the offset that turns
 * a row into that endpoint's entry index, so decidedBy and hits keep the program's per-endpoint entries.
 * Nothing here allocates per packet; `probeLog`, when set by explain, records each policy lookup made.
 */
import {
  DIR_EGRESS, DIR_INGRESS, EP_EGRESS_ISOLATED, EP_INGRESS_ISOLATED, PLEN_FULL, POLICY_KEY_WORDS, ReservedIdentity,
  policyKeyWord1, policyKeyWord2,
} from '../compile/ebpf/layout.js';
import type { EbpfProgram, PolicyColumns } from '../compile/ebpf/program.js';
import { carveArrays } from '../conntrack/arena.js';
import { ipToWords, parseCidr } from '../model/ip.js';
import { CtState, Verdict, type FlowBatch } from '../wire/flow-batch.js';
import { BUCKET_WORDS, OpenHashTable, slotsPerBucket, type TableSupport } from './hash-table.js';
import { LpmTable } from './lpm.js';

/** Key word 1's prefix-length bits (low 5 bits, as in policyKeyWord1). */
const PLEN_BITS = 0x1f;
/** Word 1 shifted past the prefix length: the template, what a pair {identity, template} compares. */
const TEMPLATE_SHIFT = 5;
/**
 * The packed table is keyed per template, not per endpoint (Cilium computes policy per identity and
 * shares it; replicas here share a template of rows): word 0 the remote identity, word 1
 * `template << 5 | plen`, word 2 as policyKeyWord2; the value is the template row. The hash reads
 * {identity, template} only: word 1 without its prefix length, not word 2 (protocol, port). A lookup
 * then reads one run of buckets for all prefix lengths (lookupLongest).
 */
export const POLICY_HASH_MASK: readonly number[] = [0xffffffff, ~PLEN_BITS >>> 0, 0];
const POLICY_SLOTS = slotsPerBucket(POLICY_KEY_WORDS);
const POLICY_SLOT_WORDS = POLICY_KEY_WORDS + 1;

/** Per-direction outcome codes written to `trace`. */
export const DirState = { NOT_A_POD: 0, NOT_ISOLATED: 1, ALLOWED: 2, DENIED: 3, LOOPBACK: 4, SKIPPED: 5 } as const;

/** Slots of `LoadedEbpf.trace`, the last decision's details (for explain and the kernel comparison). */
export const Trace = {
  SRC_IDENTITY: 0, DST_IDENTITY: 1, SRC_ENDPOINT: 2, DST_ENDPOINT: 3,
  EGRESS_ENTRY: 4, INGRESS_ENTRY: 5, EGRESS_STATE: 6, INGRESS_STATE: 7, DECIDED_BY: 8, NODE_TRAFFIC: 9,
} as const;

export interface LoadedEbpf {
  readonly program: EbpfProgram;
  readonly ipcache: LpmTable;
  readonly ipcIdentity: Int32Array;
  readonly ipcEndpoint: Int32Array;
  readonly ipcNode: Int32Array;
  /** Every template row once, keyed {identity, template, plen, proto, port} -> row (POLICY_HASH_MASK). */
  readonly policy: OpenHashTable;
  /** Per template row (the program's columns, shared): prefix length and deny bit. */
  readonly rowPlen: Uint8Array;
  readonly rowDeny: Uint8Array;
  /** Some row denies (never for v1 NetworkPolicy): the native lookup reads `rowDeny` only then (EbpfParam.HAS_DENY). */
  readonly anyDeny: boolean;
  /**
   * Per endpoint and direction, at [ep*4 + dir*2]: the template of its map (-1: none) and, next to it,
   * the offset from a template row to the endpoint's entry index (entry = row + offset). One direct
   * read per direction looked up, counted in the cost.
   */
  readonly epTemplate: Int32Array;
  readonly epFlags: Uint8Array;
  readonly epNode: Int32Array;
  /** Bit p set: the endpoint's map has entries of port prefix length p; [ep*4 + dir*2 + (any identity ? 1 : 0)]. */
  readonly epMask: Uint32Array;
  /** Times each entry (per endpoint, as the program numbers them) decided a direction. */
  readonly hits: Float64Array;
  readonly trace: Int32Array;
  readonly allowLoopback: boolean;
  readonly allowNodeTraffic: boolean;
  readonly keyScratch: Uint32Array;
  /** When non-null, every policy lookup appends (identity, word1, word2 of the entry found or of the full port, result). Explain only. */
  probeLog: number[] | null;
}

/**
 * `options`: the hash seed, and what the big tables take from the native engine when it is loaded
 * (TableSupport): the policy map's buckets (64 MiB at the real tier) huge pages, the hit counters (40 MiB)
 * 4 KiB pages, and the policy rows placed in C.
 */
export function loadEbpf(program: EbpfProgram, options: TableSupport & { seed?: number } = {}): LoadedEbpf {
  const { seed } = options;
  const words = program.ipcache.map((e) => {
    const w = new Uint32Array(4);
    ipToWords({ family: e.family, value: parseCidr(e.cidr)!.cidr.base }, w, 0);
    return { family: e.family, prefix: e.prefix, words: w };
  });
  const ipcache = new LpmTable(words, program.ipcache.map((_, i) => i), seed);
  return {
    program, ipcache, ...loadPolicyMap(program.policyMap, program.endpoints.length, seed, options),
    ipcIdentity: Int32Array.from(program.ipcache, (e) => e.identity),
    ipcEndpoint: Int32Array.from(program.ipcache, (e) => e.endpoint),
    ipcNode: Int32Array.from(program.ipcache, (e) => e.node),
    epFlags: Uint8Array.from(program.endpoints, (e) => (e.ingressIsolated ? EP_INGRESS_ISOLATED : 0) | (e.egressIsolated ? EP_EGRESS_ISOLATED : 0)),
    epNode: Int32Array.from(program.endpoints, (e) => e.node),
    hits: newHitCounters(program.policyMap.count, options),
    trace: new Int32Array(10),
    allowLoopback: program.options.allowLoopback,
    allowNodeTraffic: program.options.allowNodeTraffic,
    keyScratch: new Uint32Array(POLICY_KEY_WORDS),
    probeLog: null,
  };
}

/**
 * Zeroed hit counters for `entries` policy-map entries, from `allocateSparse` when given: one entry in
 * thousands is ever hit (430 of 5M at the real tier), and in huge pages each hit cost a 2 MiB page.
 */
export function newHitCounters(entries: number, tables: TableSupport = {}): Float64Array {
  return carveArrays({ hits: [Float64Array, entries] }, tables.allocateSparse).hits;
}

/** Policy rows handed to OpenHashTable.insertBatch at a time: 48 KiB of keys, still in cache when placed. */
const POLICY_BLOCK = 4096;

/** Matcher key word 1: the template, then the prefix length in the low bits (PLEN_BITS). */
function templateKeyWord1(template: number, plen: number): number {
  return ((template << TEMPLATE_SHIFT) | plen) >>> 0;
}

/**
 * Every template row into the hash map once (141M entries of the stress tier are 49M rows), with each
 * template's prefix-length masks; then per endpoint map its template, entry offset and masks.
 */
function loadPolicyMap(
  m: PolicyColumns, endpoints: number, seed: number | undefined, tables: TableSupport,
): Pick<LoadedEbpf, 'policy' | 'epMask' | 'epTemplate' | 'rowPlen' | 'rowDeny' | 'anyDeny'> {
  const policy = new OpenHashTable(POLICY_KEY_WORDS, m.identity.length, seed, POLICY_HASH_MASK, undefined, tables.allocate);
  const templates = m.templateStart.length - 1;
  if (templates >= 2 ** (32 - TEMPLATE_SHIFT)) throw new Error(`${templates} templates do not fit key word 1 (at most 2^27)`);
  const templateMask = new Uint32Array(templates * 2);
  // Rows go in in row order, a block at a time (OpenHashTable.insertBatch).
  const keys = new Uint32Array(POLICY_BLOCK * POLICY_KEY_WORDS);
  const rows = new Int32Array(POLICY_BLOCK);
  let n = 0;
  let anyDeny = false;
  for (let t = 0; t < templates; t++) {
    for (let r = m.templateStart[t]!; r < m.templateStart[t + 1]!; r++) {
      const plen = m.prefixLength[r]!, at = n * POLICY_KEY_WORDS;
      if (m.deny[r] === 1) anyDeny = true;
      keys[at] = m.identity[r]!;
      keys[at + 1] = templateKeyWord1(t, plen);
      keys[at + 2] = policyKeyWord2(m.protocol[r]!, m.port[r]!, plen);
      rows[n++] = r;
      templateMask[t * 2 + (keys[at] === ReservedIdentity.ANY ? 1 : 0)]! |= 1 << plen;
      if (n === POLICY_BLOCK) {
        policy.insertBatch(keys, rows, n, tables.place);
        n = 0;
      }
    }
  }
  policy.insertBatch(keys, rows, n, tables.place);
  const { epTemplate, epMask } = endpointMaps(m, endpoints, templateMask);
  return { policy, epMask, epTemplate, rowPlen: m.prefixLength, rowDeny: m.deny, anyDeny };
}

/** Per endpoint and direction: its map's template and entry offset, and the template's masks. */
function endpointMaps(m: PolicyColumns, endpoints: number, templateMask: Uint32Array): Pick<LoadedEbpf, 'epMask' | 'epTemplate'> {
  const epTemplate = new Int32Array(endpoints * 4);
  for (let at = 0; at < epTemplate.length; at += 2) epTemplate[at] = -1;
  const epMask = new Uint32Array(endpoints * 4);
  for (let map = 0; map < m.mapCount; map++) {
    const at = m.mapEndpoint[map]! * 4 + m.mapDirection[map]! * 2;
    const t = m.mapTemplate[map]!;
    if (epTemplate[at] !== -1) throw new Error(`endpoint ${m.mapEndpoint[map]} has two maps in one direction`);
    epTemplate[at] = t;
    epTemplate[at + 1] = m.mapStart[map]! - m.templateStart[t]!;
    epMask[at] = templateMask[t * 2]!;
    epMask[at + 1] = templateMask[t * 2 + 1]!;
  }
  return { epTemplate, epMask };
}

/** Slots inspected so far in both tables; the difference across one packet is its cost. */
export function probesSoFar(p: LoadedEbpf): number {
  return p.policy.probes + p.ipcache.table.probes;
}

/** Decides row `i` of the batch: writes verdict, cost (probes) and decidedBy (entry index or -1). */
export function classifyRow(p: LoadedEbpf, batch: FlowBatch, i: number): void {
  const family = batch.family[i]!;
  const ct = batch.ctState[i]!;
  batch.decidedBy[i] = -1;
  batch.cost[i] = 0;
  if (family !== 4 && family !== 6) { batch.verdict[i] = Verdict.NONE; return; }
  if (ct === CtState.ESTABLISHED || ct === CtState.RELATED) { batch.verdict[i] = Verdict.ACCEPT; return; }
  if (ct === CtState.INVALID) { batch.verdict[i] = Verdict.DROP; return; }
  const proto = batch.proto[i]!;
  // Ports only mean something for TCP, UDP and SCTP; Cilium keys other protocols with dport 0.
  const dport = proto === 6 || proto === 17 || proto === 132 ? batch.dstPort[i]! : 0;
  const before = probesSoFar(p);
  batch.verdict[i] = decideOpening(p, family, batch.src, i * 4, batch.dst, i * 4, proto, dport);
  batch.cost[i] = probesSoFar(p) - before;
  batch.decidedBy[i] = p.trace[Trace.DECIDED_BY]!;
}

export function classifyBatch(p: LoadedEbpf, batch: FlowBatch): void {
  for (let i = 0; i < batch.count; i++) classifyRow(p, batch, i);
}

/** The opening packet of a connection (conntrack NEW): Verdict.ACCEPT or DROP; details in `p.trace`. */
export function decideOpening(
  p: LoadedEbpf, family: number, src: Uint32Array, srcOff: number, dst: Uint32Array, dstOff: number, proto: number, dport: number,
): number {
  const t = p.trace;
  const s = p.ipcache.lookup(family, src, srcOff);
  const d = p.ipcache.lookup(family, dst, dstOff);
  const srcEp = s >= 0 ? p.ipcEndpoint[s]! : -1;
  const dstEp = d >= 0 ? p.ipcEndpoint[d]! : -1;
  t[Trace.SRC_IDENTITY] = s >= 0 ? p.ipcIdentity[s]! : 0;
  t[Trace.DST_IDENTITY] = d >= 0 ? p.ipcIdentity[d]! : 0;
  t[Trace.SRC_ENDPOINT] = srcEp;
  t[Trace.DST_ENDPOINT] = dstEp;
  t[Trace.EGRESS_ENTRY] = -1;
  t[Trace.INGRESS_ENTRY] = -1;
  t[Trace.DECIDED_BY] = -1;
  if (p.allowLoopback && srcEp >= 0 && sameAddress(src, srcOff, dst, dstOff)) {
    t[Trace.EGRESS_STATE] = DirState.LOOPBACK;
    t[Trace.INGRESS_STATE] = DirState.LOOPBACK;
    t[Trace.NODE_TRAFFIC] = 0;
    return Verdict.ACCEPT;
  }
  const nodeTraffic = p.allowNodeTraffic && (ownNode(p, dstEp, s >= 0 ? p.ipcNode[s]! : -1) || ownNode(p, srcEp, d >= 0 ? p.ipcNode[d]! : -1));
  t[Trace.NODE_TRAFFIC] = nodeTraffic ? 1 : 0;
  const egressRemote = nodeTraffic ? ReservedIdentity.HOST : t[Trace.DST_IDENTITY]!;
  const ingressRemote = nodeTraffic ? ReservedIdentity.HOST : t[Trace.SRC_IDENTITY]!;
  const eg = decideDirection(p, srcEp, DIR_EGRESS, egressRemote, proto, dport, Trace.EGRESS_ENTRY, Trace.EGRESS_STATE);
  // Dropped at the source's egress: the packet never reaches the destination's ingress program.
  if (!eg) { t[Trace.INGRESS_STATE] = DirState.SKIPPED; return Verdict.DROP; }
  const ing = decideDirection(p, dstEp, DIR_INGRESS, ingressRemote, proto, dport, Trace.INGRESS_ENTRY, Trace.INGRESS_STATE);
  if (!ing) return Verdict.DROP;
  const decided = t[Trace.INGRESS_ENTRY]! >= 0 ? t[Trace.INGRESS_ENTRY]! : t[Trace.EGRESS_ENTRY]!;
  t[Trace.DECIDED_BY] = decided;
  return Verdict.ACCEPT;
}

function ownNode(p: LoadedEbpf, endpoint: number, node: number): boolean {
  return endpoint >= 0 && node >= 0 && p.epNode[endpoint] === node;
}

function sameAddress(a: Uint32Array, ao: number, b: Uint32Array, bo: number): boolean {
  return a[ao] === b[bo] && a[ao + 1] === b[bo + 1] && a[ao + 2] === b[bo + 2] && a[ao + 3] === b[bo + 3];
}

/** One direction at one endpoint; true when it allows. Records the entry and state in `trace`. */
function decideDirection(
  p: LoadedEbpf, ep: number, dir: number, remote: number, proto: number, dport: number, entrySlot: number, stateSlot: number,
): boolean {
  const t = p.trace;
  if (ep < 0) { t[stateSlot] = DirState.NOT_A_POD; return true; }
  const isolatedBit = dir === DIR_INGRESS ? EP_INGRESS_ISOLATED : EP_EGRESS_ISOLATED;
  if ((p.epFlags[ep]! & isolatedBit) === 0) { t[stateSlot] = DirState.NOT_ISOLATED; return true; }
  const row = lookupPolicy(p, ep, dir, remote, proto, dport);
  const entry = row < 0 ? -1 : row + p.epTemplate[ep * 4 + dir * 2 + 1]!;
  t[entrySlot] = entry;
  const allowed = row >= 0 && p.rowDeny[row] === 0;
  if (entry >= 0) p.hits[entry]!++;
  t[stateSlot] = allowed ? DirState.ALLOWED : DirState.DENIED;
  return allowed;
}

/**
 * Cilium v1.17 __policy_can_access: L3 lookup, then L4-only; deny, then longer prefix, then L3 wins.
 * Returns the deciding row of the endpoint's template, or -1. A direction whose map has no entries of
 * either kind makes no read; otherwise the endpoint -> template read (epTemplate) is one probe.
 */
export function lookupPolicy(p: LoadedEbpf, ep: number, dir: number, remote: number, proto: number, dport: number): number {
  const base = ep * 4 + dir * 2;
  const l3Mask = p.epMask[base]!;
  const l4Mask = p.epMask[base + 1]!;
  if ((l3Mask | l4Mask) === 0) return -1;
  p.policy.probes++;
  const l3 = l3Mask === 0 ? -1 : lookupLongest(p, ep, dir, remote, proto, dport);
  if (l3 >= 0 && p.rowDeny[l3] === 1) return l3;
  const l4 = l4Mask === 0 ? -1 : lookupLongest(p, ep, dir, ReservedIdentity.ANY, proto, dport);
  if (l4 >= 0 && (p.rowDeny[l4] === 1 || l3 < 0 || p.rowPlen[l4]! > p.rowPlen[l3]!)) return l4;
  return l3;
}

/**
 * The LPM over {proto, dport} for one {identity, template} (the endpoint's, from epTemplate): the map
 * hashes keys without their prefix length and port (POLICY_HASH_MASK), so every row of the pair is in
 * one run of buckets, read once; of the rows whose {proto, port} matches at their own prefix length, the
 * longest wins (keys are unique, so there is no tie). Stops at the first bucket with an empty slot, as a
 * lookup does. Returns the row.
 */
function lookupLongest(p: LoadedEbpf, ep: number, dir: number, identity: number, proto: number, dport: number): number {
  const t = p.policy;
  const key = p.keyScratch;
  const pair = templateKeyWord1(p.epTemplate[ep * 4 + dir * 2]!, 0);
  key[0] = identity;
  key[1] = pair;
  key[2] = 0;
  let best = -1;
  let bestPlen = -1;
  for (let b = t.homeBucket(key, 0); ; b = t.nextBucket(b)) {
    t.probes++;
    let s = 0;
    for (; s < POLICY_SLOTS; s++) {
      const at = b * BUCKET_WORDS + s * POLICY_SLOT_WORDS;
      const v = t.values[at + POLICY_KEY_WORDS]!;
      if (v < 0) break; // an empty slot ends the run
      const w1 = t.words[at + 1]!;
      if (t.words[at] !== identity || w1 >>> TEMPLATE_SHIFT !== pair >>> TEMPLATE_SHIFT) continue; // another pair sharing the bucket
      const plen = w1 & PLEN_BITS;
      if (plen > bestPlen && t.words[at + 2] === policyKeyWord2(proto, dport, plen)) { best = v; bestPlen = plen; }
    }
    if (s < POLICY_SLOTS) break;
  }
  if (p.probeLog !== null) logLookup(p, identity, ep, dir, proto, dport, best, bestPlen);
  return best;
}

/**
 * Explain: one line per lookup, in the program's per-endpoint terms: the key of the entry found (or of
 * the full port, on a miss) and the entry index.
 */
function logLookup(p: LoadedEbpf, identity: number, ep: number, dir: number, proto: number, dport: number, row: number, plen: number): void {
  const len = row >= 0 ? plen : PLEN_FULL;
  const entry = row >= 0 ? row + p.epTemplate[ep * 4 + dir * 2 + 1]! : -1;
  p.probeLog!.push(identity, policyKeyWord1(ep, dir, len), policyKeyWord2(proto, dport, len), entry);
}
