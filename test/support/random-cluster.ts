/**
 * Seeded random scenarios for differential tests: a cluster whose policies use every peer and port form
 * of `networking.k8s.io/v1` NetworkPolicy, and flows aimed at what those policies name (and at misses).
 *
 * Small vocabularies (label keys and values, port numbers, port names) make selectors and ports hit
 * often; a key no object carries (`ghost`) exercises NotIn/DoesNotExist on absent keys. The same seed
 * always yields the same scenario.
 *
 * A differential test (see test/model/second-opinion.test.ts for a working one):
 *
 *   for (let seed = 1; seed <= 200; seed++) {
 *     const { cluster, flows } = randomScenario(seed);
 *     const fails = (c: Cluster, f: Flow) => myModel(c, f) !== evaluate(indexCluster(c), f).allowed;
 *     const bad = flows.find((f) => fails(cluster, f));
 *     if (bad) {
 *       const min = shrinkScenario(cluster, bad, fails);
 *       throw new Error(formatReproduction(min.cluster, min.flow, seed));
 *     }
 *   }
 *
 * Addresses: pods 10.244.<ns>.<10+i> and fd00:10:244:<ns>::<10+i>; nodes 172.18.0.<2+k> and
 * fc00:f853:ccd:e793::<2+k> (hostNetwork pods carry their node's); externals from EXTERNAL below. Flows
 * carry no source port: pick one per flow if a dataplane needs it. Services are not generated.
 */
import { formatCidr, formatIp, familyBits, mustParseCidr, mustParseIp, prefixMask, type Cidr, type Family, type IpAddr } from '../../src/model/ip.js';
import type { Flow } from '../../src/model/evaluate.js';
import { IPPROTO, type Cluster, type ContainerPort, type L4Protocol, type Pod } from '../../src/model/types.js';
import {
  NAME_LABEL, cluster, cport, netpol, node, ns, pod,
  type EgressRuleSpec, type IngressRuleSpec, type PeerSpec, type PolicySpec, type PortSpec, type SelectorSpec,
} from './builders.js';
import { makeRng, type Rng } from './rng.js';

export interface ScenarioOptions {
  /** Flows to generate; default 1000. */
  flowsPerScenario?: number;
  /** Restrict pod addresses and flows to one family; default both (dual-stack and single-stack pods). */
  family?: Family;
  /** Nodes with addresses, node<->pod flows and hostNetwork pods; default true. */
  nodes?: boolean;
}

export interface Scenario {
  readonly seed: number;
  readonly cluster: Cluster;
  readonly flows: readonly Flow[];
}

const POD_KEYS = ['app', 'tier', 'env'];
const NS_KEYS = ['team', 'env', 'zone'];
const VALUES = ['a', 'b', 'c'];
/** A key no object ever carries. */
const GHOST = 'ghost';
const PORT_NUMBERS = [53, 80, 81, 443, 8080, 9090];
const PORT_NAMES = ['http', 'metrics', 'dns', 'grpc', 'serve'];
const PROTOCOLS: readonly L4Protocol[] = ['TCP', 'UDP', 'SCTP'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** Addresses that are no pod's, some inside the pod ranges, some inside 10/8, some far away. */
const EXTERNAL: Record<Family, readonly string[]> = {
  4: ['192.168.1.5', '203.0.113.7', '10.244.9.99', '10.1.2.3', '8.8.8.8'],
  6: ['2001:db8::5', 'fd00:10:244:9::99', 'fd00:1::3', '2606:4700::1111'],
};
/** CIDRs for ipBlocks beside the per-pod and per-namespace ones. */
const BLOCKS: Record<Family, readonly string[]> = {
  4: ['0.0.0.0/0', '10.0.0.0/8', '10.244.0.0/16', '192.168.0.0/16', '203.0.113.0/24', '172.18.0.0/16'],
  6: ['::/0', 'fd00::/8', 'fd00:10:244::/48', '2001:db8::/32', 'fc00:f853:ccd:e793::/64'],
};

function podV4(nsIdx: number, i: number): string { return `10.244.${nsIdx}.${10 + i}`; }
function podV6(nsIdx: number, i: number): string { return `fd00:10:244:${nsIdx}::${(10 + i).toString(16)}`; }
function nodeIps(k: number): string[] { return [`172.18.0.${2 + k}`, `fc00:f853:ccd:e793::${2 + k}`]; }

interface Ctx {
  readonly rng: Rng;
  readonly opts: Required<Omit<ScenarioOptions, 'family'>> & { family: Family | null };
  namespaces: string[];
  pods: Pod[];
  nodeNames: string[];
}

export function randomScenario(seed: number, options: ScenarioOptions = {}): Scenario {
  const rng = makeRng(seed);
  const opts = { flowsPerScenario: options.flowsPerScenario ?? 1000, family: options.family ?? null, nodes: options.nodes ?? true };
  const ctx: Ctx = { rng, opts, namespaces: [], pods: [], nodeNames: [] };
  const namespaces = randomNamespaces(ctx);
  const nodes = opts.nodes ? Array.from({ length: rng.int(1, 3) }, (_, k) => node(`node-${k}`, familyFilter(ctx, nodeIps(k)))) : [];
  ctx.nodeNames = nodes.map((n) => n.name);
  ctx.pods = randomPods(ctx);
  const policies = Array.from({ length: rng.chance(0.05) ? 0 : rng.int(1, 8) }, (_, i) => randomPolicy(ctx, i));
  const built = cluster({ namespaces, pods: ctx.pods, nodes, policies });
  const pools = flowPools(built);
  const flows = Array.from({ length: opts.flowsPerScenario }, () => randomFlow(ctx, pools));
  return { seed, cluster: built, flows };
}

function familyFilter(ctx: Ctx, ips: string[]): string[] {
  return ctx.opts.family === null ? ips : ips.filter((ip) => (ip.includes(':') ? 6 : 4) === ctx.opts.family);
}

function randomLabels(rng: Rng, keys: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const k of keys) if (rng.chance(0.6)) labels[k] = rng.pick(VALUES);
  return labels;
}

function randomNamespaces(ctx: Ctx) {
  const count = ctx.rng.int(2, 5);
  ctx.namespaces = Array.from({ length: count }, (_, i) => `ns${i}`);
  return ctx.namespaces.map((name) => ns(name, randomLabels(ctx.rng, NS_KEYS)));
}

function randomPods(ctx: Ctx): Pod[] {
  const { rng } = ctx;
  const count = rng.int(3, 15);
  const pods: Pod[] = [];
  for (let i = 0; i < count; i++) {
    const nsIdx = rng.int(0, ctx.namespaces.length - 1);
    const nodeName = ctx.nodeNames.length > 0 && rng.chance(0.8) ? rng.pick(ctx.nodeNames) : null;
    // hostNetwork pods carry their node's addresses: the model treats them as node traffic.
    const hostNetwork = nodeName !== null && rng.chance(0.07);
    const ips = hostNetwork ? nodeIps(ctx.nodeNames.indexOf(nodeName))
      : rng.weighted<string[]>([[0.7, [podV4(nsIdx, i), podV6(nsIdx, i)]], [0.15, [podV4(nsIdx, i)]], [0.15, [podV6(nsIdx, i)]]]);
    pods.push(pod(`${ctx.namespaces[nsIdx]}/pod${i}`, {
      labels: randomLabels(rng, POD_KEYS), ips: familyFilter(ctx, ips), ports: randomContainerPorts(rng), node: nodeName, hostNetwork,
    }));
  }
  return pods;
}

/** Names unique within a pod, as the API requires; the same name gets different numbers on different pods. */
function randomContainerPorts(rng: Rng): ContainerPort[] {
  const ports: ContainerPort[] = [];
  const names = new Set<string>();
  for (let n = rng.int(0, 4); n > 0; n--) {
    const protocol = rng.weighted<L4Protocol>([[0.5, 'TCP'], [0.3, 'UDP'], [0.2, 'SCTP']]);
    const port = rng.pick(PORT_NUMBERS);
    if (ports.some((p) => p.port === port && p.protocol === protocol)) continue;
    let name: string | null = rng.chance(0.8) ? rng.pick(PORT_NAMES) : null;
    if (name !== null && names.has(name)) name = null;
    if (name !== null) names.add(name);
    ports.push(cport(port, protocol, name));
  }
  return ports;
}

// ---- selectors, peers, ports, policies -------------------------------------------------------------------

function randomSelector(ctx: Ctx, forNamespaces: boolean): SelectorSpec {
  const { rng } = ctx;
  if (rng.chance(0.25)) return {};
  const keys = forNamespaces ? [...NS_KEYS, NAME_LABEL] : POD_KEYS;
  const valuesFor = (key: string): string[] => (key === NAME_LABEL ? ctx.namespaces : VALUES);
  const spec: SelectorSpec = {};
  if (rng.chance(0.6)) {
    const key = rng.pick(keys);
    spec.matchLabels = { [key]: rng.pick(valuesFor(key)) };
  }
  const exprs = Array.from({ length: rng.int(spec.matchLabels ? 0 : 1, 2) }, () => {
    const key = rng.chance(0.2) ? GHOST : rng.pick(keys);
    const operator = rng.pick(OPERATORS);
    const needsValues = operator === 'In' || operator === 'NotIn';
    const values = needsValues ? [rng.pick(valuesFor(key)), ...(rng.chance(0.4) ? [rng.pick(valuesFor(key))] : [])] : [];
    return { key, operator, values: [...new Set(values)] };
  });
  if (exprs.length > 0) spec.matchExpressions = exprs;
  return spec;
}

function randomPeer(ctx: Ctx): PeerSpec {
  const form = ctx.rng.weighted<string>([[0.25, 'pod'], [0.2, 'ns'], [0.25, 'both'], [0.3, 'ipBlock']]);
  if (form === 'ipBlock') return { ipBlock: randomIpBlock(ctx) };
  const peer: PeerSpec = {};
  if (form !== 'ns') peer.podSelector = randomSelector(ctx, false);
  if (form !== 'pod') peer.namespaceSelector = randomSelector(ctx, true);
  return peer;
}

function familyOf(ctx: Ctx): Family {
  return ctx.opts.family ?? (ctx.rng.chance(0.5) ? 4 : 6);
}

/** Addresses of one family the scenario knows: pods, nodes, externals (so blocks and excepts hit them). */
function knownAddresses(ctx: Ctx, family: Family): string[] {
  const podIps = ctx.pods.flatMap((p) => p.ips.filter((ip) => ip.family === family).map(formatIp));
  const nodes = ctx.nodeNames.map((_, k) => nodeIps(k)[family === 4 ? 0 : 1]!);
  return [...podIps, ...nodes, ...EXTERNAL[family]];
}

function randomIpBlock(ctx: Ctx): { cidr: string; except: string[] } {
  const { rng } = ctx;
  const family = familyOf(ctx);
  const known = knownAddresses(ctx, family);
  const bits = familyBits(family);
  const cidr = rng.weighted<string>([
    [0.5, rng.pick(BLOCKS[family])],
    [0.3, `${rng.pick(known)}/${bits - rng.pick([0, 8, 16])}`], // a host, or the block 8 or 16 bits wider around it
    [0.2, family === 4 ? `10.244.${rng.int(0, 4)}.0/24` : `fd00:10:244:${rng.int(0, 4)}::/64`],
  ]);
  const parsed = mustParseCidr(cidr);
  const except = Array.from({ length: rng.int(0, 2) }, () => randomExcept(rng, parsed, known)).filter((e): e is string => e !== null);
  return { cidr: formatCidr(parsed), except: [...new Set(except)] };
}

/** A block strictly inside `outer`: around a known address inside it when there is one. */
function randomExcept(rng: Rng, outer: Cidr, known: readonly string[]): string | null {
  const bits = familyBits(outer.family);
  if (outer.prefix >= bits) return null;
  const inside = known.map((t) => mustParseCidr(`${t}/${bits}`)).filter((c) => (c.base & prefixMask(outer.family, outer.prefix)) === outer.base);
  const prefix = rng.int(outer.prefix + 1, bits);
  let base: bigint;
  if (inside.length > 0 && rng.chance(0.8)) base = rng.pick(inside).base;
  else base = outer.base | (BigInt(Math.floor(rng.next() * 2 ** 32)) & ~prefixMask(outer.family, outer.prefix) & ((1n << BigInt(bits)) - 1n));
  const addr: IpAddr = { family: outer.family, value: base & prefixMask(outer.family, prefix) };
  return `${formatIp(addr)}/${prefix}`;
}

function randomPort(ctx: Ctx): PortSpec {
  const { rng } = ctx;
  const spec: PortSpec = rng.chance(0.15) ? {} : { protocol: rng.pick(PROTOCOLS) }; // absent protocol: TCP
  const form = rng.weighted<string>([[0.2, 'all'], [0.3, 'number'], [0.2, 'range'], [0.3, 'named']]);
  if (form === 'number') spec.port = rng.pick(PORT_NUMBERS);
  if (form === 'range') {
    spec.port = rng.pick(PORT_NUMBERS);
    spec.endPort = Math.min(65535, spec.port + rng.pick([0, 0, 1, 10, 1000])); // endPort == port included
  }
  if (form === 'named') spec.port = rng.chance(0.1) ? 'nope' : rng.pick(PORT_NAMES);
  return spec;
}

function randomRule(ctx: Ctx): { peers?: PeerSpec[]; ports?: PortSpec[] } {
  const { rng } = ctx;
  const peers = rng.chance(0.25) ? (rng.chance(0.5) ? undefined : []) : Array.from({ length: rng.int(1, 3) }, () => randomPeer(ctx));
  const ports = rng.chance(0.3) ? (rng.chance(0.5) ? undefined : []) : Array.from({ length: rng.int(1, 3) }, () => randomPort(ctx));
  return { peers, ports };
}

function randomPolicy(ctx: Ctx, i: number) {
  const { rng } = ctx;
  const ingress: IngressRuleSpec[] = Array.from({ length: rng.int(0, 3) }, () => { const r = randomRule(ctx); return { from: r.peers, ports: r.ports }; });
  const egress: EgressRuleSpec[] = Array.from({ length: rng.int(0, 3) }, () => { const r = randomRule(ctx); return { to: r.peers, ports: r.ports }; });
  const spec: PolicySpec = { podSelector: randomSelector(ctx, false), ingress, egress };
  // Omitted policyTypes exercises the API server's defaulting (see builders.netpol).
  const types = rng.weighted<readonly ('Ingress' | 'Egress')[] | null>([[0.4, null], [0.2, ['Ingress']], [0.2, ['Egress']], [0.2, ['Ingress', 'Egress']]]);
  if (types) spec.policyTypes = types;
  return netpol(`${rng.pick(ctx.namespaces)}/policy${i}`, spec);
}

// ---- flows ---------------------------------------------------------------------------------------------------

type Endpoint = { ip: IpAddr; pod: Pod | null };

/** What flows are drawn from, computed once per scenario. */
interface FlowPools {
  readonly pods: Record<Family, Endpoint[]>;
  readonly others: Record<Family, Endpoint[]>;
  /** Every numeric range of the policies, for ports at and around their edges. */
  readonly ranges: PolicyPortRange[];
}

type PolicyPortRange = { readonly port: number; readonly endPort: number };

function flowPools(c: Cluster): FlowPools {
  const podEps = (family: Family) => c.pods.flatMap((p) => p.ips.filter((ip) => ip.family === family).map((ip) => ({ ip, pod: p })));
  const otherEps = (family: Family) => [
    ...EXTERNAL[family].map((t) => ({ ip: mustParseIp(t), pod: null })),
    ...c.nodes.flatMap((n) => n.ips.filter((ip) => ip.family === family).map((ip) => ({ ip, pod: null }))),
  ];
  const ranges = c.policies.flatMap((p) => [...p.ingress, ...p.egress]).flatMap((r) => r.ports ?? [])
    .flatMap((p) => (p.endPort !== null && typeof p.port === 'number' ? [{ port: p.port, endPort: p.endPort }] : []));
  return { pods: { 4: podEps(4), 6: podEps(6) }, others: { 4: otherEps(4), 6: otherEps(6) }, ranges };
}

const FLOW_KINDS = [[0.6, 'pod-pod'], [0.05, 'self'], [0.15, 'pod-out'], [0.15, 'in-pod'], [0.05, 'out-out']] as const;
const flowProtocols = (icmp: number) =>
  [[0.35, IPPROTO.TCP], [0.2, IPPROTO.UDP], [0.2, IPPROTO.SCTP], [0.15, icmp], [0.1, 47 /* GRE: no ports */]] as const;
const FLOW_PROTOCOLS = { 4: flowProtocols(IPPROTO.ICMP), 6: flowProtocols(IPPROTO.ICMPV6) } as const;
const PORT_CHOICES = [[0.35, 'container'], [0.3, 'vocab'], [0.2, 'edge'], [0.15, 'random']] as const;

function randomFlow(ctx: Ctx, pools: FlowPools): Flow {
  const { rng } = ctx;
  let family = familyOf(ctx);
  const other: Family = family === 4 ? 6 : 4;
  if (pools.pods[family].length === 0 && pools.pods[other].length > 0) family = other;
  const pods = pools.pods[family];
  const others = pools.others[family];
  // No pod has an address of the family (a one-family scenario whose few pods all drew only the other
  // family's, so have none): the flow runs between nodes and external addresses, of the family asked.
  if (pods.length === 0) return withPorts(rng, pools, family, rng.pick(others), rng.pick(others));
  const kind = rng.weighted(FLOW_KINDS);
  const a = rng.pick(pods);
  const [src, dst] = kind === 'pod-pod' ? [a, rng.pick(pods)] : kind === 'self' ? [a, a]
    : kind === 'pod-out' ? [a, rng.pick(others)] : kind === 'in-pod' ? [rng.pick(others), a] : [rng.pick(others), rng.pick(others)];
  return withPorts(rng, pools, family, src, dst);
}

/** The flow from `src` to `dst`: a protocol of the family, and a destination port when it has ports. */
function withPorts(rng: Rng, pools: FlowPools, family: Family, src: Endpoint, dst: Endpoint): Flow {
  const protocol = rng.weighted(FLOW_PROTOCOLS[family]);
  const l4 = protocol === IPPROTO.TCP || protocol === IPPROTO.UDP || protocol === IPPROTO.SCTP;
  return { src: src.ip, dst: dst.ip, protocol, dstPort: l4 ? randomDstPort(rng, pools.ranges, dst.pod) : 0 };
}

/** Ports the policies and the destination name, their range edges, and random misses. */
function randomDstPort(rng: Rng, ranges: readonly PolicyPortRange[], dstPod: Pod | null): number {
  const choice = rng.weighted(PORT_CHOICES);
  if (choice === 'container' && dstPod && dstPod.ports.length > 0) return rng.pick(dstPod.ports).port;
  if (choice === 'edge' && ranges.length > 0) {
    const r = rng.pick(ranges);
    return rng.pick([r.port, r.endPort, r.port - 1, r.endPort + 1].filter((p) => p >= 1 && p <= 65535));
  }
  if (choice === 'random') return rng.int(1, 65535);
  return rng.pick(PORT_NUMBERS);
}
