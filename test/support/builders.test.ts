import { describe, expect, test } from 'vitest';
import { NAME_LABEL, cluster, netpol, ns, pod, service } from './builders.js';

describe('builders', () => {
  test('service defaults protocol to TCP and targetPort to port, and keeps a named targetPort', () => {
    const s = service('web/front', { clusterIPs: ['10.96.0.10', 'fd00:96::a'], selector: { app: 'front' }, ports: [{ port: 80 }, { port: 443, targetPort: 'https', protocol: 'TCP', name: 'tls' }] });
    expect(s.ports).toEqual([
      { name: null, port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'tls', port: 443, protocol: 'TCP', targetPort: 'https' },
    ]);
    expect([s.namespace, s.name, s.clusterIPs.map((ip) => ip.family)]).toEqual(['web', 'front', [4, 6]]);
  });

  test('netpol defaults policyTypes as the API server does and drops rules of absent directions', () => {
    expect(netpol('a/p', { egress: [] }).policyTypes).toEqual({ ingress: true, egress: false });
    expect(netpol('a/p', { egress: [{}] }).policyTypes).toEqual({ ingress: true, egress: true });
    const egressOnly = netpol('a/p', { policyTypes: ['Egress'], ingress: [{}], egress: [{}] });
    expect([egressOnly.ingress.length, egressOnly.egress.length]).toEqual([0, 1]);
    expect(netpol('a/p', { ingress: [{ from: [], ports: [{}] }] }).ingress[0]).toEqual({ peers: null, ports: [{ protocol: 'TCP', port: null, endPort: null }] });
  });

  test('cluster implies missing namespaces with their name label and sorts by namespace, then name', () => {
    const c = cluster({ pods: [pod('b/z'), pod('a/y'), pod('a/x')] });
    expect(c.namespaces).toEqual([ns('a'), ns('b')]);
    expect(c.namespaces[0]!.labels).toEqual({ [NAME_LABEL]: 'a' });
    expect(c.pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(['a/x', 'a/y', 'b/z']);
  });
});
