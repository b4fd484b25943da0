/**
 * The cluster model: plain, immutable, already defaulted and validated data. Everything after
 * `manifests/` reads only this; nothing here knows about YAML.
 *
 * Lists are kept in a deterministic order (namespace, then name) so that every compiler and report
 * built from the same input is byte-for-byte the same.
 */
import type { Cidr, IpAddr } from './ip.js';

export type Labels = Readonly<Record<string, string>>;

/** The protocols a NetworkPolicy port can name (`networking.k8s.io/v1` NetworkPolicyPort.protocol). */
export type L4Protocol = 'TCP' | 'UDP' | 'SCTP';

/** IANA protocol numbers, the form flows carry. */
export const IPPROTO = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, SCTP: 132 } as const;

export const L4_PROTOCOL_NUMBER: Readonly<Record<L4Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** Where an object came from, for messages: `file`, and `kind namespace/name`. */
export interface SourceRef {
  readonly file: string;
  readonly kind: string;
  readonly namespace: string | null;
  readonly name: string;
}

export interface Namespace {
  readonly name: string;
  /** Always includes `kubernetes.io/metadata.name=<name>`. */
  readonly labels: Labels;
}

export interface ContainerPort {
  /** IANA_SVC_NAME, or null when unnamed. */
  readonly name: string | null;
  readonly port: number;
  readonly protocol: L4Protocol;
}

export interface Pod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** At most one address per family, IPv4 first. Empty when the manifest gave none and none was assigned. */
  readonly ips: readonly IpAddr[];
  readonly ports: readonly ContainerPort[];
  /** hostNetwork pods carry their node's address and are treated as node traffic (see EvalOptions). */
  readonly hostNetwork: boolean;
  readonly nodeName: string | null;
  readonly source: SourceRef;
}

export interface Node {
  readonly name: string;
  /** Addresses known for the node: `status.hostIP(s)` of its pods and the IPs of its hostNetwork pods. */
  readonly ips: readonly IpAddr[];
}

export interface ServicePort {
  readonly name: string | null;
  readonly port: number;
  readonly protocol: L4Protocol;
  /** A container port number, or a container port name resolved per backend pod. */
  readonly targetPort: number | string;
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIPs: readonly IpAddr[];
  /** null: a Service without selector (its endpoints are managed by hand; no backends in the model). */
  readonly selector: Labels | null;
  readonly ports: readonly ServicePort[];
  readonly source: SourceRef;
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** A LabelSelector: matchLabels and every matchExpressions entry are ANDed; empty selects everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly SelectorRequirement[];
}

/**
 * A NetworkPolicyPeer.
 * - `pods`: podSelector null means "all pods" of the selected namespaces; namespaceSelector null means
 *   "the policy's own namespace". Both null never happens (validation rejects an empty peer).
 * - `ipBlock`: addresses in `cidr` and outside every `except`.
 */
export type Peer =
  | { readonly kind: 'pods'; readonly podSelector: LabelSelector | null; readonly namespaceSelector: LabelSelector | null }
  | { readonly kind: 'ipBlock'; readonly cidr: Cidr; readonly except: readonly Cidr[] };

export interface PolicyPort {
  /** Defaulted to TCP, as the API server does. */
  readonly protocol: L4Protocol;
  /** null: every port of `protocol`. A string is a named container port of the destination pod. */
  readonly port: number | string | null;
  /** Inclusive end of a numeric range; null for a single port. */
  readonly endPort: number | null;
}

export interface PolicyRule {
  /** null when `from`/`to` is absent or empty: every peer, pods and external addresses alike. */
  readonly peers: readonly Peer[] | null;
  /** null when `ports` is absent or empty: every port of every protocol. */
  readonly ports: readonly PolicyPort[] | null;
}

export type Direction = 'ingress' | 'egress';

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** Effective (defaulted) policyTypes. */
  readonly policyTypes: { readonly ingress: boolean; readonly egress: boolean };
  /** Rules of a direction the policy does not have in policyTypes are dropped here (they are ignored). */
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
  readonly source: SourceRef;
}

export interface Cluster {
  readonly namespaces: readonly Namespace[];
  readonly pods: readonly Pod[];
  readonly nodes: readonly Node[];
  readonly services: readonly Service[];
  readonly policies: readonly NetworkPolicy[];
}

/** `namespace/name`, the name pods and policies go by in every output. */
export function qualifiedName(obj: { readonly namespace: string; readonly name: string }): string {
  return `${obj.namespace}/${obj.name}`;
}
