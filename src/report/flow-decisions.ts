/**
 * The reference evaluator's Decision per distinct flow of the census, made the first time a flow is
 * asked for (the policy hits ask for every flow that opened a connection, the denied rows for theirs).
 *
 * Each flow is evaluated against a view of the cluster that holds only the policies of its two ends'
 * namespaces. A NetworkPolicy's podSelector "selects pods in the policy's namespace", so no other policy
 * can isolate either end and the Decision is the same; but the evaluator filters the policies it is given
 * twice per flow, which on a cluster of thousands of policies was most of the report's time.
 */
import { podAt, type ClusterIndex } from '../model/cluster-index.js';
import { evaluate, type Decision, type EvalOptions } from '../model/evaluate.js';
import type { IpAddr } from '../model/ip.js';
import type { NetworkPolicy } from '../model/types.js';
import { flowAddress, FLOW_WIDTH } from './connection-census.js';
import type { TupleInterner } from './tuple-interner.js';

export class DecisionsByFlow {
  private readonly decisions = new Map<number, Decision>();
  /** Views of the cluster by the pair of namespaces they keep the policies of. */
  private readonly views = new Map<string, ClusterIndex>();
  /** The policies by namespace, each namespace's in model order, made on first use. */
  private byNamespace: Map<string, NetworkPolicy[]> | null = null;

  constructor(private readonly flows: TupleInterner, private readonly index: ClusterIndex, private readonly options: EvalOptions) {}

  of(flow: number): Decision {
    let d = this.decisions.get(flow);
    if (d === undefined) {
      const key = this.flows.keys;
      const at = flow * FLOW_WIDTH;
      const src = flowAddress(this.flows, flow, 0);
      const dst = flowAddress(this.flows, flow, 1);
      d = evaluate(this.viewFor(src, dst), { src, dst, protocol: key[at]! & 0xff, dstPort: key[at + 1]! }, this.options);
      this.decisions.set(flow, d);
    }
    return d;
  }

  /** The cluster with only the policies of the namespaces of the pods at src and dst (none for an end that is no pod). */
  private viewFor(src: IpAddr, dst: IpAddr): ClusterIndex {
    // '' for an end that is no pod: a namespace name is a DNS label, never empty, never with a newline.
    const a = podAt(this.index, src)?.namespace ?? '';
    const b = podAt(this.index, dst)?.namespace ?? '';
    const name = b < a ? `${b}\n${a}` : `${a}\n${b}`;
    let view = this.views.get(name);
    if (view === undefined) {
      view = { ...this.index, cluster: { ...this.index.cluster, policies: this.policiesOf(a, b) } };
      this.views.set(name, view);
    }
    return view;
  }

  /**
   * The policies of namespaces a and b. The order between the two namespaces' does not show: a Decision
   * lists, per direction, the policies of one pod's namespace, in model order.
   */
  private policiesOf(a: string, b: string): readonly NetworkPolicy[] {
    const byNamespace = this.byNamespace ??= policiesByNamespace(this.index.cluster.policies);
    const of = (ns: string): readonly NetworkPolicy[] => (ns === '' ? [] : byNamespace.get(ns) ?? []);
    return a === b ? of(a) : [...of(a), ...of(b)];
  }
}

function policiesByNamespace(policies: readonly NetworkPolicy[]): Map<string, NetworkPolicy[]> {
  const byNamespace = new Map<string, NetworkPolicy[]>();
  for (const p of policies) {
    const list = byNamespace.get(p.namespace);
    if (list) list.push(p);
    else byNamespace.set(p.namespace, [p]);
  }
  return byNamespace;
}
