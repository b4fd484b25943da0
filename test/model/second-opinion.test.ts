/**
 * A second, independent rendition of the semantics doc, written as set algebra instead of a rule walk,
 * and compared with the reference evaluator on seeded random scenarios. The two share no code beyond
 * the IP arithmetic; where they disagree, the shrunk case and its seed are printed.
 *
 * Options are the defaults (ipBlock matches pods, loopback and own-node traffic pass).
 */
import { describe, expect, test } from 'vitest';
import { indexCluster } from '../../src/model/cluster-index.js';
import { evaluate, type Flow } from '../../src/model/evaluate.js';
import { cidrContains, ipKey, type IpAddr } from '../../src/model/ip.js';
import type { Cluster, LabelSelector, Labels, NetworkPolicy, Peer, Pod, PolicyPort } from '../../src/model/types.js';
import { randomScenario } from '../support/random-cluster.js';
import { formatReproduction, shrinkScenario } from '../support/shrink.js';

const PROTO: Record<string, number> = { TCP: 6, UDP: 17, SCTP: 132 };

function labelsSatisfy(sel: LabelSelector, labels: Labels): boolean {
  const has = (k: string) => Object.keys(labels).includes(k);
  const okLabels = Object.entries(sel.matchLabels).every(([k, v]) => has(k) && labels[k] === v);
  const okExprs = sel.matchExpressions.every((e) =>
    e.operator === 'Exists' ? has(e.key)
      : e.operator === 'DoesNotExist' ? !has(e.key)
        : e.operator === 'In' ? has(e.key) && e.values.includes(labels[e.key]!)
          : !(has(e.key) && e.values.includes(labels[e.key]!)));
  return okLabels && okExprs;
}

interface World { c: Cluster; owner: Map<string, Pod>; nodeOf: Map<string, string> }

function world(c: Cluster): World {
  const owner = new Map<string, Pod>();
  for (const p of c.pods) if (!p.hostNetwork) for (const ip of p.ips) owner.set(ipKey(ip), p);
  const nodeOf = new Map<string, string>();
  for (const n of c.nodes) for (const ip of n.ips) nodeOf.set(ipKey(ip), n.name);
  return { c, owner, nodeOf };
}

/** The set of peers a Peer admits, asked of one concrete peer (address and, when it is one, pod). */
function peerAdmits(w: World, policy: NetworkPolicy, peer: Peer, ip: IpAddr, podAtIp: Pod | undefined): boolean {
  if (peer.kind === 'ipBlock') return cidrContains(peer.cidr, ip) && peer.except.every((e) => !cidrContains(e, ip));
  if (!podAtIp) return false;
  const nsLabels = w.c.namespaces.find((n) => n.name === podAtIp.namespace)?.labels ?? { 'kubernetes.io/metadata.name': podAtIp.namespace };
  const inNamespaces = peer.namespaceSelector ? labelsSatisfy(peer.namespaceSelector, nsLabels) : podAtIp.namespace === policy.namespace;
  return inNamespaces && (!peer.podSelector || labelsSatisfy(peer.podSelector, podAtIp.labels));
}

function portAdmits(port: PolicyPort, flow: Flow, dst: Pod | undefined): boolean {
  if (PROTO[port.protocol] !== flow.protocol) return false;
  if (port.port === null) return true;
  if (typeof port.port === 'string') {
    return !!dst && dst.ports.some((cp) => cp.name === port.port && cp.protocol === port.protocol && cp.port === flow.dstPort);
  }
  return flow.dstPort >= port.port && flow.dstPort <= (port.endPort ?? port.port);
}

/** Is `flow` allowed at `pod` in `dir`? The union of the rules of the isolating policies. */
function directionAllows(w: World, pod: Pod, dir: 'ingress' | 'egress', flow: Flow): boolean {
  const isolating = w.c.policies.filter((p) => p.namespace === pod.namespace && p.policyTypes[dir] && labelsSatisfy(p.podSelector, pod.labels));
  if (isolating.length === 0) return true;
  const peerIp = dir === 'ingress' ? flow.src : flow.dst;
  const peerPod = w.owner.get(ipKey(peerIp));
  const dstPod = w.owner.get(ipKey(flow.dst));
  return isolating.some((p) => p[dir].some((rule) =>
    (rule.peers === null || rule.peers.some((peer) => peerAdmits(w, p, peer, peerIp, peerPod))) &&
    (rule.ports === null || rule.ports.some((port) => portAdmits(port, flow, dstPod)))));
}

function secondOpinion(c: Cluster, flow: Flow): boolean {
  return secondOpinionWith(world(c), flow);
}

/** Loopback and own-node traffic pass; otherwise the source's egress AND the destination's ingress. */
function secondOpinionWith(w: World, flow: Flow): boolean {
  const src = w.owner.get(ipKey(flow.src));
  const dst = w.owner.get(ipKey(flow.dst));
  if (src && ipKey(flow.src) === ipKey(flow.dst)) return true;
  if (dst && dst.nodeName !== null && w.nodeOf.get(ipKey(flow.src)) === dst.nodeName) return true;
  if (src && src.nodeName !== null && w.nodeOf.get(ipKey(flow.dst)) === src.nodeName) return true;
  return (!src || directionAllows(w, src, 'egress', flow)) && (!dst || directionAllows(w, dst, 'ingress', flow));
}

/** NETSIEVE_SEEDS=5000 for a long local run; CI runs 200. */
const SEEDS = Number(process.env['NETSIEVE_SEEDS'] ?? 200);

describe('reference evaluator versus a second opinion', () => {
  test(`agree on ${SEEDS} random scenarios x 1000 flows (a failure prints the seed and a shrunk case)`, () => {
    const failures: string[] = [];
    let checked = 0;
    for (let seed = 1; seed <= SEEDS && failures.length === 0; seed++) {
      const s = randomScenario(seed);
      const index = indexCluster(s.cluster);
      const w = world(s.cluster);
      for (const f of s.flows) {
        checked++;
        if (evaluate(index, f).allowed === secondOpinionWith(w, f)) continue;
        const disagree = (c: Cluster, fl: Flow) => evaluate(indexCluster(c), fl).allowed !== secondOpinion(c, fl);
        const shrunk = shrinkScenario(s.cluster, f, disagree);
        failures.push(formatReproduction(shrunk.cluster, shrunk.flow, seed));
        break;
      }
    }
    expect(failures.join('\n\n')).toBe('');
    expect(checked).toBe(SEEDS * 1000);
  });
});
