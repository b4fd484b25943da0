/**
 * The Service address filters (src/replay/nat.ts v4Low/v4Span, the IPv4 ClusterIPs' range; native/src/
 * hot.h vip_maybe, that range and then a bit per address) let a row skip the Service table only when no
 * Service can have either of its addresses. Four Services whose ClusterIPs span a range (both ends and a
 * middle one), conversations to each of them, one to an address inside that range that is no Service's,
 * and pod-to-pod traffic: exactly the four Service conversations are DNATed, each to its own Service, by
 * the TypeScript engine, and the fused native replay on one thread and on lanes gives the same result.
 * The same for IPv6 Services, which the native filter tells by a bit per address hash.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadClusterFromText } from '../../src/manifests/load.js';
import type { ModelName } from '../../src/match/dataplane.js';
import { indexCluster, type ClusterIndex } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { formatIp } from '../../src/model/ip.js';
import { replay, type ReplayOptions, type ReplayResult } from '../../src/replay/replay.js';
import { SEED_CLUSTER, tcpConversation, tempDir, writeCapture } from '../replay/helpers.js';
import { comparableReplay as comparable, requireAddon } from './support.js';
import { synthBytes, writeTemp } from './walk-support.js';
import { generateCluster } from '../../src/clustergen/generate.js';
import type { PacketSpec } from '../../src/wire/craft.js';

const addon = requireAddon();

/** ClusterIPs at both ends of the range and inside it (the seed's own Service gets one from the pool). */
const EXTRA_VIPS = ['10.96.0.1', '10.96.200.7', '10.111.3.4'];
/** Inside the ClusterIPs' range, but no Service's. */
const NOT_A_SERVICE = '10.100.0.5';

function extraServices(): string {
  return EXTRA_VIPS.map((ip, k) => `---
apiVersion: v1
kind: Service
metadata:
  name: backend-${k}
  namespace: default
spec:
  clusterIP: ${ip}
  selector:
    app: backend
  ports:
    - port: 80
      targetPort: http
`).join('');
}

let index: ClusterIndex;
let capture = '';
let vips: string[] = [];

beforeAll(() => {
  index = indexCluster(loadClusterFromText(readFileSync(SEED_CLUSTER, 'utf8') + extraServices(), {}, 'services.yaml').cluster);
  vips = index.cluster.services.map((s) => formatIp(s.clusterIPs[0]!));
  const pod = (name: string): string => formatIp(index.cluster.pods.find((p) => p.name.startsWith(name))!.ips[0]!);
  const conversations = [
    ...vips.map((vip, k) => tcpConversation(pod('frontend'), vip, 41000 + k, 80)),
    tcpConversation(pod('frontend'), NOT_A_SERVICE, 41100, 80),
    tcpConversation(pod('frontend'), pod('backend'), 41200, 80),
    tcpConversation(pod('other'), pod('backend'), 41300, 80),
  ];
  capture = join(tempDir(), 'services.pcap');
  writeCapture(capture, interleave(conversations));
});

/** The conversations' packets, one of each in turn. */
function interleave(conversations: ((s: PacketSpec) => void)[][]): ((s: PacketSpec) => void)[] {
  const frames: ((s: PacketSpec) => void)[] = [];
  for (let k = 0; k < conversations[0]!.length; k++) for (const c of conversations) frames.push(c[k]!);
  return frames;
}

/** Each connection's Service port (-1: none), in opening order. */
function servedBy(r: ReplayResult): number[] {
  return Array.from(r.connections.service.subarray(0, r.connections.count));
}

function expectFourServed(r: ReplayResult, what: string): void {
  const served = servedBy(r);
  expect(served, what).toHaveLength(7);
  expect(served.filter((s) => s >= 0), `${what}: every Service conversation DNATed`).toHaveLength(4);
  expect(new Set(served.filter((s) => s >= 0)).size, `${what}: each to its own Service`).toBe(4);
  expect(served.filter((s) => s < 0), `${what}: the address between the ClusterIPs and the pod-to-pod pairs`).toHaveLength(3);
}

describe('the Service address filter', () => {
  it('TypeScript engine: four Services spanning a range, each one\'s conversation DNATed, the address between them left alone', () => {
    expect(vips).toHaveLength(4);
    expect(vips).toEqual(expect.arrayContaining(EXTRA_VIPS));
    for (const model of ['ebpf', 'iptables'] as ModelName[]) {
      expectFourServed(replay([capture], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon: null }), model);
    }
  });

  it.skipIf(addon === null)('native engine, one thread and two lanes: the TypeScript engine\'s result', () => {
    for (const model of ['ebpf', 'iptables'] as ModelName[]) {
      const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model] };
      const js = comparable(replay([capture], { ...base, addon: null }));
      const one = replay([capture], { ...base, addon });
      expectFourServed(one, `${model}, native`);
      expect(comparable(one), `${model}: native vs TypeScript`).toEqual(js);
      for (const laneWalk of ['split', 'handover'] as const) {
        expect(comparable(replay([capture], { ...base, addon, threads: 2, laneWalk })), `${model}: two lanes, ${laneWalk}`).toEqual(js);
      }
    }
  });

  it.skipIf(addon === null)('a generated cluster with Services (cluster-gen --services) and its synth traffic: native equals TypeScript', () => {
    const generated = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 150, namespaces: 6, policies: 14, seed: 7, services: 20 })), {}, 'generated.json').cluster);
    expect(generated.cluster.services).toHaveLength(20);
    const path = writeTemp(synthBytes(generated, 20000, 'imix', 7), 'services-synth.pcap');
    for (const model of ['ebpf', 'iptables'] as ModelName[]) {
      const base: ReplayOptions = { index: generated, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model] };
      const js = replay([path], { ...base, addon: null });
      expect(servedBy(js).filter((c) => c >= 0).length, `${model}: connections through a Service`).toBeGreaterThan(50);
      expect(comparable(replay([path], { ...base, addon })), `${model}: native vs TypeScript`).toEqual(comparable(js));
      expect(comparable(replay([path], { ...base, addon, threads: 2 })), `${model}: two lanes`).toEqual(comparable(js));
    }
  });

  it.skipIf(addon === null)('IPv6: two Services, an address beside them that is no Service\'s, pod-to-pod pairs: native equals TypeScript', () => {
    const pod = (name: string, app: string, ip: string) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: ${app}}}
spec: {containers: [{name: main, image: app, ports: [{name: http, containerPort: 80}]}]}
status: {podIP: "${ip}", podIPs: [{ip: "${ip}"}]}
`;
    const service = (name: string, ip: string) => `---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec: {clusterIP: "${ip}", selector: {app: backend}, ports: [{name: http, port: 80, targetPort: http}]}
`;
    const text = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n' + pod('frontend-0', 'frontend', 'fd00:244::2') +
      pod('backend-0', 'backend', 'fd00:244::3') + pod('other-0', 'other', 'fd00:244::4') +
      service('backend', 'fd00:10:96::10') + service('backend-b', 'fd00:10:96::200');
    const v6 = indexCluster(loadClusterFromText(text, {}, 'v6.yaml').cluster);
    const six = (frames: ((s: PacketSpec) => void)[]) => frames.map((f) => (s: PacketSpec) => { s.family = 6; f(s); });
    const conversations = [
      six(tcpConversation('fd00:244::2', 'fd00:10:96::10', 42000, 80)), six(tcpConversation('fd00:244::4', 'fd00:10:96::200', 42001, 80)),
      six(tcpConversation('fd00:244::2', 'fd00:10:96::99', 42002, 80)), six(tcpConversation('fd00:244::2', 'fd00:244::3', 42003, 80)),
    ];
    const frames = interleave(conversations);
    const path = join(tempDir(), 'services-v6.pcap');
    writeCapture(path, frames);
    for (const model of ['ebpf', 'iptables'] as ModelName[]) {
      const base: ReplayOptions = { index: v6, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model] };
      const js = replay([path], { ...base, addon: null });
      expect(js.ipPackets, model).toBe(frames.length);
      const served = servedBy(js);
      expect(served, model).toHaveLength(4);
      expect(served.filter((x) => x >= 0), `${model}: both Service conversations DNATed`).toHaveLength(2);
      expect(comparable(replay([path], { ...base, addon })), `${model}: native vs TypeScript`).toEqual(comparable(js));
      expect(comparable(replay([path], { ...base, addon, threads: 2 })), `${model}: two lanes`).toEqual(comparable(js));
    }
  });
});
