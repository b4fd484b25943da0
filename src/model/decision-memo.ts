/**
 * The reference evaluator's Decisions, kept per flow: a replay's reference model asks the evaluator once
 * per new flow for a verdict, and its report then asks again for the same flows' whole Decisions (which
 * policies isolate each end, which rules allow). With one memo for both, the report finds them made:
 * the evaluations of a cold process cost 20 to 50 us each, twice over for every flow.
 *
 * A Decision is a pure function of the cluster, the flow and the options, so whoever asks first, the
 * answer is the same. At most `most` flows are kept (the report keeps its own for the rest).
 */
import type { ClusterIndex } from './cluster-index.js';
import { evaluate, hasPolicyPort, type Decision, type EvalOptions, type Flow } from './evaluate.js';

/** Flows a memo keeps by default: a real-tier replay has a few thousand, each Decision a few hundred bytes. */
export const MEMO_FLOWS = 1 << 16;

export class DecisionMemo {
  private readonly kept = new Map<string, Decision>();

  constructor(readonly index: ClusterIndex, readonly options: EvalOptions, private readonly most = MEMO_FLOWS) {}

  /** Flows kept so far. */
  get size(): number {
    return this.kept.size;
  }

  decide(flow: Flow): Decision {
    if (this.most === 0) return evaluate(this.index, flow, this.options);
    const key = flowKey(flow);
    let d = this.kept.get(key);
    if (d === undefined) {
      d = evaluate(this.index, flow, this.options);
      if (this.kept.size < this.most) this.kept.set(key, d);
    }
    return d;
  }
}

/** What the evaluator reads of a flow: both addresses, the protocol, and the port where it has one. */
function flowKey(f: Flow): string {
  const port = hasPolicyPort(f.protocol) ? f.dstPort : 0;
  return `${f.src.family} ${f.src.value} ${f.dst.value} ${f.protocol} ${port}`;
}
