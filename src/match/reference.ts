/**
 * The reference evaluator behind the per-flow Dataplane interface, so that probe, explain and the
 * differential tests treat the oracle and the compiled models alike.
 */
import type { ClusterIndex } from '../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, type Decision, type DirectionDecision, type EvalOptions, type Flow } from '../model/evaluate.js';
import type { Dataplane, OpeningVerdict } from './dataplane.js';

export class ReferenceDataplane implements Dataplane {
  readonly model = 'reference' as const;

  constructor(readonly index: ClusterIndex, readonly options: EvalOptions = DEFAULT_EVAL_OPTIONS) {}

  decideOpening(flow: Flow): OpeningVerdict {
    const decision = evaluate(this.index, flow, this.options);
    return {
      allowed: decision.allowed,
      cost: 0,
      decidedBy: decidingRule(decision),
      path: [describeDirection(decision.egress), describeDirection(decision.ingress)],
    };
  }
}

/** The rule reports name: the first allowing rule of the deciding direction, or what denied. */
export function decidingRule(decision: Decision): string | null {
  const denied = !decision.egress.allowed ? decision.egress : !decision.ingress.allowed ? decision.ingress : null;
  if (denied) return `${denied.direction} of ${denied.pod}: no rule of ${denied.policies.join(', ')} allows`;
  const by = decision.ingress.allowedBy[0] ?? decision.egress.allowedBy[0];
  return by ? `${by.policy} ${by.direction} rule ${by.rule}` : null;
}

/** One line per direction: who is isolated by what, and what allowed or that nothing did. */
export function describeDirection(d: DirectionDecision): string {
  const where = `${d.direction} at ${d.pod ?? 'an address that is no pod'}`;
  switch (d.reason) {
    case 'not-a-pod': return `${where}: not constrained (only pod ends are)`;
    case 'not-isolated': return `${where}: not isolated (no policy selects it for ${d.direction}): allowed`;
    case 'loopback': return `${where}: a pod to itself: allowed (loopback)`;
    case 'node-traffic': return `${where}: traffic with its own node: allowed`;
    case 'allowed-by-policy': {
      const by = d.allowedBy.map((r) => `${r.policy} ${r.direction} rule ${r.rule}`).join(', ');
      return `${where}: isolated by ${d.policies.join(', ')}; allowed by ${by}`;
    }
    case 'no-rule-allows': return `${where}: isolated by ${d.policies.join(', ')}; no rule allows: denied`;
  }
}
