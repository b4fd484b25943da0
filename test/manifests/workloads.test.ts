import { describe, expect, it } from 'vitest';
import { loadCluster } from '../../src/manifests/load.js';
import { formatIp } from '../../src/model/ip.js';
import { FIXTURES, loadError, loadText, podLines } from './helpers.js';

const WORKLOADS = `${FIXTURES}/workloads.yaml`;

function deployment(name: string, replicas: number | null, extraMeta = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}${extraMeta}}
spec:
${replicas === null ? '' : `  replicas: ${replicas}\n`}  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: c, image: i}]}
`;
}

function replicaSet(name: string, owner: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: ${name}
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: ${owner}, controller: true, uid: u1}]
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${owner}}}
  template:
    metadata: {labels: {app: ${owner}, pod-template-hash: abc}}
    spec: {containers: [{name: c, image: i}]}
`;
}

function pod(name: string, ownerKind: string, owner: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: x}
  ownerReferences: [{apiVersion: v1, kind: ${ownerKind}, name: ${owner}, controller: true, uid: u2}]
spec: {containers: [{name: c, image: i}]${extra}}
`;
}

const docs = (...d: string[]): string => d.join('---\n');

describe('workload expansion: every kind', () => {
  const { cluster } = loadCluster([WORKLOADS]);

  it('names pods per kind and honours replicas, parallelism, one per node, one per CronJob', () => {
    expect(podLines(cluster.pods)).toEqual([
      'apps/agent-node-1 10.244.0.2 @node-1',
      'apps/api-0 10.244.0.3 @node-1',
      'apps/api-1 10.244.0.4 @node-1',
      'apps/backfill-0 10.244.0.5 @node-1',
      'apps/backfill-1 10.244.0.6 @node-1',
      'apps/cache-0 10.244.0.7 @node-1',
      'apps/cache-1 10.244.0.8 @node-1',
      'apps/cache-2 10.244.0.9 @node-1',
      'apps/debug 10.244.0.10 @node-1',
      'apps/host-agent-node-1 172.18.0.2 @node-1',
      'apps/report-0 10.244.0.11 @node-1',
    ]);
  });

  it('gives generated pods the template labels plus the stable controller labels', () => {
    const labels = Object.fromEntries(cluster.pods.map((p) => [p.name, p.labels]));
    expect(labels['api-0']).toEqual({ app: 'api', tier: 'backend' });
    expect(labels['cache-2']).toEqual({ app: 'cache', 'statefulset.kubernetes.io/pod-name': 'cache-2', 'apps.kubernetes.io/pod-index': '2' });
    expect(labels['backfill-1']).toEqual({ app: 'backfill', 'job-name': 'backfill', 'batch.kubernetes.io/job-name': 'backfill' });
    expect(labels['report-0']).toEqual({ app: 'report' });
  });

  it('carries template ports (CronJob through jobTemplate.spec.template) and hostNetwork', () => {
    const byName = new Map(cluster.pods.map((p) => [p.name, p]));
    expect(byName.get('api-1')!.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ]);
    expect(byName.get('report-0')!.ports).toEqual([{ name: 'metrics', port: 9100, protocol: 'TCP' }]);
    expect(byName.get('host-agent-node-1')!.hostNetwork).toBe(true);
    expect(byName.get('cache-0')!.source).toMatchObject({ kind: 'StatefulSet', name: 'cache', file: WORKLOADS });
  });

  it('implies the namespace', () => {
    expect(cluster.namespaces).toEqual([{ name: 'apps', labels: { 'kubernetes.io/metadata.name': 'apps' } }]);
  });

  it('with --nodes 3: one DaemonSet pod per node, the rest round-robin in name order', () => {
    const three = loadCluster([WORKLOADS], { nodes: 3 }).cluster;
    expect(three.nodes.map((n) => `${n.name} ${n.ips.map(formatIp).join(',')}`)).toEqual([
      'node-1 172.18.0.2', 'node-2 172.18.0.3', 'node-3 172.18.0.4',
    ]);
    const lines = podLines(three.pods);
    expect(lines.filter((l) => l.includes('agent-'))).toEqual([
      'apps/agent-node-1 10.244.0.2 @node-1',
      'apps/agent-node-2 10.244.0.3 @node-2',
      'apps/agent-node-3 10.244.0.4 @node-3',
      'apps/host-agent-node-1 172.18.0.2 @node-1',
      'apps/host-agent-node-2 172.18.0.3 @node-2',
      'apps/host-agent-node-3 172.18.0.4 @node-3',
    ]);
    expect(three.pods.filter((p) => !p.name.includes('agent-')).map((p) => `${p.name}@${p.nodeName}`)).toEqual([
      'api-0@node-1', 'api-1@node-2', 'backfill-0@node-3', 'backfill-1@node-1', 'cache-0@node-2',
      'cache-1@node-3', 'cache-2@node-1', 'debug@node-2', 'report-0@node-3',
    ]);
  });
});

describe('workload expansion: pods of their own and owner chains', () => {
  it('replicas absent means 1; replicas 0 means none', () => {
    expect(loadText(docs(deployment('a', null), deployment('b', 0))).cluster.pods.map((p) => p.name)).toEqual(['a-0']);
  });

  it('a Deployment whose ReplicaSets have no pods expands through the ReplicaSet with replicas > 0', () => {
    const text = docs(deployment('web', 2), replicaSet('web-old', 'web', 0), replicaSet('web-new', 'web', 2));
    expect(loadText(text).cluster.pods.map((p) => p.name)).toEqual(['web-new-0', 'web-new-1']);
  });

  it('a Deployment whose ReplicaSets all have replicas 0 expands itself', () => {
    const text = docs(replicaSet('web-old', 'web', 0), deployment('web', 3));
    expect(loadText(text).cluster.pods.map((p) => p.name)).toEqual(['web-0', 'web-1', 'web-2']);
  });

  it('a pod owned by a ReplicaSet of a Deployment stops both from expanding', () => {
    const text = docs(deployment('web', 2), replicaSet('web-new', 'web', 2), replicaSet('web-old', 'web', 1),
      pod('web-new-xyz', 'ReplicaSet', 'web-new'));
    expect(loadText(text).cluster.pods.map((p) => p.name)).toEqual(['web-new-xyz']);
  });

  it('a pod of a ReplicaSet missing from the dump still belongs to its Deployment (`<deployment>-<hash>`)', () => {
    const text = docs(deployment('web', 2), pod('web-7d9c6b5f8d-x2v9q', 'ReplicaSet', 'web-7d9c6b5f8d'), deployment('webapp', 1));
    expect(loadText(text).cluster.pods.map((p) => p.name)).toEqual(['web-7d9c6b5f8d-x2v9q', 'webapp-0']);
  });

  it('a pod of a Job missing from the dump still belongs to its CronJob (`<cronjob>-<minute>`)', () => {
    const cron = 'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\nspec: {jobTemplate: {spec: {template: {spec: {containers: []}}}}}\n';
    expect(loadText(docs(cron, pod('nightly-29012345-abcde', 'Job', 'nightly-29012345'))).cluster.pods.map((p) => p.name))
      .toEqual(['nightly-29012345-abcde']);
  });

  it('a pod whose owner is not in the input is simply a pod', () => {
    expect(loadText(pod('orphan-abc', 'ReplicaSet', 'gone')).cluster.pods.map((p) => p.name)).toEqual(['orphan-abc']);
  });

  it('CronJob -> Job: the Job expands (job-name labels), the CronJob does not; a pod of the Job stops both', () => {
    const cron = `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "@daily"
  jobTemplate: {spec: {template: {metadata: {labels: {app: nightly}}, spec: {containers: [{name: c, image: i}]}}}}
`;
    const job = `apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-29012345
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, controller: true, uid: u3}]
spec:
  template: {metadata: {labels: {app: nightly}}, spec: {containers: [{name: c, image: i}]}}
`;
    const expanded = loadText(docs(cron, job)).cluster.pods;
    expect(expanded.map((p) => [p.name, p.labels['job-name']])).toEqual([['nightly-29012345-0', 'nightly-29012345']]);
    expect(loadText(docs(cron)).cluster.pods.map((p) => p.name)).toEqual(['nightly-0']);
    expect(loadText(docs(cron, job, pod('nightly-29012345-q7', 'Job', 'nightly-29012345'))).cluster.pods.map((p) => p.name))
      .toEqual(['nightly-29012345-q7']);
  });

  it('a suspended Job runs no pod; parallelism 0 neither', () => {
    const job = (name: string, spec: string): string => `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
  ${spec}
  template: {spec: {containers: [{name: c, image: i}]}}
`;
    expect(loadText(docs(job('s', 'suspend: true'), job('p', 'parallelism: 0'), job('r', 'parallelism: 3'))).cluster.pods.map((p) => p.name))
      .toEqual(['r-0', 'r-1', 'r-2']);
  });

  it('a StatefulSet starts at spec.ordinals.start; one with a pod of its own is not expanded', () => {
    const sts = (name: string): string => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ${name}}
spec:
  replicas: 2
  ordinals: {start: 5}
  selector: {matchLabels: {app: ${name}}}
  template: {metadata: {labels: {app: ${name}}}, spec: {containers: [{name: c, image: i}]}}
`;
    expect(loadText(docs(sts('a'), sts('b'), pod('b-5', 'StatefulSet', 'b'))).cluster.pods.map((p) => p.name))
      .toEqual(['a-5', 'a-6', 'b-5']);
  });

  it('nodes named by the input replace --nodes; a template nodeName is kept', () => {
    const text = docs(deployment('web', 3), pod('pinned', 'Nothing', 'none', ', nodeName: worker-b'),
      `apiVersion: v1\nkind: Node\nmetadata: {name: worker-a}\nstatus: {addresses: [{type: InternalIP, address: 192.168.1.10}]}\n`);
    const { cluster } = loadText(text, { nodes: 5 });
    expect(cluster.nodes.map((n) => `${n.name} ${n.ips.map(formatIp).join(',')}`)).toEqual(['worker-a 192.168.1.10', 'worker-b 172.18.0.2']);
    expect(cluster.pods.map((p) => `${p.name}@${p.nodeName}`)).toEqual(['pinned@worker-b', 'web-0@worker-a', 'web-1@worker-b', 'web-2@worker-a']);
  });

  it('refuses a generated pod whose name an input pod already has', () => {
    const message = loadError(docs(deployment('web', 1), pod('web-0', 'Nothing', 'none')));
    expect(message).toMatch(/pod default\/web-0 generated for Deployment web clashes with the pod of that name from .*bad\.yaml document 2/);
  });

  it('survives an ownership cycle', () => {
    const a = replicaSet('a', 'b', 1).replace('kind: Deployment', 'kind: ReplicaSet');
    const b = replicaSet('b', 'a', 1).replace('kind: Deployment', 'kind: ReplicaSet');
    expect(loadText(docs(a, b)).cluster.pods).toEqual([]);
  });
});
