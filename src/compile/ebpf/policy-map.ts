/**
 * Per-endpoint policy map entries: for every rule of every policy that isolates the endpoint in a
 * direction, the cross product of the identities its peers select and the port keys its ports name.
 * Keys are deduplicated; the first rule in model order that produced a key is named first, so the
 * entry that decides can be traced to a rule.
 *
 * Precedence needs no compile-time work while every entry allows: the matcher's fixed probe sequence
 * picks the most specific match (see PROBE_SEQUENCE), and any match allows.
 *
 * The real tier has five million entries: a rule's (identity, port key) pairs are worked out once per
 * rule (emissions.ts); endpoints whose maps are made of the same pairs share one template of rows,
 * deduplicated once (map-draft.ts) and written straight into columns (columns.ts), with origins as ids
 * of shared objects.
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import type { EvalOptions } from '../../model/evaluate.js';
import { selectorMatches } from '../../model/labels.js';
import { qualifiedName, type Direction, type NetworkPolicy, type Pod } from '../../model/types.js';
import { ColumnsBuilder } from './columns.js';
import { PortKeyTable, RuleEmissions, type Emission } from './emissions.js';
import { MapDraft } from './map-draft.js';
import type { IdentityTable } from './identities.js';
import { DIR_EGRESS, DIR_INGRESS, ReservedIdentity } from './layout.js';
import { ANY_PORT } from './ports.js';
import type { EntryOrigin, PolicyColumns } from './program.js';
import { RemoteIndex } from './remotes.js';

/** Origins as small integers: one shared object per rule (and per direction for allow-localhost). */
class OriginTable {
  readonly table: EntryOrigin[] = [];
  private readonly byPolicy = new Map<NetworkPolicy, { ingress: number[]; egress: number[] }>();
  private readonly localhost = new Map<Direction, number>();

  ofRule(policy: NetworkPolicy, direction: Direction, rule: number): number {
    let ids = this.byPolicy.get(policy);
    if (!ids) this.byPolicy.set(policy, ids = { ingress: [], egress: [] });
    return ids[direction][rule] ??= this.table.push({ policy: qualifiedName(policy), direction, rule }) - 1;
  }

  ofLocalhost(direction: Direction): number {
    let id = this.localhost.get(direction);
    if (id === undefined) this.localhost.set(direction, id = this.table.push({ policy: 'allow-localhost', direction, rule: -1 }) - 1);
    return id;
  }
}

/** What a map is made of: each rule's pairs and origin, in model order. */
interface MapPlan {
  readonly direction: Direction;
  readonly rules: readonly { readonly emission: Emission; readonly origin: number }[];
}

/**
 * Every endpoint's policy maps, ingress then egress, endpoint by endpoint. Endpoints whose maps are
 * made of the same rule pairs (same isolating policies and, for ingress named ports, the same
 * resolutions) share one template of rows, deduplicated once (see PolicyColumns). The templates are
 * planned first, so that their rows are bounded and the columns allocated once.
 */
export class PolicyMapBuilder {
  readonly policyMap: PolicyColumns;
  private readonly origins = new OriginTable();
  private readonly portKeys = new PortKeyTable();
  private readonly draft = new MapDraft();
  /** Template of endpoint `i`'s map in direction `d` at [2 * i + d]; -1: no policy isolates it. */
  private readonly mapTemplate: Int32Array;
  private readonly templateSize: Int32Array;

  constructor(index: ClusterIndex, ids: IdentityTable, private readonly options: EvalOptions, pods: readonly Pod[]) {
    const emissions = new RuleEmissions(new RemoteIndex(index, ids), this.portKeys);
    this.mapTemplate = new Int32Array(pods.length * 2).fill(-1);
    const plans = this.plan(index, emissions, pods);
    let bound = 0;
    for (const plan of plans) for (const r of plan.rules) bound += r.emission.pairCount;
    if (options.allowNodeTraffic) bound += plans.length;
    const out = new ColumnsBuilder(bound, bound, pods.length * 2);
    for (const plan of plans) this.writeTemplate(plan, out);
    for (let m = 0; m < this.mapTemplate.length; m++) {
      if (this.mapTemplate[m]! >= 0) out.addMap(m >> 1, m & 1, this.mapTemplate[m]!);
    }
    this.templateSize = Int32Array.from(plans, (_, t) => out.templateSize(t));
    this.policyMap = out.finish(this.origins.table);
  }

  /** Whether the endpoint's map in that direction is enforced, and its entries. */
  mapOf(endpoint: number, direction: Direction): { isolated: boolean; count: number } {
    const t = this.mapTemplate[2 * endpoint + (direction === 'ingress' ? DIR_INGRESS : DIR_EGRESS)]!;
    return t < 0 ? { isolated: false, count: 0 } : { isolated: true, count: this.templateSize[t]! };
  }

  /** Each endpoint's map as a template: a new one for every distinct list of rule pairs. */
  private plan(index: ClusterIndex, emissions: RuleEmissions, pods: readonly Pod[]): MapPlan[] {
    const byNamespace = index.policiesByNamespace;
    const emissionIds = new Map<Emission, number>();
    const templates = new Map<string, number>();
    const plans: MapPlan[] = [];
    pods.forEach((pod, i) => {
      for (const direction of ['ingress', 'egress'] as const) {
        const selecting = policiesIsolating(byNamespace, pod, direction);
        if (selecting.length === 0) continue;
        const rules = selecting.flatMap((policy) => (direction === 'ingress' ? policy.ingress : policy.egress).map((_, r) => ({
          emission: emissions.of(policy, direction, r, pod), origin: this.origins.ofRule(policy, direction, r),
        })));
        // Emissions are remembered per rule (and resolution), so the same object means the same rule.
        const key = rules.map((r) => emissionIds.get(r.emission) ?? emissionIds.set(r.emission, emissionIds.size).size - 1).join(',');
        let t = templates.get(`${direction}:${key}`);
        if (t === undefined) templates.set(`${direction}:${key}`, t = plans.push({ direction, rules }) - 1);
        this.mapTemplate[2 * i + (direction === 'ingress' ? DIR_INGRESS : DIR_EGRESS)] = t;
      }
    });
    return plans;
  }

  /** Deduplicates the plan's keys and writes them as the next template's rows. */
  private writeTemplate(plan: MapPlan, out: ColumnsBuilder): void {
    const draft = this.draft;
    draft.clear();
    for (const { emission, origin } of plan.rules) {
      for (const { ids, portKey } of emission.segments) {
        if (portKey >= 0) for (let k = 0; k < ids.length; k++) draft.add(ids[k]!, portKey, origin);
        else for (let k = 0; k < ids.length; k += 2) draft.add(ids[k]!, ids[k + 1]!, origin);
      }
    }
    // Cilium's allow-localhost: the host identity may always reach local endpoints; netsieve applies it
    // both ways to mirror EvalOptions.allowNodeTraffic (the matcher maps the own node's addresses to host).
    if (this.options.allowNodeTraffic) draft.add(ReservedIdentity.HOST, this.portKeys.id(ANY_PORT), this.origins.ofLocalhost(plan.direction));
    this.flush(out);
    out.endTemplate();
  }

  /** Writes the draft's keys as rows, each row's origins together in the order they were added. */
  private flush(out: ColumnsBuilder): void {
    const d = this.draft;
    const first = out.rowCount;
    let cursor = out.originCount;
    for (let k = 0; k < d.size; k++) {
      const row = first + k;
      const pk = this.portKeys.keys[d.portKey[k]!]!;
      out.identity[row] = d.identity[k]!;
      out.protocol[row] = pk.protocol;
      out.port[row] = pk.port;
      out.prefixLength[row] = pk.prefixLength;
      out.deny[row] = 0;
      out.originStart[row] = cursor;
      const n = d.originCount[k]!;
      d.originCount[k] = cursor;
      cursor += n;
    }
    for (let a = 0; a < d.adds; a++) out.originPool[d.originCount[d.addKey[a]!]!++] = d.addOrigin[a]!;
    out.rowCount = first + d.size;
    out.originCount = cursor;
    out.originStart[out.rowCount] = cursor;
  }
}

/** The policies of the pod's namespace that select it and name the direction in policyTypes, in model order. */
function policiesIsolating(byNamespace: ClusterIndex['policiesByNamespace'], pod: Pod, direction: Direction): NetworkPolicy[] {
  if (pod.hostNetwork) return [];
  const local = byNamespace.get(pod.namespace) ?? [];
  return local.filter((p) => p.policyTypes[direction] && selectorMatches(p.podSelector, pod.labels));
}
