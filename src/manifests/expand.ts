/**
 * Workloads without pods of their own become pods.
 *
 * A workload "has pods" when some Pod in the input descends from it through ownerReferences
 * (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob, Pod -> StatefulSet / DaemonSet); then the
 * input already shows what runs and nothing is generated for that tree. Otherwise the tree is expanded
 * once, at its lowest level that runs something: a Deployment whose ReplicaSets are in the input expands
 * through each ReplicaSet with replicas > 0 (the rollout state the dump shows); only when none has any
 * does the Deployment expand itself. CronJob -> Job likewise.
 */
import type { PodDraft } from './pod.js';
import type { WorkloadDraft } from './workload.js';

const keyOf = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

interface Tree {
  readonly byKey: Map<string, WorkloadDraft>;
  readonly children: Map<string, WorkloadDraft[]>;
  readonly parent: Map<string, string>;
}

function buildTree(workloads: readonly WorkloadDraft[]): Tree {
  const byKey = new Map(workloads.map((w) => [keyOf(w.kind, w.namespace, w.name), w] as const));
  const children = new Map<string, WorkloadDraft[]>();
  const parent = new Map<string, string>();
  for (const w of workloads) {
    const owner = w.owners.map((o) => keyOf(o.kind, w.namespace, o.name)).find((k) => byKey.has(k));
    if (owner === undefined) continue;
    parent.set(keyOf(w.kind, w.namespace, w.name), owner);
    children.set(owner, [...(children.get(owner) ?? []), w]);
  }
  return { byKey, children, parent };
}

/**
 * The controllers name what they create `<owner>-<suffix>`: a ReplicaSet `<deployment>-<pod-template-hash>`,
 * a CronJob's Job `<cronjob>-<scheduled minute>`. So when a dump holds Pods and Deployments but not the
 * ReplicaSets between them (`kubectl get pods,deployments -A -o yaml`), a pod owned by a missing
 * ReplicaSet `web-7d9c6b5f8d` still belongs to Deployment `web`, and the Deployment is not expanded
 * a second time.
 */
const IMPLIED_PARENT: Readonly<Record<string, string>> = { ReplicaSet: 'Deployment', Job: 'CronJob' };

function ownerKey(tree: Tree, namespace: string, owner: { kind: string; name: string }): string | undefined {
  const direct = keyOf(owner.kind, namespace, owner.name);
  if (tree.byKey.has(direct)) return direct;
  const parentKind = IMPLIED_PARENT[owner.kind];
  const cut = owner.name.lastIndexOf('-');
  if (parentKind === undefined || cut <= 0) return undefined;
  const implied = keyOf(parentKind, namespace, owner.name.slice(0, cut));
  return tree.byKey.has(implied) ? implied : undefined;
}

/** Keys of every workload some input Pod descends from (guarding against ownership cycles). */
function workloadsWithPods(tree: Tree, pods: readonly PodDraft[]): Set<string> {
  const marked = new Set<string>();
  for (const pod of pods) {
    let key = pod.owners.map((o) => ownerKey(tree, pod.namespace, o)).find((k) => k !== undefined);
    while (key !== undefined && !marked.has(key)) {
      marked.add(key);
      key = tree.parent.get(key);
    }
  }
  return marked;
}

/** The workloads to expand, in input order of their roots. */
export function planExpansion(workloads: readonly WorkloadDraft[], pods: readonly PodDraft[]): WorkloadDraft[] {
  const tree = buildTree(workloads);
  const withPods = workloadsWithPods(tree, pods);
  const plan = (w: WorkloadDraft, seen: Set<string>): WorkloadDraft[] => {
    const key = keyOf(w.kind, w.namespace, w.name);
    if (withPods.has(key) || seen.has(key)) return [];
    seen.add(key);
    const below = (tree.children.get(key) ?? []).flatMap((c) => plan(c, seen));
    if (below.length > 0) return below;
    return w.count === 0 ? [] : [w];
  };
  const roots = workloads.filter((w) => !tree.parent.has(keyOf(w.kind, w.namespace, w.name)));
  return roots.flatMap((r) => plan(r, new Set()));
}

/**
 * The pods one workload runs. Names: StatefulSet `<name>-<ordinal>`, DaemonSet `<name>-<node>`,
 * others `<name>-<i>` from 0. Labels are the template's plus those the controllers add and policies
 * select on (`statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index`, `job-name`,
 * `batch.kubernetes.io/job-name`); random ones such as `pod-template-hash` are left out.
 */
export function expandWorkload(w: WorkloadDraft, nodes: readonly string[]): PodDraft[] {
  if (w.count === 'perNode') return nodes.map((node) => generated(w, `${w.name}-${node}`, {}, node));
  const pods: PodDraft[] = [];
  for (let i = 0; i < w.count; i++) {
    if (w.kind === 'StatefulSet') {
      const ordinal = w.firstOrdinal + i;
      const name = `${w.name}-${ordinal}`;
      pods.push(generated(w, name, { 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(ordinal) }, null));
    } else if (w.kind === 'Job') {
      pods.push(generated(w, `${w.name}-${i}`, { 'job-name': w.name, 'batch.kubernetes.io/job-name': w.name }, null));
    } else {
      pods.push(generated(w, `${w.name}-${i}`, {}, null));
    }
  }
  return pods;
}

function generated(w: WorkloadDraft, name: string, extraLabels: Record<string, string>, node: string | null): PodDraft {
  const t = w.template;
  return { // field by field, as PodDraft says why
    labels: { ...t.labels, ...extraLabels },
    ports: t.ports,
    hostNetwork: t.hostNetwork,
    nodeName: node ?? t.nodeName,
    namespace: w.namespace,
    name,
    ips: [],
    hostIps: [],
    owners: [{ kind: w.kind, name: w.name }],
    terminated: false,
    ctx: w.ctx,
  };
}
