import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { loadClusterFromText } from '../../src/manifests/load.js';

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
});
