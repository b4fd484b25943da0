/**
 * The TypeScript side of the native hot path: binds the loaded models, the connection tracker and the
 * batch to the addon (once each, in the layout of ./layout.ts), then runs whole batches in one call.
 * These are plain functions so replay, compare and the benchmarks can all call them:
 *
 *   const nm = nativeEbpf(addon, loaded)        // or nativeIptables(addon, matcher), once per model
 *   classifyNative(nm, batch)                    // rows with ctState set: verdict, cost, decidedBy
 *   runNative(nm, conntrack, batch) -> orphans   // per row track -> model -> confirm, as runRow does
 *   decodeNative(addon, reader.chunk, batch)     // after fill() of a reader opened with decode: false
 *
 * Results land where the TypeScript path puts them: the batch's output columns, the matcher's hit and
 * rule counters, the hash tables' probe counters, and the tracker's own arrays (so the two engines can
 * even take turns on one tracker).
 */
import type { LoadedEbpf } from '../match/ebpf.js';
import type { IptablesMatcher } from '../match/iptables.js';
import { withOwnCounters, type PackedFamily } from '../match/iptables-pack.js';
import type { PackedSet } from '../match/iptables-sets.js';
import type { Conntrack } from '../conntrack/state.js';
import { ensureRows } from '../conntrack/state.js';
import { FlowBatch } from '../wire/flow-batch.js';
import {
  BATCH_FIELDS, CONNTRACK_FIELDS, CtParam, EBPF_FIELDS, EbpfParam, Group, IPT_FAMILY_FIELDS, IPT_SETS_FIELDS,
  IptParam, NativeModel, Timeout, type FieldSpec,
} from './layout.js';
import { nativeTables, type NativeAddon, type NativeHandle } from './load.js';

export interface NativeModelHandle {
  readonly addon: NativeAddon;
  readonly model: number;
  readonly handle: NativeHandle;
  /**
   * eBPF only: probes the addon made, [ipcache, policy], moved into the JS tables after each call; then the
   * openings its decision cache decided since bind (`decisionsCached`).
   */
  readonly probes: Float64Array | null;
  readonly loaded: LoadedEbpf | null;
  /**
   * The handle lane `index` of a replay on lanes uses (src/replay/fused-lanes.ts), each lane on any
   * thread: the same compiled tables (only read). eBPF: every lane counts into the model's own per-entry
   * hits, atomically, and its probes apart; iptables: lane 0 is this handle, the others count rule
   * packets and bytes (and walk their jump stack) apart, since those counters would race (every
   * established packet matches the same ACCEPT rule), and foldCounters adds them in at the end.
   */
  lane(index: number): NativeModelHandle;
  /** The rows this handle's decision cache decided since bind (eBPF and iptables; 0 without a cache). */
  decisionsCached(): number;
  /** An iptables lane after the first: adds the rule counters it kept apart into the model's own. */
  readonly foldCounters?: () => void;
}

/** Picks the fields of `source` named by `fields`, in order (throws naming a missing one). */
function pick(fields: readonly FieldSpec[], source: Record<string, unknown>, what: string): ArrayBufferView[] {
  return fields.map((f) => {
    const v = source[f.name];
    if (!ArrayBuffer.isView(v)) throw new Error(`native ${what}: ${f.name} is not a typed array`);
    return v;
  });
}

const batchHandles = new WeakMap<FlowBatch, { addon: NativeAddon; handle: NativeHandle }>();

/** The addon's handle of `batch`'s arrays, bound on first use. */
export function batchHandle(addon: NativeAddon, batch: FlowBatch): NativeHandle {
  const hit = batchHandles.get(batch);
  if (hit !== undefined && hit.addon === addon) return hit.handle;
  const handle = addon.bind(Group.BATCH, pick(BATCH_FIELDS, batch as unknown as Record<string, unknown>, 'batch'));
  batchHandles.set(batch, { addon, handle });
  return handle;
}

/** The LpmTable's own fields this engine mirrors; any other shape means lpm.ts changed and C must follow. */
const LPM_FIELDS = ['best', 'direct', 'hasHost6', 'lengths', 'podBase', 'podSize', 'pods', 'scratch', 'table'];

/**
 * The LpmTable's search data, read from the table itself (its private fields: the TS class is the
 * definition, and this fails loudly if it changes shape): whether IPv6 has full-length entries, the
 * searched prefix lengths per family (shortest first), the best real prefix per stored key, the IPv4 /16
 * table and the pod block (geometry and table).
 */
function ipcacheInternals(p: LoadedEbpf): LpmInternals {
  const t = p.ipcache as unknown as LpmInternals;
  const shape = Object.keys(t).sort().join(',');
  if (shape !== LPM_FIELDS.join(',') || !(t.lengths[0] instanceof Int32Array) || !(t.best instanceof Int32Array) || !(t.direct instanceof Int32Array) || !(t.pods instanceof Int32Array)) {
    throw new Error(`native eBPF: LpmTable changed shape (fields ${shape}); native/src/ebpf.cc and src/native/engine.ts must follow`);
  }
  return t;
}

interface LpmInternals {
  lengths: [Int32Array, Int32Array]; best: Int32Array; hasHost6: boolean; direct: Int32Array; pods: Int32Array; podBase: number; podSize: number;
}

/**
 * Slots of a native model's decision cache by default (native/src/decision-cache.h; eBPF: 1 MiB, half of
 * this machine's L2; iptables: 4 MiB). The bench's traffic has about 3,200 distinct flows at every tier
 * (bench/NOTES.md, 2026-11-28 12:06).
 */
export const DEFAULT_DECISION_SLOTS = 16384;

export interface NativeModelOptions {
  /**
   * Decision cache slots (a power of two; 0: none, every opening decided by the model's lookups or walk).
   * The cache changes no result.
   */
  decisions?: number;
}

export interface NativeEbpfOptions extends NativeModelOptions {
  /** `hits` shared with the other lanes of a replay, added to atomically. */
  sharedHits?: boolean;
}

function decisionSlots(decisions: number): number {
  if (!Number.isInteger(decisions) || decisions < 0 || decisions > 1 << 24 || (decisions & (decisions - 1)) !== 0) {
    throw new RangeError(`native model: decision cache slots must be 0 or a power of two up to 2^24, not ${decisions}`);
  }
  return decisions;
}

export function nativeEbpf(addon: NativeAddon, p: LoadedEbpf, options: NativeEbpfOptions = {}): NativeModelHandle {
  const { sharedHits = false } = options;
  const decisions = decisionSlots(options.decisions ?? DEFAULT_DECISION_SLOTS);
  const { lengths: [l4, l6], best, hasHost6, direct, pods, podBase, podSize } = ipcacheInternals(p);
  const params = new Uint32Array(EbpfParam.COUNT);
  params[EbpfParam.IPC_SEED] = p.ipcache.table.seed;
  params[EbpfParam.POLICY_SEED] = p.policy.seed;
  params[EbpfParam.ALLOW_LOOPBACK] = p.allowLoopback ? 1 : 0;
  params[EbpfParam.ALLOW_NODE_TRAFFIC] = p.allowNodeTraffic ? 1 : 0;
  params[EbpfParam.HAS_HOST6] = hasHost6 ? 1 : 0;
  params[EbpfParam.POD_BASE] = podBase;
  params[EbpfParam.POD_SIZE] = podSize;
  params[EbpfParam.SHARED_HITS] = sharedHits ? 1 : 0;
  params[EbpfParam.HAS_DENY] = p.anyDeny ? 1 : 0;
  params[EbpfParam.DECISIONS] = decisions;
  const probes = new Float64Array(3);
  const source: Record<string, unknown> = {
    ipcSlots: p.ipcache.table.words, ipcBest: best, ipcLengths4: l4, ipcLengths6: l6, ipcDirect: direct, ipcPods: pods,
    ipcIdentity: p.ipcIdentity, ipcEndpoint: p.ipcEndpoint, ipcNode: p.ipcNode, polSlots: p.policy.words, rowPlen: p.rowPlen, rowDeny: p.rowDeny, epFlags: p.epFlags, epNode: p.epNode,
    epMask: p.epMask, epTemplate: p.epTemplate, hits: p.hits, params, probes,
  };
  const handle = addon.bind(Group.EBPF, pick(EBPF_FIELDS, source, 'eBPF'));
  // Its probes settle into the same tables' counters as these (settleProbes).
  const lane = (): NativeModelHandle => nativeEbpf(addon, p, { sharedHits: true, decisions });
  return { addon, model: NativeModel.EBPF, handle, probes, loaded: p, lane, decisionsCached: () => probes[2]! };
}

function familyHandle(addon: NativeAddon, f: PackedFamily, depth: number): NativeHandle {
  const params = new Int32Array(IptParam.COUNT);
  params[IptParam.ENTRY] = f.entry;
  params[IptParam.DEPTH] = depth;
  return addon.bind(Group.IPT_FAMILY, pick(IPT_FAMILY_FIELDS, { ...f, params } as Record<string, unknown>, 'iptables family'));
}

/** Every PackedSet concatenated into the shared arrays of IPT_SETS_FIELDS. */
export function flattenSets(sets: readonly PackedSet[]): Record<string, ArrayBufferView> {
  const n = sets.length;
  // Sets whose members are one shared list share one packed table (iptables-sets.ts packSet), and the
  // tables are read-only: each distinct table is copied once and every set naming it points there. At
  // the stress tier 35,516 sets hold 94M members, mostly the same lists: copied per set they were 7 GB.
  const distinct = [...new Set(sets)];
  const out = {
    kind: new Uint8Array(n), mask: new Uint32Array(n), slotStart: new Uint32Array(n), prefixStart: new Uint32Array(n),
    prefixCount: new Uint32Array(n),
    keys: new Uint32Array(distinct.reduce((k, s) => k + s.keys.length, 0)),
    state: new Uint8Array(distinct.reduce((k, s) => k + s.state.length, 0)),
    prefixes: new Int32Array(distinct.reduce((k, s) => k + s.prefixes.length, 0)),
    prefixMasks: new Uint32Array(distinct.reduce((k, s) => k + s.prefixMasks.length, 0)),
  };
  const at = new Map<PackedSet, { slot: number; prefix: number }>();
  let slot = 0;
  let prefix = 0;
  for (const s of distinct) {
    at.set(s, { slot, prefix });
    out.keys.set(s.keys, slot * 5);
    out.state.set(s.state, slot);
    out.prefixes.set(s.prefixes, prefix);
    out.prefixMasks.set(s.prefixMasks, prefix * 4);
    slot += s.state.length;
    prefix += s.prefixes.length;
  }
  sets.forEach((s, i) => {
    const where = at.get(s)!;
    out.kind[i] = s.kind;
    out.mask[i] = s.mask;
    out.slotStart[i] = where.slot;
    out.prefixStart[i] = where.prefix;
    out.prefixCount[i] = s.prefixes.length;
  });
  return out;
}

/**
 * The reference model on the native engine: conntrack's verdict on known connections in C, and on an
 * opening packet its flow's verdict from a cache in C, which asks `verdictOf` (the evaluator) for each
 * flow it has not kept, over `batch`, the batch being run. A lane's handle has its own cache, and its
 * rows are in the lane's own batch in C: each flow is copied to a one-row question batch, and asked on
 * this thread whichever thread runs the lane (native/src/desk.h).
 */
export function nativeReference(addon: NativeAddon, verdictOf: (batch: FlowBatch, row: number) => number, batch: FlowBatch): NativeModelHandle {
  const handle = addon.bindReference((row) => verdictOf(batch, row));
  const lane = (): NativeModelHandle => {
    const question = new FlowBatch(1);
    return { ...self, handle: addon.bindReference((row) => verdictOf(question, row), batchHandle(addon, question)) };
  };
  const self: NativeModelHandle = { addon, model: NativeModel.REFERENCE, handle, probes: null, loaded: null, lane, decisionsCached: () => 0 };
  return self;
}

export function nativeIptables(addon: NativeAddon, m: IptablesMatcher, options: NativeModelOptions = {}): NativeModelHandle {
  const slots = decisionSlots(options.decisions ?? DEFAULT_DECISION_SLOTS);
  return iptablesHandle(addon, m.v4, m.v6, m.stackPc.length, setsHandle(addon, m), slots);
}

/**
 * A matcher's ipsets as the addon binds them, once per list of sets and addon: flattening copies every
 * distinct member table (48 MB at the stress tier, 0.1-0.8 s with its fresh memory, which each replay on
 * the same compiled model paid again; a replay's matcher may be a copy with counters of its own, the sets
 * shared), and C only reads them, so every replay and lane on them shares one binding.
 */
const setsBindings = new WeakMap<IptablesMatcher['sets'], { addon: NativeAddon; handle: NativeHandle }>();

function setsHandle(addon: NativeAddon, m: IptablesMatcher): NativeHandle {
  const hit = setsBindings.get(m.sets);
  if (hit !== undefined && hit.addon === addon) return hit.handle;
  const handle = addon.bind(Group.IPT_SETS, pick(IPT_SETS_FIELDS, flattenSets(m.sets), 'ipsets'));
  setsBindings.set(m.sets, { addon, handle });
  return handle;
}

/** The families bound over `sets` (bound once, read only: lanes share them), each handle with its own walk cache. */
function iptablesHandle(addon: NativeAddon, v4: PackedFamily, v6: PackedFamily, depth: number, sets: NativeHandle, slots: number): NativeModelHandle {
  // The TS walk shares one stack sized for the deeper family; so does the addon (max of the two).
  const cached = new Float64Array(1);
  const handle = addon.bindIptables(familyHandle(addon, v4, depth), familyHandle(addon, v6, depth), sets, slots, cached);
  // A lane's own counters in the addon's quiet sparse memory, as loadIptables takes them (iptables-pack.ts ruleCounters says why).
  const sparse = nativeTables(addon).allocateSparse;
  const lane = (): NativeModelHandle => {
    const [own4, own6] = [withOwnCounters(v4, sparse), withOwnCounters(v6, sparse)];
    return { ...iptablesHandle(addon, own4, own6, depth, sets, slots), foldCounters: () => { addCounters(v4, own4); addCounters(v6, own6); } };
  };
  const self: NativeModelHandle = {
    addon, model: NativeModel.IPTABLES, handle, probes: null, loaded: null,
    lane: (index) => (index === 0 ? self : lane()), decisionsCached: () => cached[0]!,
  };
  return self;
}

/** Adds a lane's rule counters into the family's own. */
function addCounters(into: PackedFamily, from: PackedFamily): void {
  for (let r = 0; r < from.packets.length; r++) {
    if (from.packets[r] === 0) continue;
    into.packets[r]! += from.packets[r]!;
    into.bytes[r]! += from.bytes[r]!;
  }
}

/** Moves the probes the addon counted into the JS tables' counters (probesSoFar stays exact). */
export function settleProbes(nm: NativeModelHandle): void {
  if (nm.probes === null || nm.loaded === null) return;
  nm.loaded.ipcache.table.probes += nm.probes[0]!;
  nm.loaded.policy.probes += nm.probes[1]!;
  nm.probes[0] = 0;
  nm.probes[1] = 0;
}

/** Classifies rows [0, batch.count) whose ctState is set: one addon call. */
export function classifyNative(nm: NativeModelHandle, batch: FlowBatch): void {
  nm.addon.classify(nm.model, nm.handle, batchHandle(nm.addon, batch), batch.count);
  settleProbes(nm);
}

/**
 * Decodes rows [0, batch.count) from their records in `chunk` (the reader's chunk, valid until its next
 * fill; the reader opened with `decode: false`), as the TypeScript decoder would have: one addon call.
 */
export function decodeNative(addon: NativeAddon, chunk: Uint8Array, batch: FlowBatch): void {
  addon.decode(chunk, batchHandle(addon, batch), batch.count);
}

const ctHandles = new WeakMap<Conntrack, { addon: NativeAddon; handle: NativeHandle; pending: Uint8Array }>();

/** The tracker's timeouts flattened into Timeout slots. */
export function timeoutSlots(ct: Conntrack): Float64Array {
  const t = ct.timeouts;
  const out = new Float64Array(Timeout.COUNT);
  for (let s = 0; s < 10; s++) out[Timeout.TCP + s] = t.tcp[s]!;
  out[Timeout.TCP_UNACKNOWLEDGED] = t.tcpUnacknowledged;
  out[Timeout.UDP_UNREPLIED] = t.udpUnreplied;
  out[Timeout.UDP_REPLIED] = t.udpReplied;
  out[Timeout.UDP_STREAM_AFTER] = t.udpStreamAfter;
  out[Timeout.ICMP] = t.icmp;
  out[Timeout.ICMPV6] = t.icmpv6;
  out[Timeout.GENERIC] = t.generic;
  out[Timeout.SCTP_COOKIE_WAIT] = t.sctpCookieWait;
  out[Timeout.SCTP_ESTABLISHED] = t.sctpEstablished;
  out[Timeout.FRAGMENT] = t.fragment;
  out[Timeout.GRE_UNREPLIED] = t.greUnreplied;
  out[Timeout.GRE_REPLIED] = t.greReplied;
  return out;
}

/** The addon's handle of the tracker's arrays (per-row scratch for `rows`), bound on first use. */
export function conntrackHandle(addon: NativeAddon, ct: Conntrack, rows: number): NativeHandle {
  ensureRows(ct, rows);
  const hit = ctHandles.get(ct);
  // ensureRows may have replaced the per-row scratch: rebind then (rare: a bigger batch).
  if (hit !== undefined && hit.addon === addon && hit.pending === ct.pending) return hit.handle;
  const t = ct.table;
  const params = new Int32Array(CtParam.COUNT);
  params[CtParam.TABLE_MASK] = t.mask;
  params[CtParam.FRAG_MASK] = ct.fragments.mask;
  const source: Record<string, unknown> = {
    slots: t.slots, tuples: t.tuples, prev: t.prev, next: t.next, free: t.free, meta: t.meta,
    state: ct.state, status: ct.status, lastIndex: ct.lastIndex, lastDir: ct.lastDir, expires: ct.expires,
    streamAt: ct.streamAt, counters: ct.counters, fragKeys: ct.fragments.keys, fragVerdict: ct.fragments.verdict,
    fragCtState: ct.fragments.ctState, fragExpires: ct.fragments.expires, now: ct.now, pending: ct.pending,
    fragmentVerdict: ct.fragmentVerdict, timeouts: timeoutSlots(ct), params,
  };
  const handle = addon.bind(Group.CONNTRACK, pick(CONNTRACK_FIELDS, source, 'conntrack'));
  ctHandles.set(ct, { addon, handle, pending: ct.pending });
  return handle;
}

/**
 * Rows [0, batch.count) in capture order through conntrack and the model, as src/replay/models.ts runRow
 * does row by row: track, the model (a later fragment follows its first), confirm. One addon call.
 * Returns the later fragments dropped because their first was never seen (RowModel.orphanFragments).
 */
export function runNative(nm: NativeModelHandle, ct: Conntrack, batch: FlowBatch): number {
  const orphans = nm.addon.run(nm.model, nm.handle, conntrackHandle(nm.addon, ct, batch.capacity), batchHandle(nm.addon, batch), batch.count);
  settleProbes(nm);
  return orphans;
}
