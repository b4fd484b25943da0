/**
 * The per-row dataplanes a replay drives, each with its own connection tracker (the models may disagree,
 * and then their conntrack tables differ, as two real nodes' would). Per row, in the kernel's order:
 *
 *   conntrack track (PREROUTING) -> the model's filter decision -> conntrack confirm (as the packet leaves)
 *
 * Later fragments are not filtered on their own: they follow their first fragment's verdict (the kernel
 * reassembles before the filter sees ports); one whose first was never seen is dropped.
 *
 * The iptables and eBPF models classify rows with their compiled tables and allocate nothing per row.
 * The reference model is the evaluator on NEW packets (cached per flow) with the same conntrack:
 * ESTABLISHED and RELATED pass, INVALID drops, as both compiled models do.
 */
import { compileEbpf } from '../compile/ebpf/compile.js';
import { compileIptables } from '../compile/iptables/index.js';
import { confirm, FRAGMENT_WITHOUT_FIRST, laterFragmentVerdict, newConntrack, track, type Conntrack, type ConntrackOptions } from '../conntrack/index.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import { DecisionMemo } from '../model/decision-memo.js';
import { hasPolicyPort, type EvalOptions } from '../model/evaluate.js';
import { ipFromWords } from '../model/ip.js';
import type { ModelName } from '../match/dataplane.js';
import { classifyRow as classifyEbpf, loadEbpf, type LoadedEbpf } from '../match/ebpf.js';
import type { TableSupport } from '../match/hash-table.js';
import { classifyRow as classifyIptables, loadIptables, type IptablesMatcher } from '../match/iptables.js';
import { CtState, RowFlag, Verdict, type FlowBatch } from '../wire/flow-batch.js';
import { nativeEbpf, nativeIptables, nativeReference, type NativeModelHandle } from '../native/engine.js';
import type { NativeAddon } from '../native/load.js';
import { VerdictCache } from './verdict-cache.js';

export interface RowModel {
  readonly name: ModelName;
  readonly conntrack: Conntrack;
  /** Writes batch.verdict[i] (and cost, decidedBy) for a row that conntrack has tracked. */
  classify(batch: FlowBatch, i: number): void;
  /** Packets dropped as later fragments without a first. */
  orphanFragments: number;
}

/** Track, decide, confirm one row with one model; returns the verdict. */
export function runRow(model: RowModel, batch: FlowBatch, i: number): number {
  const ct = model.conntrack;
  track(ct, batch, i);
  if ((batch.flags[i]! & RowFlag.LATER_FRAGMENT) !== 0 && batch.family[i] !== 0) {
    const v = laterFragmentVerdict(ct, i);
    if (v === FRAGMENT_WITHOUT_FIRST) model.orphanFragments++;
    batch.verdict[i] = v === Verdict.ACCEPT ? Verdict.ACCEPT : Verdict.DROP;
    batch.cost[i] = 0;
    batch.decidedBy[i] = -1;
  } else {
    model.classify(batch, i);
  }
  confirm(ct, batch, i);
  return batch.verdict[i]!;
}

/**
 * `tracker`: the model's conntrack (its capacity; `allocate`, the memory of its arrays: src/native/load.ts
 * hugeAllocator when the addon is loaded). `decisions`: where the reference model keeps its Decisions
 * (ReplayOptions.decisions), of this index and these options; absent, it keeps none. `tables`: what the
 * eBPF model's hash tables and the iptables model's rule counters take from the addon (src/native/load.ts
 * nativeTables), when it is loaded.
 */
export function buildRowModel(
  name: ModelName, index: ClusterIndex, options: EvalOptions, tracker: ConntrackOptions = {}, decisions?: DecisionMemo,
  tables: TableSupport = {},
): RowModel {
  switch (name) {
    case 'iptables': return iptablesModel(loadIptables(compileIptables(index, options), tables), tracker);
    case 'ebpf': return ebpfModel(loadEbpf(compileEbpf(index, options), tables), tracker);
    case 'reference': return referenceModel(memoOf(index, options, decisions), tracker);
  }
}

function memoOf(index: ClusterIndex, options: EvalOptions, decisions: DecisionMemo | undefined): DecisionMemo {
  if (decisions === undefined) return new DecisionMemo(index, options, 0);
  if (decisions.index !== index || decisions.options !== options) throw new Error('the reference model\'s memo is of another cluster or other options');
  return decisions;
}

/**
 * The model's native handle (its compiled tables bound to the addon). The reference model has one only
 * for a replay that runs it alone (src/replay/fused.ts, on lanes ./fused-lanes.ts), over `batch`, whose
 * rows its evaluator reads when the C side asks; else null: it runs in TypeScript (as it does beside the
 * compiled models with --model all, so that their conntrack in C is checked against its conntrack in
 * TypeScript).
 */
export function nativeHandleOf(addon: NativeAddon, model: RowModel, batch?: FlowBatch): NativeModelHandle | null {
  const m = model as RowModel & { matcher?: IptablesMatcher; loaded?: LoadedEbpf; verdictOf?: (batch: FlowBatch, i: number) => number };
  if (m.matcher) return nativeIptables(addon, m.matcher);
  if (m.loaded) return nativeEbpf(addon, m.loaded);
  if (m.verdictOf && batch) return nativeReference(addon, m.verdictOf, batch);
  return null;
}

function iptablesModel(m: IptablesMatcher, tracker: ConntrackOptions): RowModel & { matcher: IptablesMatcher } {
  return { name: 'iptables', matcher: m, conntrack: newConntrack(tracker), orphanFragments: 0, classify: (b, i) => classifyIptables(m, b, i) };
}

function ebpfModel(p: LoadedEbpf, tracker: ConntrackOptions): RowModel & { loaded: LoadedEbpf } {
  return { name: 'ebpf', loaded: p, conntrack: newConntrack(tracker), orphanFragments: 0, classify: (b, i) => classifyEbpf(p, b, i) };
}

/**
 * The oracle per row: conntrack's verdict on known connections, the evaluator on opening packets.
 * `verdictOf`: the evaluator's verdict for a row's flow, through `decisions` (the replay's memo, kept for
 * its report; one that keeps nothing when the replay has none): the verdicts' own caches are the
 * VerdictCache below and, on the native engine, the one in C, which asks only for flows it has not kept.
 */
function referenceModel(decisions: DecisionMemo, tracker: ConntrackOptions): RowModel & { verdictOf: (batch: FlowBatch, i: number) => number } {
  const verdictOf = (batch: FlowBatch, i: number): number => {
    const proto = batch.proto[i]!;
    const family = batch.family[i] as 4 | 6;
    const flow = {
      src: ipFromWords(family, batch.src, i * 4), dst: ipFromWords(family, batch.dst, i * 4),
      protocol: proto, dstPort: hasPolicyPort(proto) ? batch.dstPort[i]! : 0,
    };
    return decisions.decide(flow).allowed ? Verdict.ACCEPT : Verdict.DROP;
  };
  const cache = new VerdictCache();
  const decide = (batch: FlowBatch, i: number): number => {
    let v = cache.find(batch, i, hasPolicyPort(batch.proto[i]!));
    if (v < 0) {
      v = verdictOf(batch, i);
      cache.store(v);
    }
    return v;
  };
  return {
    name: 'reference', conntrack: newConntrack(tracker), orphanFragments: 0, verdictOf,
    classify(batch, i) {
      batch.cost[i] = 0;
      batch.decidedBy[i] = -1;
      const family = batch.family[i];
      const ct = batch.ctState[i];
      if (family !== 4 && family !== 6) batch.verdict[i] = Verdict.NONE;
      else if (ct === CtState.ESTABLISHED || ct === CtState.RELATED) batch.verdict[i] = Verdict.ACCEPT;
      else if (ct === CtState.INVALID) batch.verdict[i] = Verdict.DROP;
      else batch.verdict[i] = decide(batch, i);
    },
  };
}

