import { describe, expect, it } from 'vitest';
import { loadCluster } from '../../src/manifests/load.js';
import { formatIp } from '../../src/model/ip.js';
import { FIXTURES, podLines } from './helpers.js';

describe('a `kubectl get -A -o yaml` List', () => {
  const result = loadCluster([`${FIXTURES}/kubectl-get-all.yaml`]);
  const { cluster } = result;

  it('maps every running pod to its reported addresses, IPv4 first, and generates none', () => {
    expect(podLines(cluster.pods)).toEqual([
      'kube-system/kube-proxy-8xkzq 172.18.0.3 @kind-worker',
      'shop/db-0 10.244.1.9 @kind-worker',
      'shop/web-7d9c6b5f8d-x2v9q 10.244.1.7,fd00:10:244:1::7 @kind-worker',
    ]);
    expect(cluster.pods[0]!.hostNetwork).toBe(true);
  });

  it('leaves out the Succeeded pod with a warning (its address may belong to another pod now)', () => {
    expect(cluster.pods.some((p) => p.name.startsWith('migrate'))).toBe(false);
    expect(result.warnings).toEqual(['1 pod(s) in phase Succeeded or Failed left out: they hold no address any more']);
  });

  it('reads container ports, but not initContainers ports', () => {
    const web = cluster.pods.find((p) => p.name.startsWith('web-'))!;
    expect(web.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ]);
    const db = cluster.pods.find((p) => p.name === 'db-0')!;
    expect(db.ports).toEqual([{ name: 'pg', port: 5432, protocol: 'TCP' }]);
  });

  it('takes node addresses from the Node (InternalIP, not Hostname) and the pods\' hostIPs', () => {
    expect(cluster.nodes.map((n) => [n.name, n.ips.map(formatIp)])).toEqual([
      ['kind-worker', ['172.18.0.3', 'fc00:f853:ccd:e793::3']],
    ]);
  });

  it('keeps declared namespace labels, implies kube-system, and labels both with their name', () => {
    expect(cluster.namespaces).toEqual([
      { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'payments' } },
    ]);
  });

  it('keeps the given cluster IP, and none for the headless Service', () => {
    expect(cluster.services.map((s) => [s.name, s.clusterIPs.map(formatIp), s.ports[0]!.targetPort])).toEqual([
      ['db', [], 5432],
      ['web', ['10.96.114.20'], 'http'],
    ]);
  });

  it('converts the NetworkPolicy with its named port', () => {
    expect(cluster.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['shop/db-from-web']);
    expect(cluster.policies[0]!.ingress[0]!.ports).toEqual([{ protocol: 'TCP', port: 'pg', endPort: null }]);
  });

  it('counts every List item and the skipped kinds', () => {
    expect(result.objects).toBe(12);
    expect(result.skipped).toEqual({ ConfigMap: 1 });
  });

  it('loads the same cluster from the JSON form (`-o json`), sources aside', () => {
    const json = loadCluster([`${FIXTURES}/kubectl-get-all.json`]);
    const strip = (c: unknown): string => JSON.stringify(c, (k, v) => (k === 'source' ? undefined : typeof v === 'bigint' ? String(v) : v));
    expect(strip(json.cluster)).toEqual(strip(cluster));
    expect(json.cluster.pods[0]!.source.file).toBe(`${FIXTURES}/kubectl-get-all.json`);
    expect(json.objects).toBe(12);
  });
});
