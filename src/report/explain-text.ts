/**
 * Text rendering of `explain`: the verdict, then each direction with its policies and every rule
 * with what matched, then (for a compiled model) the path it walked.
 */
import type { OpeningVerdict } from '../match/dataplane.js';
import type { ModelName } from '../match/dataplane.js';
import { describeDirection } from '../match/reference.js';
import type { Decision, DirectionDecision } from '../model/evaluate.js';

export interface Explanation {
  readonly from: string;
  readonly to: string;
  readonly protocol: string;
  readonly port: number;
  readonly allowed: boolean;
  /** The reference evaluator's decision: the reasons in the API's terms. */
  readonly reference: Decision;
  /** The compiled model's verdict and path; null when the model is the reference. */
  readonly dataplane: OpeningVerdict | null;
  readonly agreesWithReference: boolean;
}

export function renderExplanations(list: readonly Explanation[], model: ModelName, service: string | null): string {
  const out: string[] = [];
  if (service) out.push(`Service ${service}: ${list.length} backend(s), each evaluated after DNAT`);
  for (const e of list) out.push(...renderOne(e, model), '');
  return out.join('\n');
}

function renderOne(e: Explanation, model: ModelName): string[] {
  const lines = [`${e.protocol} port ${e.port} from ${e.from} to ${e.to}: ${e.allowed ? 'ALLOWED' : 'DENIED'} (model ${model})`];
  for (const d of [e.reference.egress, e.reference.ingress]) lines.push(`  ${describeDirection(d)}`, ...ruleLines(d));
  if (e.dataplane) {
    lines.push(`  ${model}: ${e.dataplane.allowed ? 'accepted' : 'dropped'} at cost ${e.dataplane.cost}` +
      (e.dataplane.decidedBy ? `, decided by ${e.dataplane.decidedBy}` : ''));
    lines.push(...e.dataplane.path.map((p) => `    ${p}`));
    if (!e.agreesWithReference) lines.push(`  WARNING: the ${model} model disagrees with the reference evaluator`);
  }
  return lines;
}

function ruleLines(d: DirectionDecision): string[] {
  return d.trace.map((t) => {
    const verdict = t.peerMatched && t.portMatched ? 'allows' : 'does not match';
    return `    ${t.policy} ${t.direction} rule ${t.rule}: peer ${t.peerMatched ? 'matches' : 'does not match'}, ` +
      `port ${t.portMatched ? 'matches' : 'does not match'}: ${verdict}`;
  });
}
