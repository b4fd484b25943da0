/**
 * The reference evaluator: the NetworkPolicy specification (`networking.k8s.io/v1`) as a slow, pure
 * function from (model, flow) to a decision. Every compiled dataplane is tested against it.
 *
 * It decides the opening packet of a connection. Replies of an allowed connection are the dataplanes'
 * business (connection tracking): "policies act on connections".
 */
import { cidrContains, ipEquals, type IpAddr } from './ip.js';
import { namespaceLabels, nodeAt, podAt, type ClusterIndex } from './cluster-index.js';
import { selectorMatches } from './labels.js';
import {
  L4_PROTOCOL_NUMBER, qualifiedName,
  type Direction, type NetworkPolicy, type Peer, type Pod, type PolicyPort, type PolicyRule,
} from './types.js';

/** The opening packet of a connection, after any Service DNAT: `dstPort` is the port the pod sees. */
export interface Flow {
  readonly src: IpAddr;
  readonly dst: IpAddr;
  /** IANA protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6, anything else). */
  readonly protocol: number;
  /** Destination port for TCP, UDP and SCTP; ignored (0) for other protocols. */
  readonly dstPort: number;
}

/** The corners the API leaves to implementations, as explicit switches (see README, "Semantics"). */
export interface EvalOptions {
  /**
   * An ipBlock whose CIDR contains a pod's IP matches that pod. On by default, as the upstream e2e suite
   * expects (Calico and policy-assistant agree); off is Cilium's and np-guard's behaviour.
   */
  readonly ipBlockMatchesPods: boolean;
  /** A pod talking to itself by its own IP is never blocked (the kernel short-circuits it on lo). */
  readonly allowLoopback: boolean;
  /**
   * Traffic between a pod and its own node (its node's addresses, hostNetwork pods on that node) is
   * always allowed, as kubelet probes need and as Calico, Cilium and kube-router do by default.
   */
  readonly allowNodeTraffic: boolean;
}

export const DEFAULT_EVAL_OPTIONS: EvalOptions = {
  ipBlockMatchesPods: true,
  allowLoopback: true,
  allowNodeTraffic: true,
};

export interface RuleRef {
  /** `namespace/name` of the policy. */
  readonly policy: string;
  readonly direction: Direction;
  /** Index into the policy's `ingress` or `egress` list, from 0. */
  readonly rule: number;
}

/** How one rule of a selecting policy fared: a rule allows when both its peer and port parts match. */
export interface RuleTrace extends RuleRef {
  readonly peerMatched: boolean;
  readonly portMatched: boolean;
}

export type DirectionReason =
  | 'not-isolated'      // no policy with this direction in its policyTypes selects the pod
  | 'allowed-by-policy' // isolated, and at least one rule allows
  | 'no-rule-allows'    // isolated, and no rule of any selecting policy allows
  | 'not-a-pod'         // this end is an address that is no pod's: only the pod end is constrained
  | 'loopback'          // a pod to itself (EvalOptions.allowLoopback)
  | 'node-traffic';     // a pod and its own node (EvalOptions.allowNodeTraffic)

export interface DirectionDecision {
  readonly direction: Direction;
  /** `namespace/name` of the pod this direction is enforced on (source for egress, destination for ingress). */
  readonly pod: string | null;
  readonly isolated: boolean;
  /** Policies that select the pod and have this direction in their policyTypes, in model order. */
  readonly policies: readonly string[];
  /** Every rule that allows the flow, in model order; the first is the one reports name. */
  readonly allowedBy: readonly RuleRef[];
  readonly allowed: boolean;
  readonly reason: DirectionReason;
  /** Every rule of every selecting policy with what matched, for `explain`. */
  readonly trace: readonly RuleTrace[];
}

export interface Decision {
  readonly allowed: boolean;
  readonly srcPod: string | null;
  readonly dstPod: string | null;
  readonly egress: DirectionDecision;
  readonly ingress: DirectionDecision;
}

export function evaluate(index: ClusterIndex, flow: Flow, options: EvalOptions = DEFAULT_EVAL_OPTIONS): Decision {
  if (flow.src.family !== flow.dst.family) throw new Error('a flow cannot mix IPv4 and IPv6 addresses');
  const srcPod = podAt(index, flow.src) ?? null;
  const dstPod = podAt(index, flow.dst) ?? null;
  const shortcut = shortcutReason(index, flow, srcPod, dstPod, options);
  const egress = shortcut && srcPod
    ? passed('egress', srcPod, shortcut)
    : decideDirection(index, flow, 'egress', srcPod, dstPod, options);
  const ingress = shortcut && dstPod
    ? passed('ingress', dstPod, shortcut)
    : decideDirection(index, flow, 'ingress', dstPod, srcPod, options);
  return {
    allowed: egress.allowed && ingress.allowed,
    srcPod: srcPod && qualifiedName(srcPod),
    dstPod: dstPod && qualifiedName(dstPod),
    egress,
    ingress,
  };
}

/** Loopback and node traffic bypass policy entirely (implementation-defined corners, see EvalOptions). */
function shortcutReason(
  index: ClusterIndex, flow: Flow, srcPod: Pod | null, dstPod: Pod | null, options: EvalOptions,
): DirectionReason | null {
  if (options.allowLoopback && srcPod && ipEquals(flow.src, flow.dst)) return 'loopback';
  if (!options.allowNodeTraffic) return null;
  if (dstPod && isOwnNode(index, flow.src, dstPod)) return 'node-traffic';
  if (srcPod && isOwnNode(index, flow.dst, srcPod)) return 'node-traffic';
  return null;
}

function isOwnNode(index: ClusterIndex, ip: IpAddr, pod: Pod): boolean {
  const node = nodeAt(index, ip);
  return node !== undefined && pod.nodeName !== null && node.name === pod.nodeName;
}

function passed(direction: Direction, pod: Pod, reason: DirectionReason): DirectionDecision {
  return { direction, pod: qualifiedName(pod), isolated: false, policies: [], allowedBy: [], allowed: true, reason, trace: [] };
}

/**
 * One direction at one pod. "A pod is isolated for ingress if there is any NetworkPolicy that both
 * selects the pod and has Ingress in its policyTypes" (likewise egress); an isolated pod accepts what
 * the union of those policies' rules allows.
 */
function decideDirection(
  index: ClusterIndex, flow: Flow, direction: Direction, pod: Pod | null, peerPod: Pod | null, options: EvalOptions,
): DirectionDecision {
  if (!pod) {
    return { direction, pod: null, isolated: false, policies: [], allowedBy: [], allowed: true, reason: 'not-a-pod', trace: [] };
  }
  const peerIp = direction === 'ingress' ? flow.src : flow.dst;
  const dstPod = direction === 'ingress' ? pod : peerPod;
  const selecting = policiesIsolating(index, pod, direction);
  const trace: RuleTrace[] = [];
  for (const policy of selecting) {
    const rules = direction === 'ingress' ? policy.ingress : policy.egress;
    rules.forEach((rule, i) => {
      trace.push({
        policy: qualifiedName(policy), direction, rule: i,
        peerMatched: ruleAdmitsPeer(index, policy, rule, peerIp, peerPod, options),
        portMatched: ruleAdmitsPort(rule, flow, dstPod),
      });
    });
  }
  const allowedBy = trace.filter((t) => t.peerMatched && t.portMatched)
    .map(({ policy, rule }) => ({ policy, direction, rule }));
  const isolated = selecting.length > 0;
  const allowed = !isolated || allowedBy.length > 0;
  const reason: DirectionReason = !isolated ? 'not-isolated' : allowed ? 'allowed-by-policy' : 'no-rule-allows';
  return {
    direction, pod: qualifiedName(pod), isolated, policies: selecting.map(qualifiedName),
    allowedBy, allowed, reason, trace,
  };
}

/** Policies of the pod's namespace that select it and carry `direction` in their effective policyTypes. */
export function policiesIsolating(index: ClusterIndex, pod: Pod, direction: Direction): NetworkPolicy[] {
  if (pod.hostNetwork) return [];
  const own = index.policiesByNamespace.get(pod.namespace) ?? [];
  return own.filter((p) => p.policyTypes[direction] && selectorMatches(p.podSelector, pod.labels));
}

/** Absent or empty `from`/`to` admits every peer; otherwise peers are ORed. */
function ruleAdmitsPeer(
  index: ClusterIndex, policy: NetworkPolicy, rule: PolicyRule, peerIp: IpAddr, peerPod: Pod | null, options: EvalOptions,
): boolean {
  if (rule.peers === null) return true;
  return rule.peers.some((peer) => peerMatches(index, policy, peer, peerIp, peerPod, options));
}

export function peerMatches(
  index: ClusterIndex, policy: NetworkPolicy, peer: Peer, peerIp: IpAddr, peerPod: Pod | null, options: EvalOptions,
): boolean {
  if (peer.kind === 'ipBlock') {
    if (peerPod && !options.ipBlockMatchesPods) return false;
    return cidrContains(peer.cidr, peerIp) && !peer.except.some((c) => cidrContains(c, peerIp));
  }
  if (!peerPod) return false;
  const nsOk = peer.namespaceSelector === null
    ? peerPod.namespace === policy.namespace
    : selectorMatches(peer.namespaceSelector, namespaceLabels(index, peerPod.namespace));
  return nsOk && (peer.podSelector === null || selectorMatches(peer.podSelector, peerPod.labels));
}

/** Absent or empty `ports` admits every port of every protocol (ICMP included); otherwise ports are ORed. */
function ruleAdmitsPort(rule: PolicyRule, flow: Flow, dstPod: Pod | null): boolean {
  if (rule.ports === null) return true;
  return rule.ports.some((port) => portMatches(port, flow.protocol, flow.dstPort, dstPod));
}

/**
 * The protocols whose destination port a flow carries to the evaluator: TCP, UDP and SCTP, the protocols
 * a NetworkPolicyPort names (`portMatches` compares the protocol first). For any other, the port is no
 * part of the flow (Flow.dstPort: "ignored (0) for other protocols").
 */
export function hasPolicyPort(protocol: number): boolean {
  return protocol === 6 || protocol === 17 || protocol === 132;
}

/**
 * A named port resolves against the DESTINATION pod's container ports, for ingress and egress alike,
 * and must agree in protocol; it never matches a destination that is no pod.
 */
export function portMatches(port: PolicyPort, protocol: number, dstPort: number, dstPod: Pod | null): boolean {
  if (L4_PROTOCOL_NUMBER[port.protocol] !== protocol) return false;
  if (port.port === null) return true;
  if (typeof port.port === 'number') {
    return port.endPort === null ? dstPort === port.port : dstPort >= port.port && dstPort <= port.endPort;
  }
  const name = port.port;
  return dstPod !== null && !dstPod.hostNetwork &&
    dstPod.ports.some((cp) => cp.name === name && cp.protocol === port.protocol && cp.port === dstPort);
}
