/**
 * Shrinking a failing differential case to a minimal one, and printing it so a human can read it.
 *
 * Greedy delta debugging over the model: try one simplification at a time (drop a policy, a rule, a
 * peer, a port, an unrelated pod, a label, ...), keep it when the case still fails, start over, and stop
 * when no single simplification keeps it failing. The flow itself is kept as it is.
 */
import { formatCidr, formatIp, ipEquals, type IpAddr } from '../../src/model/ip.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { evaluate, type Flow } from '../../src/model/evaluate.js';
import { formatSelector } from '../../src/model/labels.js';
import type {
  Cluster, ContainerPort, LabelSelector, Labels, NetworkPolicy, Peer, Pod, PolicyPort, PolicyRule,
} from '../../src/model/types.js';
import { NAME_LABEL } from './builders.js';

export type StillFails = (cluster: Cluster, flow: Flow) => boolean;

export interface Shrunk {
  readonly cluster: Cluster;
  readonly flow: Flow;
  /** Simplifications accepted. */
  readonly steps: number;
}

/** Shrinks until no single simplification keeps `stillFails` true. `stillFails(cluster, flow)` must hold on entry. */
export function shrinkScenario(cluster: Cluster, flow: Flow, stillFails: StillFails, maxSteps = 10_000): Shrunk {
  let current = cluster;
  let steps = 0;
  outer: while (steps < maxSteps) {
    for (const candidate of simplifications(current, flow)) {
      if (stillFails(candidate, flow)) {
        current = candidate;
        steps++;
        continue outer;
      }
    }
    break;
  }
  return { cluster: current, flow, steps };
}

// ---- list helpers: every way to drop one element, or to replace one element with a simpler one -----------

function* dropOne<T>(items: readonly T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i++) yield [...items.slice(0, i), ...items.slice(i + 1)];
}

function* replaceOne<T>(items: readonly T[], simpler: (item: T) => Iterable<T>): Generator<T[]> {
  for (let i = 0; i < items.length; i++) {
    for (const s of simpler(items[i]!)) yield [...items.slice(0, i), s, ...items.slice(i + 1)];
  }
}

function* dropKeys(labels: Labels, keep: (key: string) => boolean = () => false): Generator<Labels> {
  for (const key of Object.keys(labels)) {
    if (keep(key)) continue;
    const { [key]: _dropped, ...rest } = labels;
    yield rest;
  }
}

// ---- the simplifications, largest first -------------------------------------------------------------------

function* simplifications(c: Cluster, flow: Flow): Generator<Cluster> {
  for (const policies of dropOne(c.policies)) yield { ...c, policies };
  // A pod holding one of the flow's addresses must stay: dropping it changes what the flow is.
  for (const p of c.pods) if (!p.ips.some((ip) => isFlowIp(ip, flow))) yield { ...c, pods: c.pods.filter((x) => x !== p) };
  for (const nodes of dropOne(c.nodes)) yield { ...c, nodes };
  for (const services of dropOne(c.services)) yield { ...c, services };
  for (const namespaces of dropOne(c.namespaces)) if (unused(c, namespaces)) yield { ...c, namespaces };
  for (const policies of replaceOne(c.policies, simplerPolicies)) yield { ...c, policies };
  for (const pods of replaceOne(c.pods, (p) => simplerPods(p, flow))) yield { ...c, pods };
  for (const namespaces of replaceOne(c.namespaces, (n) => mapIter(dropKeys(n.labels, (k) => k === NAME_LABEL), (labels) => ({ ...n, labels }))))
    yield { ...c, namespaces };
}

function* mapIter<A, B>(items: Iterable<A>, f: (a: A) => B): Generator<B> {
  for (const a of items) yield f(a);
}

function isFlowIp(ip: IpAddr, flow: Flow): boolean {
  return ipEquals(ip, flow.src) || ipEquals(ip, flow.dst);
}

function unused(c: Cluster, remaining: readonly { name: string }[]): boolean {
  const names = new Set(remaining.map((n) => n.name));
  return c.pods.every((p) => names.has(p.namespace)) && c.policies.every((p) => names.has(p.namespace));
}

function* simplerPolicies(p: NetworkPolicy): Generator<NetworkPolicy> {
  if (p.policyTypes.ingress && p.policyTypes.egress) {
    yield { ...p, policyTypes: { ingress: false, egress: true }, ingress: [] };
    yield { ...p, policyTypes: { ingress: true, egress: false }, egress: [] };
  }
  for (const ingress of dropOne(p.ingress)) yield { ...p, ingress };
  for (const egress of dropOne(p.egress)) yield { ...p, egress };
  for (const podSelector of simplerSelectors(p.podSelector)) yield { ...p, podSelector };
  for (const ingress of replaceOne(p.ingress, simplerRules)) yield { ...p, ingress };
  for (const egress of replaceOne(p.egress, simplerRules)) yield { ...p, egress };
}

function* simplerRules(r: PolicyRule): Generator<PolicyRule> {
  if (r.peers !== null) {
    yield { ...r, peers: null };
    if (r.peers.length > 1) for (const peers of dropOne(r.peers)) yield { ...r, peers };
  }
  if (r.ports !== null) {
    yield { ...r, ports: null };
    if (r.ports.length > 1) for (const ports of dropOne(r.ports)) yield { ...r, ports };
  }
  if (r.peers !== null) for (const peers of replaceOne(r.peers, simplerPeers)) yield { ...r, peers };
  if (r.ports !== null) for (const ports of replaceOne(r.ports, simplerPorts)) yield { ...r, ports };
}

function* simplerPeers(p: Peer): Generator<Peer> {
  if (p.kind === 'ipBlock') {
    for (const except of dropOne(p.except)) yield { ...p, except };
    return;
  }
  if (p.podSelector && p.namespaceSelector) {
    yield { ...p, podSelector: null };
    yield { ...p, namespaceSelector: null };
  }
  if (p.podSelector) for (const podSelector of simplerSelectors(p.podSelector)) yield { ...p, podSelector };
  if (p.namespaceSelector) for (const namespaceSelector of simplerSelectors(p.namespaceSelector)) yield { ...p, namespaceSelector };
}

function* simplerPorts(p: PolicyPort): Generator<PolicyPort> {
  if (p.port !== null) yield { ...p, port: null, endPort: null };
  if (p.endPort !== null && typeof p.port === 'number') yield { ...p, endPort: null };
}

function* simplerSelectors(s: LabelSelector): Generator<LabelSelector> {
  for (const matchLabels of dropKeys(s.matchLabels)) yield { ...s, matchLabels };
  for (const matchExpressions of dropOne(s.matchExpressions)) yield { ...s, matchExpressions };
  for (const matchExpressions of replaceOne(s.matchExpressions, (e) =>
    e.values.length > 1 ? mapIter(dropOne(e.values), (values) => ({ ...e, values })) : [])) {
    yield { ...s, matchExpressions };
  }
}

function* simplerPods(p: Pod, flow: Flow): Generator<Pod> {
  for (const labels of dropKeys(p.labels)) yield { ...p, labels };
  for (const ports of dropOne<ContainerPort>(p.ports)) yield { ...p, ports };
  for (const ip of p.ips) if (!isFlowIp(ip, flow)) yield { ...p, ips: p.ips.filter((x) => x !== ip) };
  if (p.nodeName !== null) yield { ...p, nodeName: null };
}

// ---- the reproduction, as YAML-ish text -------------------------------------------------------------------

const PROTO_NAMES: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

export function formatFlow(flow: Flow): string {
  const proto = PROTO_NAMES[flow.protocol] ?? `proto-${flow.protocol}`;
  const l4 = flow.protocol === 6 || flow.protocol === 17 || flow.protocol === 132;
  return `${formatIp(flow.src)} -> ${formatIp(flow.dst)} ${proto}${l4 ? `/${flow.dstPort}` : ''}`;
}

function labelsText(labels: Labels): string {
  return `{${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(', ')}}`;
}

function ipsText(ips: readonly IpAddr[]): string {
  return `[${ips.map(formatIp).join(', ')}]`;
}

function peerText(p: Peer): string {
  if (p.kind === 'ipBlock') {
    const except = p.except.length > 0 ? ` except [${p.except.map(formatCidr).join(', ')}]` : '';
    return `ipBlock: ${formatCidr(p.cidr)}${except}`;
  }
  const parts: string[] = [];
  if (p.podSelector) parts.push(`podSelector: ${formatSelector(p.podSelector)}`);
  if (p.namespaceSelector) parts.push(`namespaceSelector: ${formatSelector(p.namespaceSelector)}`);
  if (!p.namespaceSelector) parts.push('(own namespace)');
  return parts.join('  ');
}

function portText(p: PolicyPort): string {
  const port = p.port === null ? '*' : p.endPort !== null ? `${p.port}-${p.endPort}` : String(p.port);
  return `${p.protocol}/${port}`;
}

function rulesText(name: 'ingress' | 'egress', rules: readonly PolicyRule[]): string[] {
  if (rules.length === 0) return [`    ${name}: []`];
  const peerWord = name === 'ingress' ? 'from' : 'to';
  const lines = [`    ${name}:`];
  rules.forEach((r, i) => {
    lines.push(`      - # rule ${i}`);
    if (r.peers === null) lines.push(`        ${peerWord}: any peer`);
    else lines.push(`        ${peerWord}:`, ...r.peers.map((p) => `          - ${peerText(p)}`));
    lines.push(`        ports: ${r.ports === null ? 'any port' : `[${r.ports.map(portText).join(', ')}]`}`);
  });
  return lines;
}

function policyText(p: NetworkPolicy): string[] {
  const types = [p.policyTypes.ingress ? 'Ingress' : null, p.policyTypes.egress ? 'Egress' : null].filter(Boolean);
  return [
    `  - ${p.namespace}/${p.name}`,
    `    podSelector: ${formatSelector(p.podSelector)}`,
    `    policyTypes: [${types.join(', ')}]`,
    ...(p.policyTypes.ingress ? rulesText('ingress', p.ingress) : []),
    ...(p.policyTypes.egress ? rulesText('egress', p.egress) : []),
  ];
}

function podText(p: Pod): string {
  const ports = p.ports.map((cp) => `${cp.name ?? ''}${cp.name ? ':' : ''}${cp.port}/${cp.protocol}`).join(', ');
  const extra = `${p.nodeName ? ` node ${p.nodeName}` : ''}${p.hostNetwork ? ' hostNetwork' : ''}`;
  return `  - ${p.namespace}/${p.name} labels ${labelsText(p.labels)} ips ${ipsText(p.ips)} ports [${ports}]${extra}`;
}

/** The case as readable text, with the seed to regenerate it and the reference evaluator's decision. */
export function formatReproduction(cluster: Cluster, flow: Flow, seed: number | null): string {
  const d = evaluate(indexCluster(cluster), flow);
  const dir = (x: typeof d.egress) => `${x.allowed ? 'allow' : 'deny'} (${x.reason})`;
  return [
    `# seed: ${seed ?? '(none)'}`,
    `flow: ${formatFlow(flow)}`,
    `reference: ${d.allowed ? 'ALLOW' : 'DENY'}; egress ${dir(d.egress)}; ingress ${dir(d.ingress)}`,
    'namespaces:',
    ...cluster.namespaces.map((n) => `  - ${n.name} ${labelsText(n.labels)}`),
    'nodes:',
    ...cluster.nodes.map((n) => `  - ${n.name} ${ipsText(n.ips)}`),
    'pods:',
    ...cluster.pods.map(podText),
    'policies:',
    ...cluster.policies.flatMap(policyText),
  ].join('\n');
}
