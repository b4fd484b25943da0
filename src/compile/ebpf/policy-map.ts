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

/**
 * Every endpoint's policy maps, ingress then egress, endpoint by endpoint, appended to one set of
 * columns. The constructor finds the policies isolating each endpoint and bounds the entries (one per
 * pair a rule adds, before deduplication), so that the columns are allocated once at that bound.
 */
export class PolicyMapBuilder {
  private readonly out: ColumnsBuilder;
  private readonly origins = new OriginTable();
  private readonly portKeys = new PortKeyTable();
  private readonly emissions: RuleEmissions;
  private readonly draft = new MapDraft();
  /** Policies isolating endpoint `i` in direction `d` (DIR_INGRESS, DIR_EGRESS), at [2 * i + d]. */
  private readonly isolating: NetworkPolicy[][] = [];

  constructor(index: ClusterIndex, ids: IdentityTable, private readonly options: EvalOptions, private readonly pods: readonly Pod[]) {
    this.emissions = new RuleEmissions(new RemoteIndex(index, ids), this.portKeys);
    const byNamespace = policiesByNamespace(index);
    let bound = 0;
    for (const pod of pods) {
      for (const direction of ['ingress', 'egress'] as const) {
        const selecting = policiesIsolating(byNamespace, pod, direction);
        this.isolating.push(selecting);
        for (const policy of selecting) bound += this.pairCount(policy, direction, pod);
        if (selecting.length > 0 && options.allowNodeTraffic) bound++;
      }
    }
    this.out = new ColumnsBuilder(bound, bound);
  }

  /** Appends endpoint `endpoint`'s map for one direction; no policy isolating it: no entries, not isolated. */
  append(endpoint: number, direction: Direction): { isolated: boolean; count: number } {
    const dir = direction === 'ingress' ? DIR_INGRESS : DIR_EGRESS;
    const selecting = this.isolating[2 * endpoint + dir]!;
    if (selecting.length === 0) return { isolated: false, count: 0 };
    const pod = this.pods[endpoint]!;
    const draft = this.draft;
    draft.clear();
    for (const policy of selecting) {
      const rules = direction === 'ingress' ? policy.ingress : policy.egress;
      for (let i = 0; i < rules.length; i++) {
        const origin = this.origins.ofRule(policy, direction, i);
        const pairs = this.emissions.of(policy, direction, i, pod);
        for (let k = 0; k < pairs.length; k += 2) draft.add(pairs[k]!, pairs[k + 1]!, origin);
      }
    }
    // Cilium's allow-localhost: the host identity may always reach local endpoints; netsieve applies it
    // both ways to mirror EvalOptions.allowNodeTraffic (the matcher maps the own node's addresses to host).
    if (this.options.allowNodeTraffic) draft.add(ReservedIdentity.HOST, this.portKeys.id(ANY_PORT), this.origins.ofLocalhost(direction));
    this.flush(endpoint, dir);
    return { isolated: true, count: draft.size };
  }

  finish(): PolicyColumns {
    return this.out.finish(this.origins.table);
  }

  private pairCount(policy: NetworkPolicy, direction: Direction, pod: Pod): number {
    const rules = direction === 'ingress' ? policy.ingress : policy.egress;
    let n = 0;
    for (let i = 0; i < rules.length; i++) n += this.emissions.of(policy, direction, i, pod).length / 2;
    return n;
  }

  /** Writes the draft's keys as rows, each row's origins together in the order they were added. */
  private flush(endpoint: number, direction: number): void {
    const d = this.draft;
    const out = this.out;
    const first = out.count;
    let cursor = out.originCount;
    for (let k = 0; k < d.size; k++) {
      const row = first + k;
      const pk = this.portKeys.keys[d.portKey[k]!]!;
      out.endpoint[row] = endpoint;
      out.direction[row] = direction;
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
    out.count = first + d.size;
    out.originCount = cursor;
    out.originStart[out.count] = cursor;
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
