/**
 * The replay report's connection figures (verdict counts, denied connections listed with their reasons,
 * policy hits, addresses that are no pod's) against the rules restated the plain way: the reference
 * evaluator asked per connection, addresses keyed by their text. The report computes them from distinct
 * flows and addresses instead; the two must agree exactly, order and ties included.
 */
import { getHeapStatistics, GCProfiler } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { indexCluster, podAt, type ClusterIndex } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, type Flow } from '../../src/model/evaluate.js';
import { formatIp, ipFromWords, ipKey, ipToWords, mustParseIp, type IpAddr } from '../../src/model/ip.js';
import { qualifiedName } from '../../src/model/types.js';
import { Count, RECORD_DOUBLES, ConnectionTable } from '../../src/replay/connections.js';
import { buildServiceNat } from '../../src/replay/nat.js';
import type { ReplayResult } from '../../src/replay/replay.js';
import { takeCensus } from '../../src/report/connection-census.js';
import { buildReplayReport, denialReason, protocolName, type ReplayReport } from '../../src/report/replay-report.js';
import { CtState, FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { randomScenario } from '../support/random-cluster.js';
import { makeRng, type Rng } from '../support/rng.js';
import { cluster, netpol, ns, pod } from '../support/builders.js';
import { emptyTrackerSummary } from '../../src/replay/trackers.js';

interface Opening { src: IpAddr; dst: IpAddr; proto: number; srcPort: number; dstPort: number; verdict: number; ctState: number; packets: number; junk?: boolean }

/** A connection table holding these openings, one connection each (in this order). */
function tableOf(openings: readonly Opening[]): ConnectionTable {
  const t = new ConnectionTable();
  const b = new FlowBatch(1);
  openings.forEach((o, k) => {
    b.family[0] = o.src.family;
    ipToWords(o.src, b.src, 0);
    ipToWords(o.dst, b.dst, 0);
    // Words an IPv4 address does not use, filled: nothing may read them as part of the address.
    if (o.junk && o.src.family === 4) b.src.set([7, 8, 9], 1);
    b.proto[0] = o.proto;
    b.verdict[0] = o.verdict;
    b.ctState[0] = o.ctState;
    b.recordIndex[0] = k;
    const c = t.lookupOrAdd(b, 0, b.src, b.dst, o.srcPort, o.dstPort, o.proto);
    expect(c).toBe(k);
    t.counts[c * RECORD_DOUBLES + Count.PACKETS] = o.packets;
  });
  return t;
}

function resultOf(t: ConnectionTable, index: ClusterIndex): ReplayResult {
  return {
    packets: 0, ipPackets: 0, nonIp: 0, malformed: 0, laterFragments: 0, icmpErrors: 0, writeSkipped: 0, disagreements: 0,
    disagreementList: [], models: [{ name: 'ebpf', accepted: 0, dropped: 0, orphanFragments: 0, mapEntryHits: null, tracker: emptyTrackerSummary() }],
    connections: t, nat: buildServiceNat(index), damage: null, seconds: 0, cpuSeconds: 0,
  };
}

/** The figures restated per connection: one evaluate() per connection, addresses keyed by text. */
function expected(t: ConnectionTable, index: ClusterIndex, limit: number): Partial<ReplayReport> {
  const hits = new Map(index.cluster.policies.map((p) => [qualifiedName(p), { policy: qualifiedName(p), allowedConnections: 0, deniedConnections: 0 }]));
  const podless = new Map<string, { address: string; packets: number }>();
  const denied: ReplayReport['denied'] = [];
  let allowedCount = 0;
  let deniedCount = 0;
  for (let c = 0; c < t.count; c++) {
    const family = t.familyOf(c) === 6 ? 6 : 4;
    const src = ipFromWords(family, t.key, t.srcAt(c));
    const dst = ipFromWords(family, t.key, t.dstAt(c));
    const proto = t.protoOf(c);
    const flow: Flow = { src, dst, protocol: proto, dstPort: proto === 6 || proto === 17 || proto === 132 ? t.dstPortOf(c) : 0 };
    const decision = evaluate(index, flow, DEFAULT_EVAL_OPTIONS);
    const packets = t.counts[c * RECORD_DOUBLES + Count.PACKETS]!;
    if (t.verdict[c] === Verdict.ACCEPT) allowedCount++;
    if (t.verdict[c] === Verdict.DROP && deniedCount++ < limit) {
      denied.push({
        src: formatIp(src), srcPort: t.srcPortOf(c), dst: formatIp(dst), dstPort: t.dstPortOf(c), protocol: protocolName(proto),
        srcPod: decision.srcPod, dstPod: decision.dstPod, service: null, packets, reason: denialReason(t, c, decision, 'ebpf'),
      });
    }
    if (t.ctState[c] === CtState.NEW) {
      const allowing = new Set([...decision.egress.allowedBy, ...decision.ingress.allowedBy].map((r) => r.policy));
      for (const p of allowing) hits.get(p)!.allowedConnections++;
      for (const dir of [decision.egress, decision.ingress]) if (!dir.allowed) for (const p of dir.policies) hits.get(p)!.deniedConnections++;
    }
    for (const ip of [src, dst]) {
      if (podAt(index, ip)) continue;
      const entry = podless.get(ipKey(ip)) ?? { address: formatIp(ip), packets: 0 };
      entry.packets += packets;
      podless.set(ipKey(ip), entry);
    }
  }
  const byPackets = [...podless.values()].sort((a, b) => b.packets - a.packets);
  return {
    connections: { total: t.count, allowed: allowedCount, denied: deniedCount, untracked: 0 },
    denied, deniedListed: denied.length, policies: [...hits.values()],
    addressesWithoutPod: byPackets.slice(0, 100), addressesWithoutPodTotal: podless.size,
  };
}

function actual(t: ConnectionTable, index: ClusterIndex, limit: number): Partial<ReplayReport> {
  const r = buildReplayReport(resultOf(t, index), index, DEFAULT_EVAL_OPTIONS, limit);
  const { connections, denied, deniedListed, policies, addressesWithoutPod, addressesWithoutPodTotal } = r;
  return { connections, denied, deniedListed, policies, addressesWithoutPod, addressesWithoutPodTotal };
}

/** Each flow opened by one to three connections, in a shuffled order; states, verdicts and packet counts mixed. */
function openingsOf(flows: readonly Flow[], rng: Rng): Opening[] {
  const openings: Opening[] = [];
  let port = 1024;
  for (const f of flows) {
    for (let n = rng.int(1, 3); n > 0; n--) {
      openings.push({
        src: f.src, dst: f.dst, proto: f.protocol, srcPort: port++,
        // Not a port for ICMP and others: the evaluator must not see it.
        dstPort: f.protocol === 6 || f.protocol === 17 || f.protocol === 132 ? f.dstPort : rng.int(0, 9),
        verdict: rng.pick([Verdict.ACCEPT, Verdict.DROP, Verdict.DROP, Verdict.NONE]),
        ctState: rng.pick([CtState.NEW, CtState.NEW, CtState.ESTABLISHED, CtState.INVALID]),
        packets: rng.int(1, 4), junk: rng.chance(0.2),
      });
    }
  }
  for (let i = openings.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [openings[i], openings[j]] = [openings[j]!, openings[i]!];
  }
  return openings;
}

describe('replay report: connection figures from distinct flows equal the per-connection rules', () => {
  it('on random dual-stack clusters with pods, nodes, hostNetwork pods and outside addresses', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const { cluster: c, flows } = randomScenario(seed, { flowsPerScenario: 150 });
      const index = indexCluster(c);
      const rng = makeRng(seed);
      const t = tableOf(openingsOf(flows, rng));
      for (const limit of [0, 7, t.count]) {
        const want = expected(t, index, limit);
        expect({ seed, limit, ...actual(t, index, limit) }).toEqual({ seed, limit, ...want });
      }
    }
  });

  it('addresses without a pod: packets at both ends counted twice, ties in order of first appearance, IPv6 included', () => {
    const index = indexCluster(cluster({
      namespaces: [ns('a')],
      pods: [pod('a/web', { labels: { app: 'web' }, ips: ['10.244.0.2', 'fd00::2'] })],
      policies: [netpol('a/deny', { podSelector: {}, policyTypes: ['Ingress'] })],
    }));
    const ip = mustParseIp;
    const open = (src: string, dst: string, packets: number, junk = false): Opening => ({
      src: ip(src), dst: ip(dst), proto: 6, srcPort: 40000 + packets, dstPort: 80, verdict: Verdict.DROP, ctState: CtState.NEW, packets, junk,
    });
    const t = tableOf([
      open('192.0.2.9', '10.244.0.2', 2), open('2001:db8::1', 'fd00::2', 5), open('192.0.2.7', '10.244.0.2', 5, true),
      open('198.51.100.1', '198.51.100.1', 3), open('192.0.2.9', '10.244.0.2', 3),
    ]);
    const r = actual(t, index, 1);
    expect(r.addressesWithoutPod).toEqual([
      { address: '198.51.100.1', packets: 6 }, { address: '192.0.2.9', packets: 5 }, { address: '2001:db8::1', packets: 5 },
      { address: '192.0.2.7', packets: 5 },
    ]);
    expect(r.addressesWithoutPodTotal).toBe(4);
    // Four connections to the pod opened, all denied by a/deny (the fourth is between outside addresses).
    expect(r.policies).toEqual([{ policy: 'a/deny', allowedConnections: 0, deniedConnections: 4 }]);
    expect(r.connections).toEqual({ total: 5, allowed: 0, denied: 5, untracked: 0 });
    expect(r.denied!.map((d) => [d.src, d.dstPod])).toEqual([['192.0.2.9', 'a/web']]);
  });
});

/** Bytes allocated while `run` runs: the heap's growth plus what each GC in between freed. */
function bytesAllocated(run: () => void): number {
  const profiler = new GCProfiler();
  const before = getHeapStatistics().used_heap_size;
  profiler.start();
  run();
  const { statistics } = profiler.stop();
  const after = getHeapStatistics().used_heap_size;
  const freed = statistics.reduce((n, gc) => n + gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize, 0);
  return after - before + freed;
}

describe('replay report: the pass over the connections allocates per distinct flow, not per connection', () => {
  it('200,000 connections of 160 flows: well under a byte per connection', () => {
    // Distinct connections (source and destination ports vary) between 40 address pairs, on 4 ports.
    const t = new ConnectionTable();
    const b = new FlowBatch(1);
    b.family[0] = 4;
    for (let k = 0; k < 200_000; k++) {
      b.src[0] = 0x0af40100 + (k % 40);
      b.dst[0] = 0x0af40200 + (k % 5);
      const c = t.lookupOrAdd(b, 0, b.src, b.dst, 1 + (k % 60_000), 80 + Math.floor(k / 60_000), 6);
      t.counts[c * RECORD_DOUBLES + Count.PACKETS] = 1 + (k % 9);
    }
    expect(t.count).toBe(200_000);
    expect(takeCensus(t, 100).flows.size).toBe(160);
    const bytes = bytesAllocated(() => takeCensus(t, 100));
    // A string key or an object per connection would be 40 bytes or more each: 8 MB here.
    expect(bytes / t.count).toBeLessThan(1);
  });
});
