/**
 * The replay report as data: what `replay --output json` prints and the table renders. Built once
 * after the replay from its counters and connection table; it never matches packets itself. The
 * reasons for denials come from the reference evaluator's Decision for each denied connection's
 * opening packet, so they name the direction, the policies that isolate the pod and that none allows it.
 */
import { podAt, type ClusterIndex } from '../model/cluster-index.js';
import type { Decision, DirectionDecision, EvalOptions } from '../model/evaluate.js';
import { formatIp, ipFromWords, type IpAddr } from '../model/ip.js';
import { qualifiedName } from '../model/types.js';
import { Count, RECORD_DOUBLES, type ConnectionTable } from '../replay/connections.js';
import type { ReplayResult } from '../replay/replay.js';
import type { TrackerSummary } from '../replay/trackers.js';
import { CtState } from '../wire/flow-batch.js';
import { addressAt, flowAddresses, FlowSum, takeCensus, type Census } from './connection-census.js';
import { DecisionsByFlow } from './flow-decisions.js';
import { DecisionMemo } from '../model/decision-memo.js';
import type { TupleInterner } from './tuple-interner.js';

export interface DeniedConnection {
  src: string; srcPort: number; dst: string; dstPort: number; protocol: string;
  srcPod: string | null; dstPod: string | null; service: string | null;
  packets: number; reason: string;
}

export interface ReplayReport {
  packets: number;
  models: string[];
  connections: { total: number; allowed: number; denied: number; untracked: number };
  denied: DeniedConnection[];
  deniedListed: number;
  policies: { policy: string; allowedConnections: number; deniedConnections: number }[];
  addressesWithoutPod: { address: string; packets: number }[];
  addressesWithoutPodTotal: number;
  nonIp: number;
  malformed: number;
  laterFragments: number;
  fragmentsWithoutFirst: number;
  icmpErrors: number;
  verdicts: Record<string, { accepted: number; dropped: number }>;
  /** Per model, its connection trackers (src/replay/trackers.ts): capacity, trackers, peakEntries, evictions. */
  conntrack: Record<string, TrackerSummary>;
  disagreements: number;
  disagreementSamples: { file: string; record: number; src: string; srcPort: number; dst: string; dstPort: number; protocol: string; verdicts: Record<string, string>; ctStates: Record<string, string> }[];
  writeSkipped: number;
  damage: { offset: number; reason: string; file: string } | null;
  seconds: number;
  packetsPerSecond: number;
  cpuSeconds: number;
}

const CT_NAMES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];
const VERDICT_NAMES = ['DROP', 'ACCEPT', 'NONE'];

export function protocolName(proto: number): string {
  switch (proto) {
    case 6: return 'TCP';
    case 17: return 'UDP';
    case 132: return 'SCTP';
    case 1: return 'ICMP';
    case 58: return 'ICMPv6';
    default: return String(proto);
  }
}

/**
 * `memo`: the Decisions the replay's reference model made (ReplayOptions.decisions), of this index and
 * these options; absent, the report makes its own.
 */
export function buildReplayReport(
  result: ReplayResult, index: ClusterIndex, options: EvalOptions, limit: number, memo = new DecisionMemo(index, options),
): ReplayReport {
  if (memo.index !== index || memo.options !== options) throw new Error('buildReplayReport: the memo is of another cluster or other options');
  const t = result.connections;
  const census = takeCensus(t, limit);
  const decisions = new DecisionsByFlow(census.flows, memo);
  const deniedList = Array.from(census.listedDenied, (c, k) => describeDenied(result, decisions.of(census.listedDeniedFlow[k]!), c));
  const seconds = result.seconds;
  return {
    packets: result.packets,
    models: result.models.map((m) => m.name),
    connections: { total: t.count + t.overflow, allowed: census.allowed, denied: census.denied, untracked: t.overflow },
    denied: deniedList,
    deniedListed: deniedList.length,
    policies: policyHits(census, index, decisions),
    ...addressesWithoutPod(flowAddresses(census.flows), index),
    nonIp: result.nonIp,
    malformed: result.malformed,
    laterFragments: result.laterFragments,
    fragmentsWithoutFirst: result.models[0]?.orphanFragments ?? 0,
    icmpErrors: result.icmpErrors,
    verdicts: Object.fromEntries(result.models.map((m) => [m.name, { accepted: m.accepted, dropped: m.dropped }])),
    conntrack: Object.fromEntries(result.models.map((m) => [m.name, { ...m.tracker }])),
    disagreements: result.disagreements,
    disagreementSamples: result.disagreementList.map((d) => ({
      file: d.file, record: d.record, src: addr(d.family, d.src, 0), srcPort: d.srcPort, dst: addr(d.family, d.dst, 0),
      dstPort: d.dstPort, protocol: protocolName(d.proto),
      verdicts: Object.fromEntries(result.models.map((m, k) => [m.name, VERDICT_NAMES[d.verdicts[k]!] ?? '?'])),
      ctStates: Object.fromEntries(result.models.map((m, k) => [m.name, CT_NAMES[d.ctStates[k]!] ?? '?'])),
    })),
    writeSkipped: result.writeSkipped,
    damage: result.damage,
    seconds,
    packetsPerSecond: seconds > 0 ? Math.round(result.packets / seconds) : 0,
    cpuSeconds: result.cpuSeconds,
  };
}

function addr(family: number, words: Uint32Array, off: number): string {
  return formatIp(ipFromWords(family === 6 ? 6 : 4, words, off));
}

function describeDenied(result: ReplayResult, decision: Decision, c: number): DeniedConnection {
  const t = result.connections;
  const family = t.familyOf(c);
  const s = t.service[c]!;
  return {
    src: addr(family, t.key, t.srcAt(c)), srcPort: t.srcPortOf(c), dst: addr(family, t.key, t.dstAt(c)), dstPort: t.dstPortOf(c),
    protocol: protocolName(t.protoOf(c)), srcPod: decision.srcPod, dstPod: decision.dstPod,
    service: s >= 0 ? result.nat.names[s]! : null, packets: t.counts[c * RECORD_DOUBLES + Count.PACKETS]!,
    reason: denialReason(t, c, decision, result.models[0]?.name ?? 'reference'),
  };
}

/** Why the opening packet was dropped, in words. */
export function denialReason(t: ConnectionTable, c: number, decision: Decision, model: string): string {
  if (t.ctState[c] === CtState.INVALID) {
    return 'conntrack INVALID: the first packet seen of this connection does not open one (a reply, a stray ' +
      'segment or a bad checksum), and the dataplane drops invalid packets';
  }
  const d: DirectionDecision | null = !decision.egress.allowed ? decision.egress : !decision.ingress.allowed ? decision.ingress : null;
  if (d === null) return `the reference evaluator allows it, but the ${model} model dropped it`;
  const family = t.familyOf(c) === 6 ? 6 : 4;
  const peerIp = ipFromWords(family, t.key, d.direction === 'ingress' ? t.srcAt(c) : t.dstAt(c));
  const peer = d.direction === 'ingress' ? decision.srcPod : decision.dstPod;
  const proto = t.protoOf(c);
  const what = proto === 6 || proto === 17 || proto === 132 ? `${protocolName(proto)}/${t.dstPortOf(c)}` : protocolName(proto);
  const them = d.policies.length === 1 ? 'it' : 'them';
  const other = peer ?? `${formatIp(peerIp)} (no pod)`;
  const allows = d.direction === 'ingress' ? `${other} to reach it` : `it to reach ${other}`;
  return `${d.direction} of ${d.pod} is isolated by ${d.policies.join(', ')}, and no rule of ${them} allows ${allows} on ${what}`;
}

/**
 * Connections each policy allowed (it has an allowing rule) or isolated without allowing: per distinct
 * opening flow, its Decision's policies times the connections the flow opened.
 */
function policyHits(census: Census, index: ClusterIndex, decisions: DecisionsByFlow): ReplayReport['policies'] {
  const hits = new Map(index.cluster.policies.map((p) => [qualifiedName(p), { policy: qualifiedName(p), allowedConnections: 0, deniedConnections: 0 }]));
  const seen: string[] = [];
  for (let f = 0; f < census.flows.size; f++) {
    const opened = census.flows.sum(f, FlowSum.OPENED);
    if (opened === 0) continue;
    const d = decisions.of(f);
    // A policy counts once per connection, though several of its rules (or both directions) allow it.
    seen.length = 0;
    for (const dir of [d.egress, d.ingress]) {
      for (const r of dir.allowedBy) {
        if (seen.includes(r.policy)) continue;
        seen.push(r.policy);
        hits.get(r.policy)!.allowedConnections += opened;
      }
      if (!dir.allowed) for (const p of dir.policies) hits.get(p)!.deniedConnections += opened;
    }
  }
  return [...hits.values()];
}

/**
 * Addresses seen at either end of a connection that are no pod's, by packets, the top 100 (ties in the
 * order the addresses first appear in the table). The pod lookup is once per distinct address.
 */
function addressesWithoutPod(addresses: TupleInterner, index: ClusterIndex): { addressesWithoutPod: { address: string; packets: number }[]; addressesWithoutPodTotal: number } {
  const podless: { id: number; ip: IpAddr; packets: number }[] = [];
  for (let id = 0; id < addresses.size; id++) {
    const ip = addressAt(addresses, id);
    if (!podAt(index, ip)) podless.push({ id, ip, packets: addresses.sum(id, 0) });
  }
  const top = podless.sort((a, b) => b.packets - a.packets || a.id - b.id).slice(0, 100);
  return { addressesWithoutPod: top.map((e) => ({ address: formatIp(e.ip), packets: e.packets })), addressesWithoutPodTotal: podless.length };
}
