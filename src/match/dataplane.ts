/**
 * What `probe`, `explain` and the differential tests need from any model: the verdict on the opening
 * packet of a connection (conntrack state NEW), with its cost and the path that decided it.
 *
 * This is the slow, per-flow entry point (one call per flow, allocation allowed). Replays use each
 * model's batch matcher over a FlowBatch instead.
 */
import type { Flow } from '../model/evaluate.js';

export type ModelName = 'reference' | 'iptables' | 'ebpf';

export interface OpeningVerdict {
  readonly allowed: boolean;
  /** Rules evaluated (iptables), hash and LPM probes (eBPF), 0 for the reference. */
  readonly cost: number;
  /** What decided, in the model's own terms (a rule with its comment, a map entry with its identity). */
  readonly decidedBy: string | null;
  /** Every step taken, one line each, for `explain` (rules walked, probes made). */
  readonly path: readonly string[];
}

export interface Dataplane {
  readonly model: ModelName;
  decideOpening(flow: Flow): OpeningVerdict;
}
