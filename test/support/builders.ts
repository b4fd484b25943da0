/**
 * Terse builders for `Cluster` objects in test code, shaped so that a test reads like the manifests it
 * stands for. They produce model data already defaulted as the API server would (policyTypes, protocol
 * TCP, the `kubernetes.io/metadata.name` namespace label); they do not validate (that is the loader's job).
 *
 *   const c = cluster({
 *     namespaces: [ns('x', { ns: 'x' })],
 *     pods: [pod('x/a', { labels: { pod: 'a' }, ips: ['10.0.0.1', 'fd00::1'], ports: [tcp(80, 'serve-80-tcp')] })],
 *     policies: [netpol('x/deny-all', { podSelector: {}, ingress: [] })],
 *   });
 */
import { mustParseCidr, mustParseIp } from '../../src/model/ip.js';
import type { Flow } from '../../src/model/evaluate.js';
import {
  IPPROTO,
  type Cluster, type ContainerPort, type L4Protocol, type LabelSelector, type Labels, type Namespace,
  type NetworkPolicy, type Node, type Peer, type Pod, type PolicyPort, type PolicyRule, type SelectorOperator,
  type SelectorRequirement, type Service, type SourceRef,
} from '../../src/model/types.js';

export const NAME_LABEL = 'kubernetes.io/metadata.name';

function splitName(qualified: string): { namespace: string; name: string } {
  const slash = qualified.indexOf('/');
  if (slash < 0) return { namespace: 'default', name: qualified };
  return { namespace: qualified.slice(0, slash), name: qualified.slice(slash + 1) };
}

function source(kind: string, namespace: string | null, name: string): SourceRef {
  return { file: '<test>', kind, namespace, name };
}

/** A Namespace; the immutable `kubernetes.io/metadata.name` label is always added. */
export function ns(name: string, labels: Labels = {}): Namespace {
  return { name, labels: { ...labels, [NAME_LABEL]: name } };
}

/** A container port; `name` null for an unnamed one. */
export function cport(port: number, protocol: L4Protocol = 'TCP', name: string | null = null): ContainerPort {
  return { name, port, protocol };
}
export const tcpPort = (port: number, name: string | null = null): ContainerPort => cport(port, 'TCP', name);
export const udpPort = (port: number, name: string | null = null): ContainerPort => cport(port, 'UDP', name);
export const sctpPort = (port: number, name: string | null = null): ContainerPort => cport(port, 'SCTP', name);

export interface PodOptions {
  labels?: Labels;
  /** Textual addresses, IPv4 first by convention. */
  ips?: readonly string[];
  ports?: readonly ContainerPort[];
  node?: string | null;
  hostNetwork?: boolean;
}

/** A pod named `namespace/name`. */
export function pod(qualified: string, opts: PodOptions = {}): Pod {
  const { namespace, name } = splitName(qualified);
  return {
    namespace, name,
    labels: { ...(opts.labels ?? {}) },
    ips: (opts.ips ?? []).map(mustParseIp),
    ports: [...(opts.ports ?? [])],
    hostNetwork: opts.hostNetwork ?? false,
    nodeName: opts.node ?? null,
    source: source('Pod', namespace, name),
  };
}

export function node(name: string, ips: readonly string[]): Node {
  return { name, ips: ips.map(mustParseIp) };
}

export interface ServiceOptions {
  clusterIPs: readonly string[];
  /** null: a Service without selector (no backends in the model). */
  selector: Labels | null;
  /** `targetPort` defaults to `port`, as the API server does. */
  ports: readonly { name?: string; port: number; protocol?: L4Protocol; targetPort?: number | string }[];
}

/** A ClusterIP Service named `namespace/name`. */
export function service(qualified: string, opts: ServiceOptions): Service {
  const { namespace, name } = splitName(qualified);
  return {
    namespace, name,
    clusterIPs: opts.clusterIPs.map(mustParseIp),
    selector: opts.selector === null ? null : { ...opts.selector },
    ports: opts.ports.map((p) => ({ name: p.name ?? null, port: p.port, protocol: p.protocol ?? 'TCP', targetPort: p.targetPort ?? p.port })),
    source: source('Service', namespace, name),
  };
}

// ---- selectors, in the manifest's shape -------------------------------------------------------------

export interface SelectorSpec {
  matchLabels?: Labels;
  matchExpressions?: readonly { key: string; operator: SelectorOperator; values?: readonly string[] }[];
}

export function selector(spec: SelectorSpec = {}): LabelSelector {
  const matchExpressions: SelectorRequirement[] = (spec.matchExpressions ?? [])
    .map((e) => ({ key: e.key, operator: e.operator, values: [...(e.values ?? [])] }));
  return { matchLabels: { ...(spec.matchLabels ?? {}) }, matchExpressions };
}

/** Shorthand: a selector of matchLabels only. */
export const labelsSel = (matchLabels: Labels): LabelSelector => selector({ matchLabels });

// ---- policies, in the manifest's shape ---------------------------------------------------------------

export interface PeerSpec {
  podSelector?: SelectorSpec;
  namespaceSelector?: SelectorSpec;
  ipBlock?: { cidr: string; except?: readonly string[] };
}

export interface PortSpec {
  protocol?: L4Protocol;
  port?: number | string;
  endPort?: number;
}

export interface IngressRuleSpec { from?: readonly PeerSpec[]; ports?: readonly PortSpec[] }
export interface EgressRuleSpec { to?: readonly PeerSpec[]; ports?: readonly PortSpec[] }

export interface PolicySpec {
  podSelector?: SelectorSpec;
  policyTypes?: readonly ('Ingress' | 'Egress')[];
  ingress?: readonly IngressRuleSpec[];
  egress?: readonly EgressRuleSpec[];
}

export function peerFromSpec(spec: PeerSpec): Peer {
  if (spec.ipBlock) {
    return { kind: 'ipBlock', cidr: mustParseCidr(spec.ipBlock.cidr), except: (spec.ipBlock.except ?? []).map(mustParseCidr) };
  }
  if (!spec.podSelector && !spec.namespaceSelector) throw new Error('builders: a peer must name something');
  return {
    kind: 'pods',
    podSelector: spec.podSelector ? selector(spec.podSelector) : null,
    namespaceSelector: spec.namespaceSelector ? selector(spec.namespaceSelector) : null,
  };
}

export function portFromSpec(spec: PortSpec): PolicyPort {
  return { protocol: spec.protocol ?? 'TCP', port: spec.port ?? null, endPort: spec.endPort ?? null };
}

/** A rule; absent or empty peers/ports become null ("every peer", "every port"), as the model says. */
export function ruleFromSpec(peers: readonly PeerSpec[] | undefined, ports: readonly PortSpec[] | undefined): PolicyRule {
  return {
    peers: peers && peers.length > 0 ? peers.map(peerFromSpec) : null,
    ports: ports && ports.length > 0 ? ports.map(portFromSpec) : null,
  };
}

/**
 * policyTypes as the API server defaults them: omitted means Ingress, plus Egress when `egress` has at
 * least one rule. Rules of a direction not in policyTypes are dropped (they are ignored).
 */
export function netpol(qualified: string, spec: PolicySpec): NetworkPolicy {
  const { namespace, name } = splitName(qualified);
  const types = spec.policyTypes ?? ((spec.egress?.length ?? 0) > 0 ? ['Ingress', 'Egress'] : ['Ingress']);
  const ingress = types.includes('Ingress');
  const egress = types.includes('Egress');
  return {
    namespace, name,
    podSelector: selector(spec.podSelector ?? {}),
    policyTypes: { ingress, egress },
    ingress: ingress ? (spec.ingress ?? []).map((r) => ruleFromSpec(r.from, r.ports)) : [],
    egress: egress ? (spec.egress ?? []).map((r) => ruleFromSpec(r.to, r.ports)) : [],
    source: source('NetworkPolicy', namespace, name),
  };
}

// ---- clusters and flows ---------------------------------------------------------------------------------

export interface ClusterSpec {
  namespaces?: readonly Namespace[];
  pods?: readonly Pod[];
  nodes?: readonly Node[];
  services?: readonly Service[];
  policies?: readonly NetworkPolicy[];
}

const byNsName = <T extends { namespace: string; name: string }>(a: T, b: T): number =>
  a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** A Cluster in the model's deterministic order; namespaces that pods or policies use are implied. */
export function cluster(spec: ClusterSpec): Cluster {
  const namespaces = new Map<string, Namespace>();
  for (const n of spec.namespaces ?? []) namespaces.set(n.name, n);
  for (const o of [...(spec.pods ?? []), ...(spec.policies ?? [])]) {
    if (!namespaces.has(o.namespace)) namespaces.set(o.namespace, ns(o.namespace));
  }
  return {
    namespaces: [...namespaces.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    pods: [...(spec.pods ?? [])].sort(byNsName),
    nodes: [...(spec.nodes ?? [])],
    services: [...(spec.services ?? [])].sort(byNsName),
    policies: [...(spec.policies ?? [])].sort(byNsName),
  };
}

export type ProtocolName = L4Protocol | 'ICMP' | 'ICMPv6';

/** A flow between textual addresses; protocol by name or IANA number; port 0 for non-L4. */
export function flow(src: string, dst: string, protocol: ProtocolName | number = 'TCP', dstPort = 0): Flow {
  const proto = typeof protocol === 'number' ? protocol : IPPROTO[protocol.toUpperCase() as keyof typeof IPPROTO];
  return { src: mustParseIp(src), dst: mustParseIp(dst), protocol: proto, dstPort };
}
