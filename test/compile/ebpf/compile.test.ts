/**
 * The eBPF compiler: prefixes from ipBlocks, port ranges as prefixes, identity sharing and splitting,
 * the policy map size warning, explain's naming of the deciding entry, and the tricky vectors of
 * networkpolicy-semantics.md, each decided by the compiled maps exactly as by the reference.
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../../src/compile/ebpf/compile.js';
import { subtractPrefixes } from '../../../src/compile/ebpf/cidr.js';
import { rangeToPortKeys } from '../../../src/compile/ebpf/ports.js';
import { EbpfDataplane } from '../../../src/match/ebpf-dataplane.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, type EvalOptions, type Flow } from '../../../src/model/evaluate.js';
import { formatCidr, mustParseCidr } from '../../../src/model/ip.js';
import type { Cluster } from '../../../src/model/types.js';
import { cluster, flow, netpol, node, ns, pod, tcpPort, udpPort, type PolicySpec } from '../../support/builders.js';
import { EBPF_SCENARIOS } from './scenarios.js';

describe('ipBlock prefixes', () => {
  it('10.0.0.0/8 except 10.1.0.0/16 is the eight prefixes around the hole, covering 2^24 - 2^16 addresses', () => {
    const parts = subtractPrefixes(mustParseCidr('10.0.0.0/8'), [mustParseCidr('10.1.0.0/16')]);
    expect(parts.map(formatCidr).sort()).toEqual(['10.0.0.0/16', '10.128.0.0/9', '10.16.0.0/12', '10.2.0.0/15', '10.32.0.0/11', '10.4.0.0/14', '10.64.0.0/10', '10.8.0.0/13']);
    expect(parts.reduce((n, c) => n + 2 ** (32 - c.prefix), 0)).toBe(2 ** 24 - 2 ** 16);
  });

  it('an except that covers the whole cidr leaves nothing; no except leaves the cidr', () => {
    expect(subtractPrefixes(mustParseCidr('10.1.0.0/16'), [mustParseCidr('10.0.0.0/8')])).toEqual([]);
    expect(subtractPrefixes(mustParseCidr('fd00::/8'), []).map(formatCidr)).toEqual(['fd00::/8']);
  });
});

describe('endPort ranges as port prefixes', () => {
  const expand = (lo: number, hi: number): number[] =>
    rangeToPortKeys(6, lo, hi).flatMap((k) => Array.from({ length: 2 ** (24 - k.prefixLength) }, (_, i) => k.port + i));
  it.each([[8000, 8100], [1, 65535], [443, 443], [1024, 2047], [5432, 5440]])('%d..%d is tiled exactly, without overlap', (lo, hi) => {
    expect(expand(lo, hi)).toEqual(Array.from({ length: hi - lo + 1 }, (_, i) => lo + i));
  });
  it('a single port is one /24 key, an aligned block one shorter key, 1..65535 sixteen keys', () => {
    expect(rangeToPortKeys(6, 443, 443)).toEqual([{ protocol: 6, port: 443, prefixLength: 24 }]);
    expect(rangeToPortKeys(6, 1024, 2047)).toEqual([{ protocol: 6, port: 1024, prefixLength: 14 }]);
    expect(rangeToPortKeys(6, 1, 65535)).toHaveLength(16);
  });
});

describe('security identities', () => {
  it('pods with the same labels in the same namespace share one identity; other labels or namespaces get their own', () => {
    const c = cluster({
      pods: [
        pod('a/x', { labels: { app: 'web' }, ips: ['10.0.0.1'] }), pod('a/y', { labels: { app: 'web' }, ips: ['10.0.0.2'] }),
        pod('a/z', { labels: { app: 'db' }, ips: ['10.0.0.3'] }), pod('b/x', { labels: { app: 'web' }, ips: ['10.0.0.4'] }),
      ],
    });
    const p = compileEbpf(indexCluster(c));
    const ids = p.endpoints.map((e) => e.identities[0]);
    expect(ids[0]).toBe(ids[1]);
    expect(new Set(ids).size).toBe(3);
    expect(p.identities.find((i) => i.id === ids[0])!.pods).toEqual(['a/x', 'a/y']);
  });

  it('with ipBlockMatchesPods, pods inside different policy blocks are split; without it they are not', () => {
    const make = (options: EvalOptions): number => {
      const p = compileEbpf(indexCluster(EBPF_SCENARIOS['ipblock-splits-identities']!()), options);
      return new Set(p.identities.filter((i) => i.kind === 'endpoint').map((i) => i.id)).size;
    };
    expect(make(DEFAULT_EVAL_OPTIONS)).toBe(4);
    expect(make({ ...DEFAULT_EVAL_OPTIONS, ipBlockMatchesPods: false })).toBe(2);
  });
});

describe('policy map size', () => {
  const big = (blocks: number): Cluster => cluster({
    pods: [pod('prod/api', { labels: { app: 'api' }, ips: ['10.244.0.5'] })],
    policies: [netpol('prod/many', {
      podSelector: {},
      ingress: [{ from: Array.from({ length: blocks }, (_, i) => ({ ipBlock: { cidr: `192.0.${i >> 8}.${i & 255}/32` } })),
        ports: Array.from({ length: 100 }, (_, i) => ({ port: 1000 + i })) }],
    })],
  });

  it('warns, naming the endpoint and what Cilium would do, when an endpoint exceeds 16,384 entries', () => {
    const p = compileEbpf(indexCluster(big(170)));
    expect(p.endpoints[0]!.entries).toBe(170 * 100 + 1);
    expect(p.warnings).toHaveLength(1);
    expect(p.warnings[0]).toMatch(/prod\/api needs 17001 policy map entries, more than .*16384.*fail to regenerate/);
  });

  it('does not warn at 16,384 entries or fewer', () => {
    const p = compileEbpf(indexCluster(big(160)));
    expect(p.endpoints[0]!.entries).toBe(16001);
    expect(p.warnings).toEqual([]);
  });
});

describe('explain names the map entry and the identity that decided', () => {
  it('seed: frontend -> backend TCP/80 is allowed by the ingress entry for the frontend identity', () => {
    const dp = new EbpfDataplane(indexCluster(EBPF_SCENARIOS['seed']!()));
    const v = dp.decideOpening(flow('10.244.0.3', '10.244.0.2', 'TCP', 80));
    expect(v.allowed).toBe(true);
    expect(v.decidedBy).toMatch(/^ingress map of default\/backend-0 entry #0: identity 257 \(k8s:app=frontend .*\) TCP\/80 allow \(from default\/backend-allow-frontend ingress rule 0\)$/);
    expect(v.path.some((l) => /probe ingress map of default\/backend-0: \{identity 257 .*TCP\/80\} -> entry #0/.test(l))).toBe(true);
    expect(v.cost).toBeGreaterThan(0);
  });

  it('seed: other -> backend TCP/80 is dropped by default with no entry', () => {
    const dp = new EbpfDataplane(indexCluster(EBPF_SCENARIOS['seed']!()));
    const v = dp.decideOpening(flow('10.244.0.4', '10.244.0.2', 'TCP', 80));
    expect(v.allowed).toBe(false);
    expect(v.decidedBy).toBe('ingress of default/backend-0: no policy map entry matches (default deny)');
  });
});

// ---- the tricky vectors of docs/networkpolicy-semantics.md ------------------------------------------------

const web = (labels: Record<string, string> = { app: 'web' }) =>
  pod('prod/web', { labels, ips: ['10.244.1.10', 'fd00::10'], ports: [tcpPort(8080, 'http'), udpPort(53, 'dns')], node: 'n1' });
const client = (nsName = 'dev') => pod(`${nsName}/client`, { labels: { app: 'client' }, ips: ['10.244.2.10', 'fd00::20'], node: 'n2' });

function scenario(policies: PolicySpec[], extra: { clientNs?: string; nsLabels?: Record<string, string> } = {}): Cluster {
  return cluster({
    namespaces: [ns('prod'), ns(extra.clientNs ?? 'dev', extra.nsLabels ?? {})],
    nodes: [node('n1', ['172.18.0.2']), node('n2', ['172.18.0.3'])],
    pods: [web(), client(extra.clientNs)],
    policies: policies.map((spec, i) => netpol(`${i === 0 || !spec.egress ? 'prod' : 'dev'}/p${i}`, spec)),
  });
}

const VECTORS: [string, Cluster, Flow, boolean][] = [
  ['1. egress-only intent without policyTypes also denies ingress',
    scenario([{ podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }]), flow('10.244.2.10', '10.244.1.10', 'TCP', 8080), false],
  ['2. egress: [] without policyTypes leaves egress open',
    scenario([{ podSelector: {}, ingress: [{}], egress: [] }]), flow('10.244.1.10', '8.8.8.8', 'TCP', 443), true],
  ['3. ports: [{}] denies UDP', scenario([{ podSelector: {}, ingress: [{ ports: [{}] }] }]), flow('10.244.2.10', '10.244.1.10', 'UDP', 53), false],
  ['3. ports: [{}] allows TCP', scenario([{ podSelector: {}, ingress: [{ ports: [{}] }] }]), flow('10.244.2.10', '10.244.1.10', 'TCP', 1234), true],
  ['4. a named port given with the wrong protocol matches nothing',
    scenario([{ podSelector: {}, ingress: [{ ports: [{ port: 'dns', protocol: 'TCP' }] }] }]), flow('10.244.2.10', '10.244.1.10', 'TCP', 53), false],
  ['5. deny-all plus allow-all on the same pods allows',
    scenario([{ podSelector: {}, policyTypes: ['Ingress'] }, { podSelector: {}, ingress: [{}] }]), flow('fd00::20', 'fd00::10', 'TCP', 80), true],
  ['6. namespaceSelector and podSelector in one element are ANDed',
    scenario([{ podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } }, podSelector: { matchLabels: { app: 'client' } } }] }] }]),
    flow('10.244.2.10', '10.244.1.10', 'TCP', 80), false],
  ['6. namespaceSelector and podSelector as two elements are ORed',
    scenario([{ podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'x' } } }, { podSelector: { matchLabels: { app: 'client' } }, namespaceSelector: {} }] }] }]),
    flow('10.244.2.10', '10.244.1.10', 'TCP', 80), true],
  ['7. NotIn matches a namespace that lacks the key',
    scenario([{ podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['x'] }] } }] }] }]),
    flow('10.244.2.10', '10.244.1.10', 'TCP', 80), true],
  ['8. 0.0.0.0/0 except 10.0.0.0/8 does not match a pod at 10.x',
    scenario([{ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }] }]),
    flow('10.244.2.10', '10.244.1.10', 'TCP', 80), false],
  ['8. 0.0.0.0/0 except 10.0.0.0/8 matches an outside address',
    scenario([{ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }] }] }]),
    flow('192.0.2.1', '10.244.1.10', 'TCP', 80), true],
  ['9. the server allows ingress but the client egress denies',
    scenario([{ podSelector: {}, ingress: [{}] }, { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] }]),
    flow('10.244.2.10', '10.244.1.10', 'TCP', 8080), false],
  ['10. endPort == port is one port (the next is denied)',
    scenario([{ podSelector: {}, ingress: [{ ports: [{ port: 8080, endPort: 8080 }] }] }]), flow('10.244.2.10', '10.244.1.10', 'TCP', 8081), false],
  ['13. a policy allowing only SCTP still isolates the pod for TCP',
    scenario([{ podSelector: {}, ingress: [{ ports: [{ port: 8080, protocol: 'SCTP' }] }] }]), flow('10.244.2.10', '10.244.1.10', 'TCP', 8080), false],
  ['an ipBlock holding a pod address matches that pod by default (e2e behaviour)',
    scenario([{ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'fd00::/64' } }] }] }]), flow('fd00::20', 'fd00::10', 'TCP', 80), true],
  ['an IPv4 block never matches IPv6 traffic',
    scenario([{ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }]), flow('fd00::20', 'fd00::10', 'TCP', 80), false],
  ['traffic from the pod\'s own node is allowed (host identity, allow-localhost)',
    scenario([{ podSelector: {}, policyTypes: ['Ingress'] }]), flow('172.18.0.2', '10.244.1.10', 'TCP', 80), true],
  ['traffic from another node is not node traffic',
    scenario([{ podSelector: {}, policyTypes: ['Ingress'] }]), flow('172.18.0.3', '10.244.1.10', 'TCP', 80), false],
];

describe('tricky vectors: the compiled maps decide as the reference does', () => {
  it.each(VECTORS)('%s', (_name, c, f, want) => {
    const index = indexCluster(c);
    expect(evaluate(index, f).allowed, 'reference').toBe(want);
    expect(new EbpfDataplane(index).decideOpening(f).allowed, 'ebpf').toBe(want);
  });

  it('12. a named egress port maps to different numbers on two destination pods', () => {
    const index = indexCluster(EBPF_SCENARIOS['named-egress-per-destination']!());
    const dp = new EbpfDataplane(index);
    const cases: [string, number, boolean][] = [['10.244.1.6', 8080, true], ['10.244.1.6', 9090, false], ['10.244.1.7', 9090, true], ['10.244.1.7', 8080, false], ['10.244.1.8', 8080, true]];
    for (const [dst, port, want] of cases) {
      const f = flow('10.244.1.5', dst, 'TCP', port);
      expect(evaluate(index, f).allowed, `reference ${dst}:${port}`).toBe(want);
      expect(dp.decideOpening(f).allowed, `ebpf ${dst}:${port}`).toBe(want);
    }
  });
});
