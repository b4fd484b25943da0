/**
 * The flows synthetic traffic is drawn from, planned once per cluster (allocation is fine here, never
 * per packet). Sources and destinations come from the policies' own peers and ports, so that traffic
 * the policies allow occurs, and from random pairs, which isolated pods mostly deny; every flow is
 * labelled with the reference evaluator's verdict so the generator knows whether replies come back.
 *
 * The flows are stored as a structure of arrays (`FlowPlan`) that the generator reads per packet.
 */
import { cidrContains, ipToWords, mustParseIp, type IpAddr } from '../../model/ip.js';
import { podAt, type ClusterIndex } from '../../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, peerMatches, type EvalOptions } from '../../model/evaluate.js';
import { selectorMatches } from '../../model/labels.js';
import { serviceBackends } from '../../model/services.js';
import { IPPROTO, L4_PROTOCOL_NUMBER, type NetworkPolicy, type Peer, type Pod, type PolicyPort, type PolicyRule } from '../../model/types.js';
import { Rng } from './rng.js';

/** Addresses standing for the world outside the cluster (RFC 5737 / RFC 3849 documentation ranges). */
const EXTERNAL = ['203.0.113.10', '198.51.100.20', '2001:db8::10'].map(mustParseIp);
/** Ports tried between random pairs when the policies name none. */
const COMMON_PORTS = [80, 443, 8080, 53, 5432];
const MAX_FLOWS = 4096;
const MAX_POLICIES = 256;
const MAX_PEER_CANDIDATES = 256;

interface Candidate { src: IpAddr; dst: IpAddr; proto: number; port: number }

export interface FlowPlan {
  readonly count: number;
  readonly family: Uint8Array;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  readonly proto: Uint8Array;
  readonly dstPort: Uint16Array;
  /** 1 when the reference evaluator allows the opening packet. */
  readonly allowed: Uint8Array;
  /** Indices of allowed and of denied flows, for drawing a mix of both. */
  readonly allowedIdx: Int32Array;
  readonly deniedIdx: Int32Array;
}

export function planFlows(index: ClusterIndex, seed: number, options: EvalOptions = DEFAULT_EVAL_OPTIONS): FlowPlan {
  const rng = new Rng(seed ^ 0x5eed);
  const endpoints = endpointAddresses(index);
  const candidates: Candidate[] = [];
  // Planning is setup, but it must stay quick on large clusters: a sample of policies and of peers does.
  const policies = index.cluster.policies;
  const sampled = policies.length > MAX_POLICIES ? sample([...policies], MAX_POLICIES, rng) : policies;
  for (const policy of sampled) candidates.push(...policyFlows(index, policy, endpoints, rng));
  candidates.push(...serviceFlows(index, rng));
  candidates.push(...randomFlows(endpoints, rng, Math.max(16, candidates.length)));
  // Traffic a capture near the pods could see: at least one end a pod (or a Service), never to itself.
  const unique = dedupe(candidates).filter((c) => c.src.value !== c.dst.value &&
    (podAt(index, c.src) !== undefined || podAt(index, c.dst) !== undefined || isServiceAddress(index, c.dst)));
  const picked = unique.length > MAX_FLOWS ? sample(unique, MAX_FLOWS, rng) : unique;
  return toPlan(index, picked, options);
}

/** Every pod address plus the external ones and one address inside each ipBlock peer. */
function endpointAddresses(index: ClusterIndex): IpAddr[] {
  const out: IpAddr[] = [];
  for (const pod of index.cluster.pods) if (!pod.hostNetwork) out.push(...pod.ips);
  out.push(...EXTERNAL);
  for (const policy of index.cluster.policies) {
    for (const rule of [...policy.ingress, ...policy.egress]) {
      for (const peer of rule.peers ?? []) {
        const ip = peer.kind === 'ipBlock' ? addressInBlock(peer) : null;
        if (ip) out.push(ip);
      }
    }
  }
  return out;
}

/** An address inside the block and outside its excepts: the first of a few probes that qualifies. */
function addressInBlock(peer: Extract<Peer, { kind: 'ipBlock' }>): IpAddr | null {
  const bits = peer.cidr.family === 4 ? 32 : 128;
  const size = peer.cidr.prefix >= bits ? 1n : 1n << BigInt(bits - peer.cidr.prefix);
  for (const step of [10n, 1n, size / 2n + 3n, size - 2n, 0n]) {
    const ip: IpAddr = { family: peer.cidr.family, value: peer.cidr.base + (step % size) };
    if (cidrContains(peer.cidr, ip) && !peer.except.some((c) => cidrContains(c, ip))) return ip;
  }
  return null;
}

function selectedPods(index: ClusterIndex, policy: NetworkPolicy): Pod[] {
  return index.cluster.pods.filter((p) =>
    !p.hostNetwork && p.namespace === policy.namespace && selectorMatches(policy.podSelector, p.labels));
}

/** Flows each rule talks about: its peers to the selected pods (ingress) or back (egress), on its ports. */
function policyFlows(index: ClusterIndex, policy: NetworkPolicy, endpoints: IpAddr[], rng: Rng): Candidate[] {
  const out: Candidate[] = [];
  const pods = selectedPods(index, policy);
  const all = pods.flatMap((p) => p.ips);
  const addrs = all.length > 8 ? sample(all, 8, rng) : all;
  const directions: ['ingress' | 'egress', readonly PolicyRule[]][] = [['ingress', policy.ingress], ['egress', policy.egress]];
  for (const [direction, rules] of directions) {
    for (const rule of rules) {
      const peers = peerAddresses(index, policy, rule, endpoints, rng);
      // Near misses: the rule's ports from peers it does not admit, and its peers on a port it does not name.
      const known = new Set([...peers, ...addrs]);
      const others = sample(endpoints, Math.min(64, endpoints.length), rng).filter((ip) => !known.has(ip));
      const podOthers = others.filter((ip) => podAt(index, ip) !== undefined);
      const strangers = [...sample(podOthers, Math.min(2, podOthers.length), rng), ...others.filter((ip) => !podOthers.includes(ip)).slice(0, 1)];
      for (const own of addrs) {
        const add = (peer: IpAddr, proto: number, port: number) => {
          if (peer.family === own.family) out.push(direction === 'ingress' ? { src: peer, dst: own, proto, port } : { src: own, dst: peer, proto, port });
        };
        for (const peer of [...peers, ...strangers]) {
          const admitted = !strangers.includes(peer);
          const ports = rulePorts(rule, podAt(index, direction === 'ingress' ? own : peer) ?? null, rng);
          for (const [proto, port] of ports) add(peer, proto, port);
          if (admitted && ports.length > 0) add(peer, ports[0]![0], ports[0]![1] === 65535 ? 1 : ports[0]![1] + 1);
        }
      }
    }
  }
  return out;
}

/** Addresses a rule's peers admit (a few per peer), or a random handful when it admits everyone. */
function peerAddresses(index: ClusterIndex, policy: NetworkPolicy, rule: PolicyRule, endpoints: IpAddr[], rng: Rng): IpAddr[] {
  if (rule.peers === null) return [0, 1, 2].map(() => endpoints[rng.below(endpoints.length)]!);
  const out: IpAddr[] = [];
  const candidates = endpoints.length > MAX_PEER_CANDIDATES ? sample(endpoints, MAX_PEER_CANDIDATES, rng) : endpoints;
  for (const ip of candidates) {
    const pod = podAt(index, ip) ?? null;
    if (rule.peers.some((peer) => peerMatches(index, policy, peer, ip, pod, DEFAULT_EVAL_OPTIONS))) out.push(ip);
  }
  return out.length > 8 ? sample(out, 8, rng) : out;
}

/** (protocol, port) pairs a rule names: numbers, a port inside a range, named ports resolved on `dstPod`. */
function rulePorts(rule: PolicyRule, dstPod: Pod | null, rng: Rng): [number, number][] {
  if (rule.ports === null) return [[IPPROTO.TCP, COMMON_PORTS[rng.below(COMMON_PORTS.length)]!], [IPPROTO.ICMP, 0]];
  const out: [number, number][] = [];
  for (const port of rule.ports) {
    const n = resolvePort(port, dstPod, rng);
    if (n !== null) out.push([L4_PROTOCOL_NUMBER[port.protocol], n]);
  }
  return out;
}

function resolvePort(port: PolicyPort, dstPod: Pod | null, rng: Rng): number | null {
  if (port.port === null) return 1024 + rng.below(30000);
  if (typeof port.port === 'number') {
    return port.endPort === null ? port.port : port.port + rng.below(port.endPort - port.port + 1);
  }
  const cp = dstPod?.ports.find((c) => c.name === port.port && c.protocol === port.protocol);
  return cp ? cp.port : null;
}

/** A client pod to each Service ClusterIP and port: the replay DNATs these to a backend. */
function serviceFlows(index: ClusterIndex, rng: Rng): Candidate[] {
  const pods = index.cluster.pods.filter((p) => !p.hostNetwork && p.ips.length > 0);
  const out: Candidate[] = [];
  if (pods.length === 0) return out;
  for (const service of index.cluster.services) {
    for (const cip of service.clusterIPs) {
      for (const sp of service.ports) {
        if (serviceBackends(index, service, sp, cip.family).length === 0) continue;
        const client = pods[rng.below(pods.length)]!;
        const src = client.ips.find((ip) => ip.family === cip.family);
        if (src) out.push({ src, dst: cip, proto: L4_PROTOCOL_NUMBER[sp.protocol], port: sp.port });
      }
    }
  }
  return out;
}

/** Random pairs of endpoints on common and container ports, and pings: what isolated pods deny. */
function randomFlows(endpoints: IpAddr[], rng: Rng, n: number): Candidate[] {
  const out: Candidate[] = [];
  for (let i = 0; i < n * 4 && out.length < n; i++) {
    const src = endpoints[rng.below(endpoints.length)]!;
    const dst = endpoints[rng.below(endpoints.length)]!;
    if (src.family !== dst.family || src.value === dst.value) continue;
    const r = rng.below(10);
    const proto = r < 6 ? IPPROTO.TCP : r < 8 ? IPPROTO.UDP : r < 9 ? IPPROTO.SCTP : IPPROTO.ICMP;
    out.push({ src, dst, proto, port: proto === IPPROTO.ICMP ? 0 : COMMON_PORTS[rng.below(COMMON_PORTS.length)]! });
  }
  return out;
}

function dedupe(list: Candidate[]): Candidate[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    if (c.src.family !== c.dst.family) return false;
    const key = `${c.src.family}|${c.src.value}|${c.dst.value}|${c.proto}|${c.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** k items chosen without replacement (partial Fisher-Yates on a copy), in their original order. */
function sample<T>(list: T[], k: number, rng: Rng): T[] {
  const idx = list.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.below(idx.length - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b).map((i) => list[i]!);
}

function toPlan(index: ClusterIndex, list: Candidate[], options: EvalOptions): FlowPlan {
  const n = list.length;
  const plan = {
    count: n, family: new Uint8Array(n), src: new Uint32Array(n * 4), dst: new Uint32Array(n * 4),
    proto: new Uint8Array(n), dstPort: new Uint16Array(n), allowed: new Uint8Array(n),
  };
  const allowed: number[] = [];
  const denied: number[] = [];
  list.forEach((c, i) => {
    plan.family[i] = c.src.family;
    ipToWords(c.src, plan.src, i * 4);
    ipToWords(c.dst, plan.dst, i * 4);
    plan.proto[i] = c.proto;
    plan.dstPort[i] = c.port;
    const target = serviceTarget(index, c);
    const ok = evaluate(index, { src: c.src, dst: target.dst, protocol: c.proto, dstPort: target.port }, options).allowed;
    plan.allowed[i] = ok ? 1 : 0;
    (ok ? allowed : denied).push(i);
  });
  return { ...plan, allowedIdx: Int32Array.from(allowed), deniedIdx: Int32Array.from(denied) };
}

/** For labelling only: a ClusterIP stands for its first backend (the replay picks by hash; close enough). */
function serviceTarget(index: ClusterIndex, c: Candidate): { dst: IpAddr; port: number } {
  for (const service of index.cluster.services) {
    if (!service.clusterIPs.some((ip) => ip.family === c.dst.family && ip.value === c.dst.value)) continue;
    const sp = service.ports.find((p) => p.port === c.port && L4_PROTOCOL_NUMBER[p.protocol] === c.proto);
    const backend = sp && serviceBackends(index, service, sp, c.dst.family)[0];
    const ip = backend?.pod.ips.find((a) => a.family === c.dst.family);
    if (backend && ip) return { dst: ip, port: backend.port };
  }
  return { dst: c.dst, port: c.port };
}

function isServiceAddress(index: ClusterIndex, ip: IpAddr): boolean {
  return index.cluster.services.some((s) => s.clusterIPs.some((c) => c.family === ip.family && c.value === ip.value));
}
