/**
 * One chain per (policy, direction), shared by every pod the policy selects, as Calico's `cali-pi-` /
 * `cali-po-` chains are. Each NetworkPolicy rule becomes one iptables rule per (peer alternative x
 * port alternative) that sets the accept mark, followed by one "marked: RETURN" rule, so the first rule
 * in model order that accepts is the one that decides, exactly the rule the reference evaluator names
 * first (`allowedBy[0]`). A policy chain ends with an explicit RETURN: no rule of this policy matched.
 */
import type { Family } from '../../model/ip.js';
import { formatCidr } from '../../model/ip.js';
import type { ClusterIndex } from '../../model/cluster-index.js';
import type { EvalOptions } from '../../model/evaluate.js';
import { qualifiedName, type Direction, type NetworkPolicy, type Peer, type Pod, type PolicyRule } from '../../model/types.js';
import type { FamilyBuilder } from './builder.js';
import { ACCEPT_MARK, Target, type SetMatch } from './ir.js';
import { portAlternatives } from './ports.js';
import type { EndpointIndex, IsolationIndex } from './selection.js';
import { blockEntries, type SetRegistry } from './sets.js';

export interface PolicyContext {
  readonly index: ClusterIndex;
  readonly options: EvalOptions;
  readonly family: Family;
  readonly builder: FamilyBuilder;
  readonly sets: SetRegistry;
  /** Pods that are policy endpoints (not hostNetwork), in model order. */
  readonly endpoints: readonly Pod[];
  /** The same endpoints, indexed for selection. */
  readonly selection: EndpointIndex;
  readonly isolation: IsolationIndex;
  readonly chainName: (kind: string, key: string) => string;
  /** policyJump's memo, per direction. */
  readonly policyJumps: Readonly<Record<Direction, Map<NetworkPolicy, PolicyJump>>>;
}

/** A policy's chain for one direction and the comments of the two pod-chain rules that call it. */
export interface PolicyJump {
  readonly chain: number;
  readonly jumpComment: string;
  readonly acceptedComment: string;
}

/**
 * The policy's chain (emitted on first use) with its pod-chain comments, made once per policy and
 * direction: every pod the policy selects jumps to it, so the real tier asks ~100,000 times for ~14,000
 * chains, and naming one costs a hash.
 */
export function policyJump(ctx: PolicyContext, policy: NetworkPolicy, direction: Direction): PolicyJump {
  const memo = ctx.policyJumps[direction];
  let jump = memo.get(policy);
  if (jump === undefined) {
    const name = qualifiedName(policy);
    jump = { chain: policyChain(ctx, policy, direction), jumpComment: `${name} ${direction}`, acceptedComment: `accepted by ${name}` };
    memo.set(policy, jump);
  }
  return jump;
}

function policyChain(ctx: PolicyContext, policy: NetworkPolicy, direction: Direction): number {
  const name = ctx.chainName(direction === 'ingress' ? 'NS-PI-' : 'NS-PE-', `${qualifiedName(policy)}|${direction}`);
  if (ctx.builder.has(name)) return ctx.builder.chain(name);
  const chain = ctx.builder.chain(name);
  const rules = direction === 'ingress' ? policy.ingress : policy.egress;
  rules.forEach((rule, i) => emitRule(ctx, chain, policy, direction, rule, i));
  ctx.builder.add(chain, { target: Target.RETURN, comment: `${qualifiedName(policy)} ${direction}: no rule matched` });
  return chain;
}

function emitRule(ctx: PolicyContext, chain: number, policy: NetworkPolicy, direction: Direction, rule: PolicyRule, i: number): void {
  const comment = `${qualifiedName(policy)} ${direction} rule ${i}`;
  const source = { policy: qualifiedName(policy), direction, rule: i };
  const peers = peerAlternatives(ctx, policy, rule, direction === 'ingress' ? 'src' : 'dst');
  const ports = portAlternatives(rule.ports, ctx.family, ctx.selection, ctx.sets);
  if (peers.length === 0 || ports.length === 0) return; // nothing of this family can match
  for (const peer of peers) {
    for (const port of ports) {
      ctx.builder.add(chain, {
        proto: port.proto, dports: port.dports, sets: [...peer, ...port.sets],
        target: Target.MARK, targetArg: ACCEPT_MARK, targetMask: ACCEPT_MARK, comment, source,
      });
    }
  }
  ctx.builder.add(chain, { markValue: ACCEPT_MARK, markMask: ACCEPT_MARK, target: Target.RETURN, comment: `${comment}: accepted` });
}

/**
 * Ways the peer part can match, each a list of set matches ANDed. `from`/`to` absent: one empty
 * alternative (every peer). Pod peers are ORed, so their union is one hash:ip set; each ipBlock is its
 * own hash:net set because excepts of different blocks do not compose in one set. An ipBlock of the
 * other family matches nothing here ("ipBlocks are per address family").
 */
function peerAlternatives(ctx: PolicyContext, policy: NetworkPolicy, rule: PolicyRule, dir: 'src' | 'dst'): SetMatch[][] {
  if (rule.peers === null) return [[]];
  const out: SetMatch[][] = [];
  const podPeers = rule.peers.filter((p) => p.kind === 'pods');
  if (podPeers.length > 0) out.push([{ set: podPeerSet(ctx, policy, podPeers), dir, negate: false }]);
  for (const peer of rule.peers) {
    if (peer.kind !== 'ipBlock' || peer.cidr.family !== ctx.family) continue;
    const match: SetMatch[] = [{ set: blockSet(ctx, peer), dir, negate: false }];
    // EvalOptions.ipBlockMatchesPods off (Cilium, np-guard): a pod's address never matches an ipBlock.
    if (!ctx.options.ipBlockMatchesPods) match.push({ set: allPodsSet(ctx), dir, negate: true });
    out.push(match);
  }
  return out;
}

function podPeerSet(ctx: PolicyContext, policy: NetworkPolicy, peers: readonly Peer[]): number {
  const peersKey = JSON.stringify(peers);
  const purpose = `pods selected by ${qualifiedName(policy)} peers`;
  return ctx.sets.intern(ctx.family, 'P', 'hash:ip', `pods|${policy.namespace}|${peersKey}`, purpose, () =>
    ctx.selection.peerMembers(policy.namespace, peers, peersKey));
}

function blockSet(ctx: PolicyContext, peer: Extract<Peer, { kind: 'ipBlock' }>): number {
  const text = `${formatCidr(peer.cidr)}${peer.except.length > 0 ? ` except ${peer.except.map(formatCidr).join(',')}` : ''}`;
  return ctx.sets.intern(ctx.family, 'B', 'hash:net', `block|${text}`, `ipBlock ${text}`, () => blockEntries(peer.cidr, peer.except));
}

export function allPodsSet(ctx: PolicyContext): number {
  return ctx.sets.intern(ctx.family, 'A', 'hash:ip', 'all-pods', 'every pod address', () =>
    ctx.selection.hostMembers(ctx.endpoints.map((_, position) => position)));
}
