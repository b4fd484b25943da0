import { describe, expect, it } from 'vitest';
import { loadCluster } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { evaluate } from '../../src/model/evaluate.js';
import { formatIp } from '../../src/model/ip.js';
import { IPPROTO } from '../../src/model/types.js';
import { podLines } from './helpers.js';

describe('the seed scenario (captures/seed/cluster.yaml)', () => {
  const result = loadCluster(['captures/seed/cluster.yaml']);
  const { cluster } = result;

  it('expands each Deployment into one pod, addressed in name order from 10.244.0.2', () => {
    expect(podLines(cluster.pods)).toEqual([
      'default/backend-0 10.244.0.2 @node-1',
      'default/frontend-0 10.244.0.3 @node-1',
      'default/other-0 10.244.0.4 @node-1',
    ]);
    expect(cluster.pods.map((p) => p.labels)).toEqual([{ app: 'backend' }, { app: 'frontend' }, { app: 'other' }]);
    expect(cluster.pods[0]!.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
    expect(cluster.pods[0]!.source).toMatchObject({ kind: 'Deployment', namespace: 'default', name: 'backend' });
  });

  it('keeps the policy: ingress to app=backend only from app=frontend on TCP 80', () => {
    expect(cluster.policies).toHaveLength(1);
    const np = cluster.policies[0]!;
    expect(np.name).toBe('backend-allow-frontend');
    expect(np.policyTypes).toEqual({ ingress: true, egress: false });
    expect(np.podSelector).toEqual({ matchLabels: { app: 'backend' }, matchExpressions: [] });
    expect(np.ingress).toEqual([{
      peers: [{ kind: 'pods', podSelector: { matchLabels: { app: 'frontend' }, matchExpressions: [] }, namespaceSelector: null }],
      ports: [{ protocol: 'TCP', port: 80, endPort: null }],
    }]);
    expect(np.egress).toEqual([]);
  });

  it('gives the Service a cluster IP and keeps its named targetPort', () => {
    expect(cluster.services.map((s) => [s.name, s.clusterIPs.map(formatIp), s.ports])).toEqual([
      ['backend', ['10.96.0.2'], [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }]],
    ]);
  });

  it('has one generated node, the default namespace with its name label, no warnings', () => {
    expect(cluster.nodes.map((n) => [n.name, n.ips.map(formatIp)])).toEqual([['node-1', ['172.18.0.2']]]);
    expect(cluster.namespaces).toEqual([{ name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } }]);
    expect(result.warnings).toEqual([]);
    expect(result.objects).toBe(6);
    expect(result.skipped).toEqual({});
  });

  it('is the same on every load', () => {
    const again = loadCluster(['captures/seed/cluster.yaml']);
    expect(again.cluster).toEqual(cluster);
  });

  it('feeds the reference evaluator: on TCP 80 only frontend reaches backend; backend is not isolated for egress', () => {
    const index = indexCluster(cluster);
    const table = cluster.pods.flatMap((src) => cluster.pods.filter((dst) => dst !== src).map((dst) => {
      const d = evaluate(index, { src: src.ips[0]!, dst: dst.ips[0]!, protocol: IPPROTO.TCP, dstPort: 80 });
      return `${src.name} -> ${dst.name} ${d.allowed ? 'allowed' : 'denied'}`;
    }));
    expect(table).toEqual([
      'backend-0 -> frontend-0 allowed', 'backend-0 -> other-0 allowed',
      'frontend-0 -> backend-0 allowed', 'frontend-0 -> other-0 allowed',
      'other-0 -> backend-0 denied', 'other-0 -> frontend-0 allowed',
    ]);
  });
});
