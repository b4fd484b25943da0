/**
 * The reference evaluator's Decision per distinct flow of the census, made the first time a flow is
 * asked for (the policy hits ask for every flow that opened a connection, the denied rows for theirs),
 * through the replay's DecisionMemo when it has one: its reference model already decided those flows.
 */
import type { Decision } from '../model/evaluate.js';
import type { DecisionMemo } from '../model/decision-memo.js';
import { flowAddress, FLOW_WIDTH } from './connection-census.js';
import type { TupleInterner } from './tuple-interner.js';

export class DecisionsByFlow {
  private readonly decisions = new Map<number, Decision>();

  constructor(private readonly flows: TupleInterner, private readonly memo: DecisionMemo) {}

  of(flow: number): Decision {
    let d = this.decisions.get(flow);
    if (d === undefined) {
      const key = this.flows.keys;
      const at = flow * FLOW_WIDTH;
      const src = flowAddress(this.flows, flow, 0);
      const dst = flowAddress(this.flows, flow, 1);
      d = this.memo.decide({ src, dst, protocol: key[at]! & 0xff, dstPort: key[at + 1]! });
      this.decisions.set(flow, d);
    }
    return d;
  }
}
