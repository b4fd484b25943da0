import { describe, expect, it } from 'vitest';
import { formatCidr } from '../../src/model/ip.js';
import type { NetworkPolicy } from '../../src/model/types.js';
import { loadText, policyYaml } from './helpers.js';

function policy(spec: string): NetworkPolicy {
  const { cluster } = loadText(policyYaml(spec));
  expect(cluster.policies).toHaveLength(1);
  return cluster.policies[0]!;
}

const ALL = { matchLabels: {}, matchExpressions: [] };

describe('policyTypes defaulting (the API server\'s table)', () => {
  const cases: [string, string, { ingress: boolean; egress: boolean }][] = [
    ['omitted, no egress: [Ingress]', 'podSelector: {}', { ingress: true, egress: false }],
    ['omitted, egress: [] : [Ingress] (egress stays open)', 'podSelector: {}\negress: []', { ingress: true, egress: false }],
    ['omitted, egress non-empty: [Ingress, Egress]', 'podSelector: {}\negress: [{}]', { ingress: true, egress: true }],
    ['omitted, ingress rules only: [Ingress]', 'podSelector: {}\ningress: [{}]', { ingress: true, egress: false }],
    ['policyTypes: [] is the same as omitted', 'podSelector: {}\npolicyTypes: []\negress: [{}]', { ingress: true, egress: true }],
    ['[Egress] alone', 'podSelector: {}\npolicyTypes: [Egress]', { ingress: false, egress: true }],
    ['[Ingress, Egress]', 'podSelector: {}\npolicyTypes: [Ingress, Egress]', { ingress: true, egress: true }],
    ['[Ingress, Ingress] is allowed and means [Ingress]', 'podSelector: {}\npolicyTypes: [Ingress, Ingress]', { ingress: true, egress: false }],
  ];
  for (const [name, spec, expected] of cases) {
    it(name, () => expect(policy(spec).policyTypes).toEqual(expected));
  }

  it('[Egress] with ingress rules present: the ingress rules are dropped', () => {
    const np = policy('podSelector: {}\npolicyTypes: [Egress]\ningress: [{from: [{podSelector: {}}]}]\negress: [{}]');
    expect(np.ingress).toEqual([]);
    expect(np.egress).toEqual([{ peers: null, ports: null }]);
  });

  it('[Ingress] with egress rules present: the egress rules are dropped', () => {
    const np = policy('podSelector: {}\npolicyTypes: [Ingress]\negress: [{}]');
    expect(np.policyTypes).toEqual({ ingress: true, egress: false });
    expect(np.egress).toEqual([]);
  });
});

describe('empty versus absent', () => {
  it('spec.podSelector absent or {} selects every pod', () => {
    expect(policy('ingress: []').podSelector).toEqual(ALL);
    expect(policy('podSelector: {}').podSelector).toEqual(ALL);
  });

  it('ingress absent or [] is no rule (deny); [{}] is one rule allowing everything', () => {
    expect(policy('podSelector: {}').ingress).toEqual([]);
    expect(policy('podSelector: {}\ningress: []').ingress).toEqual([]);
    expect(policy('podSelector: {}\ningress: [{}]').ingress).toEqual([{ peers: null, ports: null }]);
  });

  it('from/to absent or [] is peers null (every peer)', () => {
    expect(policy('ingress: [{from: []}]').ingress[0]!.peers).toBeNull();
    expect(policy('ingress: [{ports: [{port: 80}]}]').ingress[0]!.peers).toBeNull();
    expect(policy('egress: [{to: []}]').egress[0]!.peers).toBeNull();
  });

  it('ports absent or [] is ports null (every port, every protocol); [{}] is every TCP port', () => {
    expect(policy('ingress: [{ports: []}]').ingress[0]!.ports).toBeNull();
    expect(policy('ingress: [{from: [{podSelector: {}}]}]').ingress[0]!.ports).toBeNull();
    expect(policy('ingress: [{ports: [{}]}]').ingress[0]!.ports).toEqual([{ protocol: 'TCP', port: null, endPort: null }]);
  });

  it('protocol defaults to TCP with or without a port; ranges, named ports and other protocols are kept', () => {
    const np = policy(`ingress:
- ports:
  - port: 80
  - protocol: UDP
  - {protocol: SCTP, port: 3000, endPort: 3010}
  - {port: http}
  - {port: 8080, endPort: 8080}`);
    expect(np.ingress[0]!.ports).toEqual([
      { protocol: 'TCP', port: 80, endPort: null },
      { protocol: 'UDP', port: null, endPort: null },
      { protocol: 'SCTP', port: 3000, endPort: 3010 },
      { protocol: 'TCP', port: 'http', endPort: null },
      { protocol: 'TCP', port: 8080, endPort: 8080 },
    ]);
  });
});

describe('peers', () => {
  it('podSelector only, namespaceSelector only, both in one element, and the OR of separate elements', () => {
    const np = policy(`ingress:
- from:
  - podSelector: {matchLabels: {app: a}}
  - namespaceSelector: {}
  - podSelector: {matchLabels: {app: b}}
    namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}`);
    expect(np.ingress[0]!.peers).toEqual([
      { kind: 'pods', podSelector: { matchLabels: { app: 'a' }, matchExpressions: [] }, namespaceSelector: null },
      { kind: 'pods', podSelector: null, namespaceSelector: ALL },
      {
        kind: 'pods',
        podSelector: { matchLabels: { app: 'b' }, matchExpressions: [] },
        namespaceSelector: { matchLabels: {}, matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] },
      },
    ]);
  });

  it('ipBlock with except, IPv4 and IPv6', () => {
    const np = policy(`egress:
- to:
  - ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 192.168.0.0/16]}
  - ipBlock: {cidr: "fd00::/8", except: ["fd00:10::/32"]}`);
    const peers = np.egress[0]!.peers!;
    expect(peers.map((p) => (p.kind === 'ipBlock' ? [formatCidr(p.cidr), p.except.map(formatCidr)] : null))).toEqual([
      ['0.0.0.0/0', ['10.0.0.0/8', '192.168.0.0/16']],
      ['fd00::/8', ['fd00:10::/32']],
    ]);
  });

  it('a CIDR with host bits set is accepted as its network, with a warning naming the field', () => {
    const result = loadText(policyYaml('ingress: [{from: [{ipBlock: {cidr: 10.0.0.1/24, except: [10.0.0.129/25]}}]}]'));
    const peer = result.cluster.policies[0]!.ingress[0]!.peers![0]!;
    expect(peer.kind === 'ipBlock' && formatCidr(peer.cidr)).toBe('10.0.0.0/24');
    expect(peer.kind === 'ipBlock' && peer.except.map(formatCidr)).toEqual(['10.0.0.128/25']);
    expect(result.warnings).toHaveLength(2);
    expect(result.warnings[0]).toMatch(/in\.yaml: NetworkPolicy default\/np: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: "10\.0\.0\.1\/24" has host bits set; it is treated as 10\.0\.0\.0\/24$/);
    expect(result.warnings[1]).toContain('spec.ingress[0].from[0].ipBlock.except[0]: "10.0.0.129/25" has host bits set');
  });
});

describe('output order', () => {
  it('policies are sorted by namespace, then name', () => {
    const text = [policyYaml('{}', 'beta', 'ns2'), policyYaml('{}', 'alpha', 'ns2'), policyYaml('{}', 'zulu', 'ns1')].join('---\n');
    expect(loadText(text).cluster.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['ns1/zulu', 'ns2/alpha', 'ns2/beta']);
  });
});
