/**
 * Per-kind conversion of every object read, with duplicates resolved (same kind, namespace and name:
 * a warning, and the later object wins, as a later `kubectl apply` would).
 */
import type { NetworkPolicy } from '../model/types.js';
import { describeObject, type ObjectContext, type RawObject, type Warnings } from './context.js';
import { convertNamespace, convertNode, type NamespaceDraft, type NodeDraft } from './cluster-objects.js';
import { contextOf } from './meta.js';
import { convertPod, type PodDraft } from './pod.js';
import { convertNetworkPolicy } from './policy.js';
import { convertService, type ServiceDraft } from './service.js';
import { convertWorkload, isWorkloadKind, type WorkloadDraft } from './workload.js';

export interface Collected {
  readonly namespaces: Map<string, NamespaceDraft>;
  readonly nodes: Map<string, NodeDraft>;
  readonly pods: Map<string, PodDraft>;
  readonly workloads: Map<string, WorkloadDraft>;
  readonly services: Map<string, ServiceDraft>;
  readonly policies: Map<string, NetworkPolicy>;
  /** Kinds the model has no use for (ConfigMap, Ingress, ...), counted. */
  readonly skipped: Record<string, number>;
}

/** Where the first copy of each object came from, to name both in a duplicate warning. */
type Seen = Map<string, string>;

export function collect(objects: readonly RawObject[], warnings: Warnings): Collected {
  const out: Collected = {
    namespaces: new Map(), nodes: new Map(), pods: new Map(), workloads: new Map(),
    services: new Map(), policies: new Map(), skipped: {},
  };
  const seen: Seen = new Map();
  for (const raw of objects) {
    const kind = raw.value['kind'] as string;
    const apiVersion = raw.value['apiVersion'];
    if (!isModelledGroup(kind, apiVersion)) {
      const label = `${kind} (${String(apiVersion)})`;
      out.skipped[label] = (out.skipped[label] ?? 0) + 1;
    } else if (!convertInto(out, raw, kind, seen, warnings)) {
      out.skipped[kind] = (out.skipped[kind] ?? 0) + 1;
    }
  }
  return out;
}

/** The API groups each modelled kind lives in (`extensions` for the old beta manifests). */
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  Namespace: [''], Node: [''], Pod: [''], Service: [''],
  Deployment: ['apps', 'extensions'], ReplicaSet: ['apps', 'extensions'], DaemonSet: ['apps', 'extensions'],
  StatefulSet: ['apps'], Job: ['batch'], CronJob: ['batch'], NetworkPolicy: ['networking.k8s.io', 'extensions'],
};

/**
 * Same kind, other group, other meaning: Calico's `projectcalico.org/v3` NetworkPolicy or Knative's
 * `serving.knative.dev/v1` Service must not be read as the core objects. Those are skipped, counted
 * under `Kind (apiVersion)`. An object without apiVersion is taken at its kind.
 */
function isModelledGroup(kind: string, apiVersion: unknown): boolean {
  const groups = GROUPS[kind];
  if (groups === undefined || typeof apiVersion !== 'string' || apiVersion === '') return true;
  const slash = apiVersion.indexOf('/');
  return groups.includes(slash < 0 ? '' : apiVersion.slice(0, slash));
}

/** Converts one object into its map; false when the kind is not one the model uses. */
function convertInto(out: Collected, raw: RawObject, kind: string, seen: Seen, warnings: Warnings): boolean {
  const ctx = contextOf(raw, kind);
  const put = <T>(map: Map<string, T>, value: T): void => {
    const key = `${kind}/${ctx.source.namespace ?? ''}/${ctx.source.name}`;
    noteDuplicate(ctx, key, seen, warnings);
    map.set(key, value);
  };
  if (kind === 'Namespace') put(out.namespaces, convertNamespace(ctx, raw.value));
  else if (kind === 'Node') put(out.nodes, convertNode(ctx, raw.value));
  else if (kind === 'Pod') put(out.pods, convertPod(ctx, raw.value, warnings));
  else if (isWorkloadKind(kind)) put(out.workloads, convertWorkload(ctx, kind, raw.value, warnings));
  else if (kind === 'Service') put(out.services, convertService(ctx, raw.value));
  else if (kind === 'NetworkPolicy') put(out.policies, convertNetworkPolicy(ctx, raw.value, warnings));
  else return false;
  return true;
}

function noteDuplicate(ctx: ObjectContext, key: string, seen: Seen, warnings: Warnings): void {
  const first = seen.get(key);
  if (first !== undefined) {
    warnings.add(`${ctx.where}: ${describeObject(ctx.source)}: duplicate of the object in ${first}; the later one wins`);
  }
  seen.set(key, ctx.where);
}
