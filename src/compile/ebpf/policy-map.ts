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
 * rule (emissions.ts), keys are deduplicated per map in an integer hash table reused from map to map,
 * and entries are written straight into columns (columns.ts), with origins as ids of shared objects.
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import type { EvalOptions } from '../../model/evaluate.js';
import { selectorMatches } from '../../model/labels.js';
import { qualifiedName, type Direction, type NetworkPolicy, type Pod } from '../../model/types.js';
import { ColumnsBuilder } from './columns.js';
import { PortKeyTable, RuleEmissions } from './emissions.js';
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

function grown(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** A policy map's keys, deduplicated in first-seen order, each with the origins that produced it. */
class MapDraft {
  size = 0;
  adds = 0;
  identity = new Int32Array(1024);
  portKey = new Int32Array(1024);
  /** Origins per key; reused as write cursors when the draft is flushed. */
  originCount = new Int32Array(1024);
  /** Per add (origin produced a key): which key, which origin, in model order. */
  addKey = new Int32Array(1024);
  addOrigin = new Int32Array(1024);
  /** Open addressing over (identity, port key) -> key index; a slot is live when its stamp is `stamp`. */
  private slots = new Int32Array(2048);
  private stamps = new Int32Array(2048);
  private stamp = 1;

  clear(): void {
    this.size = 0;
    this.adds = 0;
    // Stamps wrap after 2^31 maps; the fresh arrays make the wrap safe.
    if (++this.stamp === 0x7fffffff) { this.stamps.fill(0); this.stamp = 1; }
  }

  add(identity: number, portKey: number, origin: number): void {
    const mask = this.slots.length - 1;
    let h = hashPair(identity, portKey) & mask;
    let key = -1;
    while (this.stamps[h] === this.stamp) {
      const k = this.slots[h]!;
      if (this.identity[k] === identity && this.portKey[k] === portKey) { key = k; break; }
      h = (h + 1) & mask;
    }
    if (key < 0) key = this.insert(h, identity, portKey);
    this.originCount[key]!++;
    if (this.adds === this.addKey.length) { this.addKey = grown(this.addKey, this.adds + 1); this.addOrigin = grown(this.addOrigin, this.adds + 1); }
    this.addKey[this.adds] = key;
    this.addOrigin[this.adds++] = origin;
  }

  private insert(slot: number, identity: number, portKey: number): number {
    const key = this.size++;
    if (key === this.identity.length) {
      this.identity = grown(this.identity, key + 1);
      this.portKey = grown(this.portKey, key + 1);
      this.originCount = grown(this.originCount, key + 1);
    }
    this.identity[key] = identity;
    this.portKey[key] = portKey;
    this.originCount[key] = 0;
    this.stamps[slot] = this.stamp;
    this.slots[slot] = key;
    if (this.size * 2 > this.slots.length) this.rehash();
    return key;
  }

  /** Doubles the table and re-inserts this map's keys (load factor at most one half). */
  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.stamps = new Int32Array(this.slots.length);
    const mask = this.slots.length - 1;
    for (let k = 0; k < this.size; k++) {
      let h = hashPair(this.identity[k]!, this.portKey[k]!) & mask;
      while (this.stamps[h] === this.stamp) h = (h + 1) & mask;
      this.stamps[h] = this.stamp;
      this.slots[h] = k;
    }
  }
}

function hashPair(identity: number, portKey: number): number {
  let h = Math.imul(identity ^ Math.imul(portKey, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** What a map is made of: each rule's pairs and origin, in model order. */
interface MapPlan {
  readonly direction: Direction;
  readonly rules: readonly { readonly pairs: Int32Array; readonly origin: number }[];
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
    for (const plan of plans) for (const r of plan.rules) bound += r.pairs.length / 2;
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
    const byNamespace = policiesByNamespace(index);
    const pairIds = new Map<Int32Array, number>();
    const templates = new Map<string, number>();
    const plans: MapPlan[] = [];
    pods.forEach((pod, i) => {
      for (const direction of ['ingress', 'egress'] as const) {
        const selecting = policiesIsolating(byNamespace, pod, direction);
        if (selecting.length === 0) continue;
        const rules = selecting.flatMap((policy) => (direction === 'ingress' ? policy.ingress : policy.egress).map((_, r) => ({
          pairs: emissions.of(policy, direction, r, pod), origin: this.origins.ofRule(policy, direction, r),
        })));
        // Pairs are remembered per rule (and resolution), so equal arrays mean equal rules.
        const key = rules.map((r) => pairIds.get(r.pairs) ?? pairIds.set(r.pairs, pairIds.size).size - 1).join(',');
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
    for (const { pairs, origin } of plan.rules) {
      for (let k = 0; k < pairs.length; k += 2) draft.add(pairs[k]!, pairs[k + 1]!, origin);
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

function policiesByNamespace(index: ClusterIndex): Map<string, NetworkPolicy[]> {
  const out = new Map<string, NetworkPolicy[]>();
  for (const p of index.cluster.policies) {
    const list = out.get(p.namespace);
    if (list) list.push(p); else out.set(p.namespace, [p]);
  }
  return out;
}

/** The policies of the pod's namespace that select it and name the direction in policyTypes, in model order. */
function policiesIsolating(byNamespace: ReadonlyMap<string, NetworkPolicy[]>, pod: Pod, direction: Direction): NetworkPolicy[] {
  if (pod.hostNetwork) return [];
  const local = byNamespace.get(pod.namespace) ?? [];
  return local.filter((p) => p.policyTypes[direction] && selectorMatches(p.podSelector, pod.labels));
}
