import { describe, expect, it } from 'vitest';
import { appCount, generateCluster } from '../../src/clustergen/generate.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { serviceBackends } from '../../src/model/services.js';

describe('cluster-gen', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = JSON.stringify(generateCluster({ pods: 300, namespaces: 12, policies: 40, seed: 5 }));
    expect(JSON.stringify(generateCluster({ pods: 300, namespaces: 12, policies: 40, seed: 5 }))).toBe(a);
    expect(JSON.stringify(generateCluster({ pods: 300, namespaces: 12, policies: 40, seed: 6 }))).not.toBe(a);
  });

  it('writes manifests the loader accepts, with the requested counts', () => {
    const list = generateCluster({ pods: 500, namespaces: 20, policies: 80, seed: 1 });
    const { cluster } = loadClusterFromText(JSON.stringify(list), {}, 'generated.json');
    // One extra pod and namespace: CoreDNS in kube-system, the target of the DNS egress policies.
    expect(cluster.pods).toHaveLength(501);
    expect(cluster.namespaces).toHaveLength(21);
    expect(cluster.policies).toHaveLength(80);
    const kinds = new Set(cluster.policies.map((p) => (p.name.startsWith('default-deny') ? 'deny' : p.policyTypes.egress ? 'egress' : 'allow')));
    expect([...kinds].sort()).toEqual(['allow', 'deny', 'egress']);
  });

  it('generates the stress tier size without overflowing the stack', () => {
    const list = generateCluster({ pods: 150_000, namespaces: 10_000, policies: 1, seed: 1 }) as { items: unknown[] };
    expect(list.items.length).toBe(150_000 + 10_000 + 2 + 1);
  });

  it('--services: that many apps get a ClusterIP Service with backends; the rest of the cluster is unchanged', () => {
    const options = { pods: 300, namespaces: 12, policies: 40, seed: 5 };
    const plain = generateCluster(options) as { items: { kind: string }[] };
    expect(JSON.stringify(generateCluster({ ...options, services: 0 }))).toBe(JSON.stringify(plain));
    const served = generateCluster({ ...options, services: 25 }) as { items: { kind: string }[] };
    expect(served.items.filter((m) => m.kind !== 'Service')).toEqual(plain.items);
    const index = indexCluster(loadClusterFromText(JSON.stringify(served), {}, 'generated.json').cluster);
    const services = index.cluster.services;
    expect(services).toHaveLength(25);
    expect(new Set(services.map((s) => `${s.namespace}/${s.name}`)).size).toBe(25);
    for (const s of services) {
      expect(s.clusterIPs, `${s.namespace}/${s.name}`).toHaveLength(1);
      expect(serviceBackends(index, s, s.ports[0]!, 4).length, `${s.namespace}/${s.name} has backends`).toBeGreaterThan(0);
    }
    const apps = appCount(options);
    expect(apps).toBe(100);
    expect(() => generateCluster({ ...options, services: apps })).not.toThrow();
    expect(() => generateCluster({ ...options, services: apps + 1 })).toThrow(/services: 101 is not a whole number from 0 to 100 \(one per app\)/);
  });
});
