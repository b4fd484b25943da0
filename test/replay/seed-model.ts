/**
 * The seed scenario (captures/seed/cluster.yaml) as a model built by hand, so that synth and replay
 * tests run before and independently of the manifests loader: frontend, backend and other in
 * namespace default, addresses as the loader assigns them (10.244.0.0/16 sorted by namespace/name,
 * skipping .0 and .1), the backend Service, and the one policy.
 */
import { mustParseCidr, mustParseIp } from '../../src/model/ip.js';
import { indexCluster, type ClusterIndex } from '../../src/model/cluster-index.js';
import type { Cluster, Pod } from '../../src/model/types.js';

const src = (kind: string, name: string) => ({ file: 'captures/seed/cluster.yaml', kind, namespace: 'default', name });

function pod(name: string, app: string, ip: string, v6?: string): Pod {
  return {
    namespace: 'default', name, labels: { app }, ips: v6 ? [mustParseIp(ip), mustParseIp(v6)] : [mustParseIp(ip)],
    ports: app === 'other' ? [] : [{ name: 'http', port: 80, protocol: 'TCP' }],
    hostNetwork: false, nodeName: null, source: src('Pod', name),
  };
}

export const SEED_IPS = { backend: '10.244.0.2', frontend: '10.244.0.3', other: '10.244.0.4', service: '10.96.0.2' };

export function seedCluster(withV6 = false, extraPolicies = false): Cluster {
  const v6 = (n: number) => (withV6 ? `fd00:10:244::${n}` : undefined);
  const cluster: Cluster = {
    namespaces: [{ name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } }],
    pods: [pod('backend-0', 'backend', SEED_IPS.backend, v6(2)), pod('frontend-0', 'frontend', SEED_IPS.frontend, v6(3)), pod('other-0', 'other', SEED_IPS.other, v6(4))],
    nodes: [],
    services: [{
      namespace: 'default', name: 'backend', clusterIPs: [mustParseIp(SEED_IPS.service)], selector: { app: 'backend' },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], source: src('Service', 'backend'),
    }],
    policies: [{
      namespace: 'default', name: 'backend-allow-frontend',
      podSelector: { matchLabels: { app: 'backend' }, matchExpressions: [] },
      policyTypes: { ingress: true, egress: false },
      ingress: [{ peers: [{ kind: 'pods', podSelector: { matchLabels: { app: 'frontend' }, matchExpressions: [] }, namespaceSelector: null }], ports: [{ protocol: 'TCP', port: 80, endPort: null }] }],
      egress: [], source: src('NetworkPolicy', 'backend-allow-frontend'),
    }],
  };
  if (!extraPolicies) return cluster;
  return {
    ...cluster,
    policies: [...cluster.policies, {
      namespace: 'default', name: 'frontend-dns-sctp',
      podSelector: { matchLabels: { app: 'frontend' }, matchExpressions: [] },
      policyTypes: { ingress: true, egress: true },
      ingress: [{ peers: [{ kind: 'ipBlock', cidr: mustParseCidr('203.0.113.0/24'), except: [] }], ports: [{ protocol: 'SCTP', port: 3868, endPort: null }] }],
      egress: [{ peers: null, ports: [{ protocol: 'UDP', port: 53, endPort: null }, { protocol: 'UDP', port: 5000, endPort: 5010 }] },
        { peers: [{ kind: 'pods', podSelector: null, namespaceSelector: { matchLabels: {}, matchExpressions: [] } }], ports: null }],
      source: src('NetworkPolicy', 'frontend-dns-sctp'),
    }],
  };
}

export function seedIndex(withV6 = false, extraPolicies = false): ClusterIndex {
  return indexCluster(seedCluster(withV6, extraPolicies));
}
