/**
 * The world of the upstream Kubernetes e2e network-policy suite (`test/e2e/network/netpol`), rebuilt
 * over the netsieve model: namespaces x, y, z labelled `ns=<name>` (plus the automatic
 * `kubernetes.io/metadata.name`), pods a, b, c labelled `pod=<name>`, each serving ports 80 and 81 over
 * TCP, UDP and SCTP on container ports named `serve-<port>-<proto>`, and one Service per pod
 * (`s-<ns>-<pod>`, no targetPort, so it defaults to the port) through which upstream probes.
 *
 * Expectations are written the way upstream writes them: a truth table that starts all-true and is
 * edited with expect / expectPeer / expectAllIngress / expectAllEgress, then compared cell by cell.
 */
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, type EvalOptions } from '../../src/model/evaluate.js';
import { formatIp, mustParseIp, type Family } from '../../src/model/ip.js';
import { serviceAt, serviceBackends, servicePortFor } from '../../src/model/services.js';
import {
  L4_PROTOCOL_NUMBER, type Cluster, type L4Protocol, type Labels, type NetworkPolicy, type Service,
} from '../../src/model/types.js';
import { cluster, cport, netpol, ns, pod, type EgressRuleSpec, type IngressRuleSpec, type SelectorSpec } from '../support/builders.js';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const PODS: readonly string[] = NAMESPACES.flatMap((n) => POD_NAMES.map((p) => `${n}/${p}`));
const PROTOCOLS: readonly L4Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** The mutable state a multi-step case changes: labels, and the policies by namespace/name. */
export class World {
  readonly nsLabels = new Map<string, Labels>(NAMESPACES.map((n) => [n, { ns: n }]));
  readonly podLabels = new Map<string, Labels>(PODS.map((p) => [p, { pod: p.split('/')[1]! }]));
  private policies = new Map<string, NetworkPolicy>();

  /** `CreatePolicy`: the policy goes into namespace `namespace`. */
  create(namespace: string, policy: (namespace: string) => NetworkPolicy): void {
    const p = policy(namespace);
    this.policies.set(`${p.namespace}/${p.name}`, p);
  }
  /** `UpdatePolicy`: the policy of the same name is replaced. */
  update(namespace: string, policy: (namespace: string) => NetworkPolicy): void {
    this.create(namespace, policy);
  }
  /** `cleanNetworkPolicies`: every policy is deleted. */
  deleteAllPolicies(): void {
    this.policies.clear();
  }
  addNamespaceLabel(namespace: string, key: string, value: string): void {
    this.nsLabels.set(namespace, { ...this.nsLabels.get(namespace)!, [key]: value });
  }
  addPodLabels(podName: string, labels: Labels): void {
    this.podLabels.set(podName, { ...this.podLabels.get(podName)!, ...labels });
  }

  cluster(family: Family): Cluster {
    return cluster({
      namespaces: NAMESPACES.map((n) => ns(n, this.nsLabels.get(n)!)),
      pods: PODS.map((p) => pod(p, { labels: this.podLabels.get(p)!, ips: [podIp(p, family)], ports: CONTAINER_PORTS, node: 'node-1' })),
      services: PODS.map((p) => podService(p, family)),
      policies: [...this.policies.values()],
    });
  }
}

const CONTAINER_PORTS = [80, 81].flatMap((port) => PROTOCOLS.map((proto) => cport(port, proto, `serve-${port}-${proto.toLowerCase()}`)));

function position(podName: string): { n: number; p: number } {
  const [namespace, name] = podName.split('/') as [string, string];
  return { n: NAMESPACES.indexOf(namespace as never) + 1, p: POD_NAMES.indexOf(name as never) };
}

export function podIp(podName: string, family: Family): string {
  const { n, p } = position(podName);
  return family === 4 ? `10.244.${n}.${10 + p}` : `fd00:10:244:${n}::${(10 + p).toString(16)}`;
}

function serviceIp(podName: string, family: Family): string {
  const { n, p } = position(podName);
  return family === 4 ? `10.96.${n}.${10 + p}` : `fd00:10:96:${n}::${(10 + p).toString(16)}`;
}

function podService(podName: string, family: Family): Service {
  const [namespace, name] = podName.split('/') as [string, string];
  return {
    namespace, name: `s-${namespace}-${name}`,
    clusterIPs: [mustParseIp(serviceIp(podName, family))],
    selector: { pod: name },
    ports: [80, 81].flatMap((port) => PROTOCOLS.map((protocol) => ({
      name: `service-port-${protocol.toLowerCase()}-${port}`, port, protocol, targetPort: port,
    }))),
    source: { file: '<e2e>', kind: 'Service', namespace, name: `s-${namespace}-${name}` },
  };
}

// ---- policies, as upstream's GenNetworkPolicy* + SetSpec*Rules build them ----------------------------------

export interface GenSpec {
  /** SetSpecIngressRules(...rules): present (even empty) adds Ingress to policyTypes. */
  ingress?: IngressRuleSpec[];
  /** SetSpecEgressRules(...rules): present (even empty) adds Egress to policyTypes. */
  egress?: EgressRuleSpec[];
  /** An explicit `policy.Spec.PolicyTypes = ...` overriding what the setters appended. */
  policyTypes?: ('Ingress' | 'Egress')[];
}

/** GenNetworkPolicyWithNameAndPodSelector; GenNetworkPolicyWithNameAndPodMatchLabel is `{ matchLabels }`. */
export function gen(name: string, podSelector: SelectorSpec, spec: GenSpec): (namespace: string) => NetworkPolicy {
  const types: ('Ingress' | 'Egress')[] = spec.policyTypes ?? [
    ...(spec.ingress ? ['Ingress' as const] : []), ...(spec.egress ? ['Egress' as const] : []),
  ];
  return (namespace) => netpol(`${namespace}/${name}`, { podSelector, policyTypes: types, ingress: spec.ingress, egress: spec.egress });
}

// ---- reachability, as upstream's reachability.go ---------------------------------------------------------

export interface PeerMatch { namespace?: string; pod?: string }

export type Table = Map<string, Map<string, boolean>>;

export class Reachability {
  readonly expected: Table;
  constructor(defaultExpectation = true) {
    this.expected = new Map(PODS.map((f) => [f, new Map(PODS.map((t) => [t, defaultExpectation]))]));
  }
  expect(from: string, to: string, connected: boolean): void {
    this.expected.get(from)!.set(to, connected);
  }
  expectAllIngress(to: string, connected: boolean): void {
    for (const from of PODS) this.expect(from, to, connected);
  }
  expectAllEgress(from: string, connected: boolean): void {
    for (const to of PODS) this.expect(from, to, connected);
  }
  expectPeer(from: PeerMatch, to: PeerMatch, connected: boolean): void {
    for (const f of PODS) if (peerMatches(from, f)) for (const t of PODS) if (peerMatches(to, t)) this.expect(f, t, connected);
  }
  /** Every pod reaches itself, whatever the policies (upstream's AllowLoopback). */
  allowLoopback(): void {
    for (const p of PODS) this.expect(p, p, true);
  }
}

function peerMatches(m: PeerMatch, podName: string): boolean {
  const [namespace, name] = podName.split('/');
  return (m.namespace === undefined || m.namespace === namespace) && (m.pod === undefined || m.pod === name);
}

// ---- probing: pod -> Service ClusterIP:port, DNAT to the backend, evaluate the post-DNAT flow ---------------

export function probe(c: Cluster, family: Family, port: number, protocol: L4Protocol, options: EvalOptions = DEFAULT_EVAL_OPTIONS): Table {
  const index = indexCluster(c);
  const observed: Table = new Map();
  for (const from of PODS) {
    const row = new Map<string, boolean>();
    for (const to of PODS) {
      const svc = serviceAt(index, mustParseIp(serviceIp(to, family)))!;
      const sp = servicePortFor(svc, port, L4_PROTOCOL_NUMBER[protocol])!;
      const backends = serviceBackends(index, svc, sp, family);
      if (backends.length !== 1) throw new Error(`service of ${to} has ${backends.length} backends on ${protocol}/${port}`);
      const flow = { src: mustParseIp(podIp(from, family)), dst: backends[0]!.pod.ips[0]!, protocol: L4_PROTOCOL_NUMBER[protocol], dstPort: backends[0]!.port };
      row.set(to, evaluate(index, flow, options).allowed);
    }
    observed.set(from, row);
  }
  return observed;
}

/** Cells that differ, as `from -> to`. */
export function mismatches(expected: Table, observed: Table): string[] {
  return PODS.flatMap((f) => PODS.filter((t) => expected.get(f)!.get(t) !== observed.get(f)!.get(t)).map((t) => `${f} -> ${t}`));
}

/** A cyclonus-like table: sources as rows, destinations as columns; `.` allowed, `X` denied. */
export function renderTable(title: string, table: Table, cell: (from: string, to: string) => string = (f, t) => (table.get(f)!.get(t) ? '.' : 'X')): string {
  const header = `${title.padEnd(8)}| ${PODS.map((p) => p.padEnd(4)).join('')}`;
  const rows = PODS.map((f) => `${f.padEnd(8)}| ${PODS.map((t) => cell(f, t).padEnd(4)).join('')}`);
  return [header, '-'.repeat(header.length), ...rows].join('\n');
}

/** Expected, observed and the comparison (`.` agrees, `X` differs), for a failure message. */
export function renderMismatch(label: string, expected: Table, observed: Table, family: Family): string {
  const cmp = renderTable('cmp', expected, (f, t) => (expected.get(f)!.get(t) === observed.get(f)!.get(t) ? '.' : 'X'));
  const ips = PODS.map((p) => `${p}=${formatIp(mustParseIp(podIp(p, family)))}`).join(' ');
  return `${label}\n${renderTable('expected', expected)}\n\n${renderTable('observed', observed)}\n\n${cmp}\n(${ips})`;
}
