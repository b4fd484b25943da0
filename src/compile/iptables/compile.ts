/**
 * Lowers the cluster model into the iptables `filter` table, per family. The layout, after Calico
 * Felix and kube-router:
 *
 *   FORWARD            -j NS-FORWARD
 *   NS-FORWARD         conntrack first: RELATED,ESTABLISHED ACCEPT; INVALID DROP
 *                      src in the egress-isolated set  -j NS-EGRESS   (prefix-tree dispatch, GOTO a pod)
 *                      dst in the ingress-isolated set -j NS-INGRESS
 *                      ACCEPT   (no isolated pod refused it: "a direction that is not isolated allows all")
 *   NS-TE-<pod> / NS-TI-<pod>   per pod and direction: loopback and own-node shortcuts, clear the accept
 *                      mark, -j each selecting policy's chain in model order, RETURN once marked, and at
 *                      the end DROP: isolated and accepted by no policy
 *   NS-PE-<pol> / NS-PI-<pol>   per policy and direction, see policy.ts
 *
 * INPUT and OUTPUT: traffic between a pod and its own node (kubelet probes, hostNetwork pods, which
 * carry the node's address) meets INPUT/OUTPUT on the node, never FORWARD. With allowNodeTraffic those
 * chains stay empty (policy-free, as Calico, Cilium and kube-router default to); without it, they jump
 * to NS-FORWARD so node traffic gets the same policy. A pod talking to itself stays inside its own
 * network namespace and never reaches the node's netfilter at all. So that a simulated FORWARD hook
 * (and the kernel oracle, which routes every address through FORWARD) agrees with the reference
 * evaluator, the pod chains carry explicit ACCEPT rules for both corners when the options allow them.
 */
import { ipKey, type Family } from '../../model/ip.js';
import type { ClusterIndex } from '../../model/cluster-index.js';
import type { EvalOptions } from '../../model/evaluate.js';
import { qualifiedName, type Direction, type Node, type Pod } from '../../model/types.js';
import { FamilyBuilder } from './builder.js';
import { buildDispatch, type DispatchEntry } from './dispatch.js';
import { ACCEPT_MARK, CtBit, Target, type FamilyProgram, type IptablesProgram } from './ir.js';
import { CHAIN_NAME_MAX, NameTable } from './names.js';
import { policyJump, type PolicyContext } from './policy.js';
import { EndpointIndex, IsolationIndex } from './selection.js';
import { hostCidr, SetRegistry } from './sets.js';

export const TOP_CHAIN = 'NS-FORWARD';

/** What both families share: the set registry and the selection and node lookups, each built once. */
interface Shared {
  readonly sets: SetRegistry;
  readonly isolation: IsolationIndex;
  readonly nodeByName: ReadonlyMap<string, Node>;
}

export function compileIptables(index: ClusterIndex, options: EvalOptions): IptablesProgram {
  const shared: Shared = { sets: new SetRegistry(), isolation: new IsolationIndex(index), nodeByName: nodesByName(index) };
  const v4 = compileFamily(index, options, 4, shared);
  const v6 = compileFamily(index, options, 6, shared);
  return { v4, v6, sets: shared.sets.list() };
}

function compileFamily(index: ClusterIndex, options: EvalOptions, family: Family, shared: Shared): FamilyProgram {
  const builder = new FamilyBuilder(family);
  const names = new NameTable(CHAIN_NAME_MAX);
  const selection = new EndpointIndex(index, family);
  const ctx: FamilyContext = {
    index, options, family, builder, sets: shared.sets, endpoints: selection.pods, selection, isolation: shared.isolation,
    nodeByName: shared.nodeByName, chainName: (kind, key) => names.name(kind, key), policyJumps: { ingress: new Map(), egress: new Map() },
  };
  const input = builder.chain('INPUT', true);
  const forward = builder.chain('FORWARD', true);
  const output = builder.chain('OUTPUT', true);
  const top = builder.chain(TOP_CHAIN);
  builder.add(forward, { target: Target.JUMP, targetArg: top, comment: 'netsieve: NetworkPolicy for forwarded pod traffic' });
  if (!options.allowNodeTraffic) {
    builder.add(input, { target: Target.JUMP, targetArg: top, comment: 'netsieve: pod to its node is policed (allowNodeTraffic off)' });
    builder.add(output, { target: Target.JUMP, targetArg: top, comment: 'netsieve: node to its pods is policed (allowNodeTraffic off)' });
  }
  emitTop(ctx, top);
  return builder.finish(forward);
}

interface FamilyContext extends PolicyContext {
  readonly nodeByName: ReadonlyMap<string, Node>;
}

/** The first node of each name, as `nodes.find` by name would answer. */
function nodesByName(index: ClusterIndex): Map<string, Node> {
  const byName = new Map<string, Node>();
  for (const node of index.cluster.nodes) if (!byName.has(node.name)) byName.set(node.name, node);
  return byName;
}

function emitTop(ctx: FamilyContext, top: number): void {
  const { builder } = ctx;
  builder.add(top, { ctstate: CtBit.RELATED | CtBit.ESTABLISHED, target: Target.ACCEPT, comment: 'replies and related packets of accepted connections' });
  builder.add(top, { ctstate: CtBit.INVALID, target: Target.DROP, comment: 'conntrack INVALID' });
  emitDirection(ctx, top, 'egress');
  emitDirection(ctx, top, 'ingress');
  builder.add(top, { target: Target.ACCEPT, comment: 'no isolated pod refused it' });
}

/** The isolated set check and the dispatch tree for one direction (nothing when no pod is isolated). */
function emitDirection(ctx: FamilyContext, top: number, direction: Direction): void {
  const dir = direction === 'egress' ? 'src' : 'dst';
  const isolated: number[] = [];
  ctx.endpoints.forEach((pod, position) => { if (ctx.isolation.isolating(pod, direction).length > 0) isolated.push(position); });
  if (isolated.length === 0) return;
  const rootName = direction === 'egress' ? 'NS-EGRESS' : 'NS-INGRESS';
  ctx.builder.chain(rootName); // created first so the dump reads top-down: dispatch, pod chains, policies
  const entries: DispatchEntry[] = isolated.map((position) => ({
    address: ctx.selection.cidrs[position]!.base, host: ctx.selection.cidrs[position]!, chain: podChain(ctx, position, direction),
    label: `${qualifiedName(ctx.endpoints[position]!)} ${direction}`,
  }));
  const root = buildDispatch({
    builder: ctx.builder, family: ctx.family, dir,
    chainName: (prefix) => (prefix === null ? rootName
      : ctx.chainName(direction === 'egress' ? 'NS-DE-' : 'NS-DI-', `${prefix.base}/${prefix.prefix}`)),
  }, entries);
  const set = ctx.sets.intern(ctx.family, 'I', 'hash:ip', `isolated|${direction}`, `pods isolated for ${direction}`,
    () => ctx.selection.hostMembers(isolated));
  ctx.builder.add(top, { sets: [{ set, dir, negate: false }], target: Target.JUMP, targetArg: root, comment: `pods isolated for ${direction}` });
}

/**
 * The chain of one isolated pod in one direction. "In an isolated direction, traffic is allowed when
 * at least one rule of at least one policy that selects the pod in that direction matches it."
 */
function podChain(ctx: FamilyContext, position: number, direction: Direction): number {
  const { builder, options } = ctx;
  const pod = ctx.endpoints[position]!;
  const name = qualifiedName(pod);
  const chain = builder.chain(ctx.chainName(direction === 'egress' ? 'NS-TE-' : 'NS-TI-', `${name}|${direction}`));
  const self = ctx.selection.cidrs[position]!;
  const peerSide = direction === 'egress' ? 'dst' : 'src';
  if (options.allowLoopback) builder.add(chain, { [peerSide]: self, target: Target.ACCEPT, comment: `${name}: to itself (loopback)` });
  if (options.allowNodeTraffic) {
    for (const ip of ownNodeAddresses(ctx, pod)) builder.add(chain, { [peerSide]: hostCidr(ip), target: Target.ACCEPT, comment: `${name}: its own node ${pod.nodeName}` });
  }
  builder.add(chain, { target: Target.MARK, targetArg: 0, targetMask: ACCEPT_MARK, comment: 'clear the accept mark' });
  for (const policy of ctx.isolation.isolating(pod, direction)) {
    const jump = policyJump(ctx, policy, direction);
    builder.add(chain, { target: Target.JUMP, targetArg: jump.chain, comment: jump.jumpComment });
    builder.add(chain, { markValue: ACCEPT_MARK, markMask: ACCEPT_MARK, target: Target.RETURN, comment: jump.acceptedComment });
  }
  builder.add(chain, { target: Target.DROP, comment: `${name} ${direction}: isolated and no policy accepts` });
  return chain;
}

/** Addresses of `family` that belong to the pod's node (as the reference's node index resolves them). */
function ownNodeAddresses(ctx: FamilyContext, pod: Pod) {
  if (pod.nodeName === null) return [];
  const node = ctx.nodeByName.get(pod.nodeName);
  return (node?.ips ?? []).filter((ip) => ip.family === ctx.family && ctx.index.nodeByIp.get(ipKey(ip))?.name === pod.nodeName);
}
