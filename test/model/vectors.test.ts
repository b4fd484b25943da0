/**
 * The tricky vectors of docs/networkpolicy-semantics.md ("Tricky vectors every test suite should
 * hold"), one named test each, plus the implementation-defined corners (EvalOptions), ICMP and other
 * port-less protocols, named ports towards non-pods, and address families.
 *
 * Vectors 1-3 are about the API server's defaulting, which happens when manifests are read: they go
 * through the real loader (`loadCluster`) from YAML, so what is tested is what users get. The others
 * build the model directly with test/support/builders.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadCluster } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, type EvalOptions, type Flow } from '../../src/model/evaluate.js';
import type { Cluster } from '../../src/model/types.js';
import { cluster, flow, netpol, node, ns, pod, sctpPort, tcpPort, udpPort, type PolicySpec } from '../support/builders.js';

const dir = mkdtempSync(join(tmpdir(), 'netsieve-vectors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(name: string, yaml: string): Cluster {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return loadCluster([file]).cluster;
}

const decide = (c: Cluster, f: Flow, options: Partial<EvalOptions> = {}) =>
  evaluate(indexCluster(c), f, { ...DEFAULT_EVAL_OPTIONS, ...options });
const allowed = (c: Cluster, f: Flow, options: Partial<EvalOptions> = {}) => decide(c, f, options).allowed;

/** Two pods `db` (10.0.0.1, serving tcp 5432 and udp 53) and `client` (10.0.0.2) in `default`, and a policy. */
function podsYaml(policySpec: string): string {
  return `
apiVersion: v1
kind: Pod
metadata: { name: db, namespace: default, labels: { app: db } }
spec:
  containers: [{ name: c, image: i, ports: [{ containerPort: 5432 }, { containerPort: 53, protocol: UDP }] }]
status: { podIP: 10.0.0.1 }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: default, labels: { app: client } }
spec:
  containers: [{ name: c, image: i }]
status: { podIP: 10.0.0.2 }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: p, namespace: default }
spec:
${policySpec}`;
}

const DB = '10.0.0.1';
const CLIENT = '10.0.0.2';

describe('tricky vectors of the semantics doc', () => {
  test('1. egress-only intent written without policyTypes also denies all ingress', () => {
    const c = load('v1', podsYaml(`
  podSelector: { matchLabels: { app: db } }
  egress: [{ to: [{ podSelector: { matchLabels: { app: client } } }] }]`));
    expect(c.policies[0]!.policyTypes).toEqual({ ingress: true, egress: true });
    expect(allowed(c, flow(CLIENT, DB, 'TCP', 5432))).toBe(false);
    expect(decide(c, flow(CLIENT, DB, 'TCP', 5432)).ingress.reason).toBe('no-rule-allows');
    expect(allowed(c, flow(DB, CLIENT, 'TCP', 80))).toBe(true);
  });

  test('2. `egress: []` without policyTypes leaves egress open', () => {
    const c = load('v2', podsYaml(`
  podSelector: { matchLabels: { app: db } }
  ingress: [{}]
  egress: []`));
    expect(c.policies[0]!.policyTypes).toEqual({ ingress: true, egress: false });
    expect(decide(c, flow(DB, CLIENT, 'TCP', 80)).egress.reason).toBe('not-isolated');
    expect(allowed(c, flow(DB, '192.0.2.9', 'UDP', 53))).toBe(true);
  });

  test('3. `ports: [{}]` defaults the protocol to TCP: TCP allowed, UDP and SCTP denied', () => {
    const c = load('v3', podsYaml(`
  podSelector: { matchLabels: { app: db } }
  ingress: [{ ports: [{}] }]`));
    expect(c.policies[0]!.ingress[0]!.ports).toEqual([{ protocol: 'TCP', port: null, endPort: null }]);
    expect(allowed(c, flow(CLIENT, DB, 'TCP', 5432))).toBe(true);
    expect(allowed(c, flow(CLIENT, DB, 'TCP', 1))).toBe(true);
    expect(allowed(c, flow(CLIENT, DB, 'UDP', 53))).toBe(false);
    expect(allowed(c, flow(CLIENT, DB, 'SCTP', 5432))).toBe(false);
  });

  const twoPods = (dbPorts = [tcpPort(80, 'http')]) => [
    pod('default/db', { labels: { app: 'db' }, ips: [DB], ports: dbPorts }),
    pod('default/client', { labels: { app: 'client' }, ips: [CLIENT] }),
  ];
  const withPolicies = (...specs: PolicySpec[]) =>
    cluster({ pods: twoPods(), policies: specs.map((s, i) => netpol(`default/p${i}`, s)) });

  test('4. a named port given with the wrong protocol matches nothing', () => {
    const c = withPolicies({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ protocol: 'UDP', port: 'http' }] }] });
    expect(allowed(c, flow(CLIENT, DB, 'UDP', 80))).toBe(false);
    expect(allowed(c, flow(CLIENT, DB, 'TCP', 80))).toBe(false);
    const right = withPolicies({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ protocol: 'TCP', port: 'http' }] }] });
    expect(allowed(right, flow(CLIENT, DB, 'TCP', 80))).toBe(true);
  });

  test('5. a deny-all policy plus an allow-all policy on the same pods: allowed', () => {
    const denyAll: PolicySpec = { podSelector: {}, policyTypes: ['Ingress', 'Egress'] };
    const allowAll: PolicySpec = { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{}], egress: [{}] };
    expect(allowed(withPolicies(denyAll), flow(CLIENT, DB, 'TCP', 80))).toBe(false);
    const both = withPolicies(denyAll, allowAll);
    expect(allowed(both, flow(CLIENT, DB, 'TCP', 80))).toBe(true);
    expect(decide(both, flow(CLIENT, DB, 'TCP', 80)).ingress.allowedBy).toEqual([{ policy: 'default/p1', direction: 'ingress', rule: 0 }]);
  });

  test('6. `from: [{namespaceSelector}, {podSelector}]` is an OR; one element holding both is an AND', () => {
    const pods = [
      pod('prod/db', { labels: { app: 'db' }, ips: ['10.1.0.1'] }),
      pod('prod/web', { labels: { app: 'web' }, ips: ['10.1.0.2'] }),
      pod('dev/web', { labels: { app: 'web' }, ips: ['10.2.0.2'] }),
      pod('dev/tool', { labels: { app: 'tool' }, ips: ['10.2.0.3'] }),
      pod('stage/web', { labels: { app: 'web' }, ips: ['10.3.0.2'] }),
    ];
    const namespaces = [ns('prod', { env: 'prod' }), ns('dev', { env: 'dev' }), ns('stage', { env: 'stage' })];
    const mk = (from: PolicySpec['ingress']) => cluster({ namespaces, pods, policies: [netpol('prod/p', { podSelector: { matchLabels: { app: 'db' } }, ingress: from })] });
    const or = mk([{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } } }, { podSelector: { matchLabels: { app: 'web' } } }] }]);
    const and = mk([{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } }, podSelector: { matchLabels: { app: 'web' } } }] }]);
    const from = (src: string) => flow(src, '10.1.0.1', 'TCP', 5432);
    // sources: prod/web, dev/web, dev/tool, stage/web
    expect(['10.1.0.2', '10.2.0.2', '10.2.0.3', '10.3.0.2'].map((s) => allowed(or, from(s)))).toEqual([true, true, true, false]);
    expect(['10.1.0.2', '10.2.0.2', '10.2.0.3', '10.3.0.2'].map((s) => allowed(and, from(s)))).toEqual([false, true, false, false]);
  });

  test('7. NotIn matches namespaces that lack the key', () => {
    const c = cluster({
      namespaces: [ns('prod', { env: 'prod' }), ns('dev', { env: 'dev' }), ns('bare')],
      pods: [
        pod('prod/db', { labels: { app: 'db' }, ips: ['10.1.0.1'] }),
        pod('dev/a', { ips: ['10.2.0.1'] }),
        pod('bare/a', { ips: ['10.3.0.1'] }),
      ],
      policies: [netpol('prod/p', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] } }] }] })],
    });
    expect(allowed(c, flow('10.3.0.1', '10.1.0.1', 'TCP', 1))).toBe(true); // no env key at all
    expect(allowed(c, flow('10.2.0.1', '10.1.0.1', 'TCP', 1))).toBe(false);
  });

  test('8. `0.0.0.0/0 except 10.0.0.0/8` does not match a pod at 10.x', () => {
    const c = withPolicies({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }] });
    expect(allowed(c, flow(CLIENT, DB, 'TCP', 80))).toBe(false);
    expect(allowed(c, flow('10.200.0.1', DB, 'TCP', 80))).toBe(false); // external, but inside the except
    expect(allowed(c, flow('192.168.7.7', DB, 'TCP', 80))).toBe(true);
  });

  test("9. the server allows ingress but the client's egress denies: denied", () => {
    const c = withPolicies(
      { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }] },
      { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'] },
    );
    const d = decide(c, flow(CLIENT, DB, 'TCP', 80));
    expect([d.allowed, d.ingress.allowed, d.egress.allowed, d.egress.reason]).toEqual([false, true, false, 'no-rule-allows']);
  });

  test('10. `endPort == port` is exactly one port', () => {
    const c = withPolicies({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 8080, endPort: 8080 }] }] });
    expect([8079, 8080, 8081].map((p) => allowed(c, flow(CLIENT, DB, 'TCP', p)))).toEqual([false, true, false]);
    const range = withPolicies({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ port: 8080, endPort: 8090 }] }] });
    expect([8079, 8080, 8085, 8090, 8091].map((p) => allowed(range, flow(CLIENT, DB, 'TCP', p)))).toEqual([false, true, true, true, false]);
  });

  test('11. the reply of an allowed connection leaving an egress-isolated server is not the evaluator\'s to deny', () => {
    // The evaluator decides opening packets. The opening packet is allowed; the same 5-tuple reversed,
    // as a NEW connection from the server, is denied: so the reply can only pass through connection
    // tracking (ESTABLISHED), which is what the dataplanes implement ("policies act on connections").
    const c = withPolicies({ podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress', 'Egress'], ingress: [{}] });
    expect(allowed(c, flow(CLIENT, DB, 'TCP', 80))).toBe(true);
    expect(allowed(c, flow(DB, CLIENT, 'TCP', 40000))).toBe(false);
  });

  test('12. a named egress port that maps to different numbers on two destination pods', () => {
    const c = cluster({
      pods: [
        pod('default/client', { labels: { app: 'client' }, ips: [CLIENT] }),
        pod('default/one', { ips: ['10.0.0.11'], ports: [tcpPort(8080, 'web')] }),
        pod('default/two', { ips: ['10.0.0.12'], ports: [tcpPort(9090, 'web')] }),
      ],
      policies: [netpol('default/p', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'web' }] }] })],
    });
    const to = (dst: string, port: number) => allowed(c, flow(CLIENT, dst, 'TCP', port));
    expect([to('10.0.0.11', 8080), to('10.0.0.11', 9090), to('10.0.0.12', 9090), to('10.0.0.12', 8080)]).toEqual([true, false, true, false]);
  });

  test('13. a policy that allows only SCTP or only UDP on a port still isolates the pod for TCP', () => {
    for (const protocol of ['SCTP', 'UDP'] as const) {
      const c = withPolicies({ podSelector: { matchLabels: { app: 'db' } }, ingress: [{ ports: [{ protocol, port: 80 }] }] });
      expect(allowed(c, flow(CLIENT, DB, 'TCP', 80)), protocol).toBe(false);
      expect(allowed(c, flow(CLIENT, DB, protocol, 80)), protocol).toBe(true);
    }
  });
});

describe('implementation-defined corners (EvalOptions)', () => {
  const c = cluster({
    nodes: [node('n1', ['172.18.0.2', 'fc00::2']), node('n2', ['172.18.0.3'])],
    pods: [
      pod('default/db', { labels: { app: 'db' }, ips: [DB, 'fd00::1'], ports: [tcpPort(80, 'http')], node: 'n1' }),
      pod('default/client', { labels: { app: 'client' }, ips: [CLIENT, 'fd00::2'], node: 'n2' }),
      pod('kube-system/agent', { ips: ['172.18.0.2'], node: 'n1', hostNetwork: true }),
    ],
    policies: [netpol('default/deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
  });

  test('ipBlockMatchesPods: on, an ipBlock holding a pod address matches that pod; off, only non-pod addresses', () => {
    const b = withBlock('10.0.0.0/24');
    expect(allowed(b, flow(CLIENT, DB, 'TCP', 80))).toBe(true);
    expect(allowed(b, flow(CLIENT, DB, 'TCP', 80), { ipBlockMatchesPods: false })).toBe(false);
    expect(allowed(b, flow('10.0.0.99', DB, 'TCP', 80), { ipBlockMatchesPods: false })).toBe(true);
  });

  test('allowNodeTraffic: a pod and its own node (and hostNetwork pods there) pass policy; other nodes do not', () => {
    expect(decide(c, flow('172.18.0.2', DB, 'TCP', 80)).ingress.reason).toBe('node-traffic');
    expect(allowed(c, flow('fc00::2', 'fd00::1', 'TCP', 80))).toBe(true);
    expect(allowed(c, flow(DB, '172.18.0.2', 'TCP', 10250))).toBe(true); // pod -> own node, egress deny-all
    expect(allowed(c, flow('172.18.0.3', DB, 'TCP', 80))).toBe(false); // another node
    expect(allowed(c, flow('172.18.0.2', DB, 'TCP', 80), { allowNodeTraffic: false })).toBe(false);
  });

  test('allowLoopback: a pod to its own address passes policy unless switched off', () => {
    expect(decide(c, flow(DB, DB, 'TCP', 80)).egress.reason).toBe('loopback');
    expect(allowed(c, flow('fd00::1', 'fd00::1', 'UDP', 53))).toBe(true);
    expect(allowed(c, flow(DB, DB, 'TCP', 80), { allowLoopback: false })).toBe(false);
  });
});

/** db and client, both dual-stack; one policy on db with the given ingress rules. */
function withRules(rules: NonNullable<PolicySpec['ingress']>): Cluster {
  return cluster({
    pods: [
      pod('default/db', { labels: { app: 'db' }, ips: [DB, 'fd00::1'], ports: [tcpPort(80, 'http'), udpPort(53, 'dns'), sctpPort(9, 'disc')] }),
      pod('default/client', { labels: { app: 'client' }, ips: [CLIENT, 'fd00::2'] }),
    ],
    policies: [netpol('default/p', { podSelector: { matchLabels: { app: 'db' } }, ingress: rules })],
  });
}

const withBlock = (cidr: string) => withRules([{ from: [{ ipBlock: { cidr } }] }]);

describe('protocols without ports, named ports towards non-pods, address families', () => {
  test('ICMP, ICMPv6 and other protocols are matched only by rules without ports', () => {
    const anyPort = withRules([{}]);
    const tcpOnly = withRules([{ ports: [{ protocol: 'TCP' }] }]);
    const allL4 = withRules([{ ports: [{ protocol: 'TCP' }, { protocol: 'UDP' }, { protocol: 'SCTP' }] }]);
    for (const f of [flow(CLIENT, DB, 'ICMP'), flow('fd00::2', 'fd00::1', 'ICMPv6'), flow(CLIENT, DB, 47)]) {
      expect(allowed(anyPort, f)).toBe(true);
      expect(allowed(tcpOnly, f)).toBe(false);
      expect(allowed(allL4, f)).toBe(false);
    }
  });

  test('a named port never matches a destination that is no pod', () => {
    const c = cluster({
      pods: [pod('default/client', { labels: { app: 'client' }, ips: [CLIENT] }), pod('default/web', { ips: ['10.0.0.5'], ports: [tcpPort(80, 'http')] })],
      policies: [netpol('default/p', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 'http' }] }] })],
    });
    expect(allowed(c, flow(CLIENT, '10.0.0.5', 'TCP', 80))).toBe(true);
    expect(allowed(c, flow(CLIENT, '93.184.216.34', 'TCP', 80))).toBe(false);
  });

  test('an IPv4 ipBlock never matches IPv6 traffic, and an IPv6 one never IPv4', () => {
    const v4 = withBlock('0.0.0.0/0');
    expect(allowed(v4, flow('192.0.2.1', DB, 'TCP', 80))).toBe(true);
    expect(allowed(v4, flow('2001:db8::1', 'fd00::1', 'TCP', 80))).toBe(false);
    const v6 = withBlock('::/0');
    expect(allowed(v6, flow('2001:db8::1', 'fd00::1', 'TCP', 80))).toBe(true);
    expect(allowed(v6, flow('192.0.2.1', DB, 'TCP', 80))).toBe(false);
    // An IPv4-mapped IPv6 source is IPv6 traffic, not 192.0.2.1.
    expect(allowed(v4, flow('::ffff:192.0.2.1', 'fd00::1', 'TCP', 80))).toBe(false);
  });

  test('a flow cannot mix families', () => {
    expect(() => decide(withBlock('0.0.0.0/0'), { ...flow(CLIENT, DB), dst: flow('fd00::2', 'fd00::1').dst })).toThrow(/mix/);
  });
});
