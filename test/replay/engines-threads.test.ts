/**
 * `replay --engine native|js` and `--threads N` change how the work is done, never the result: the JSON
 * reports must be equal apart from the timing fields, and the written pcaps byte for byte. Run through
 * the built CLI (the workers are the compiled dist/src/replay/worker.js).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { loadNative } from '../../src/native/load.js';
import { SEED_CLUSTER, SEED_PCAP, tempDir, writeCapture } from './helpers.js';
import { setAddress, type PacketSpec } from '../../src/wire/craft.js';

/**
 * UDP datagrams in fragments, IPv4 and IPv6, from 16 sources to the seed's backend and frontend
 * pods (many address pairs, so several shards): every first fragment, then their later fragments in
 * another order, and 40 later fragments whose first never came. Few datagrams on purpose: the
 * tracker's first-fragment table is direct-mapped (1,024 slots), and a collision there replaces an
 * entry, differently when the datagrams are spread over shards (see src/replay/shard.ts).
 */
function fragmentFrames(): ((s: PacketSpec) => void)[] {
  const flow = (k: number, later: boolean, id = k + 1) => (s: PacketSpec) => {
    const v6 = k % 2 === 1;
    s.family = v6 ? 6 : 4;
    setAddress(s.src, v6 ? `fd00:99::${k + 1}` : `192.168.${k}.1`);
    setAddress(s.dst, k % 3 === 0 ? (v6 ? 'fd00:99::ffff' : '10.244.0.3') : (v6 ? 'fd00:98::1' : '10.244.0.2'));
    s.proto = 17;
    s.srcPort = 5000 + k;
    s.dstPort = k % 4 === 0 ? 80 : 53;
    s.ipId = id;
    s.payloadLength = later ? 8 : 16;
    s.fragmentOffset = later ? 24 : 0;
    s.moreFragments = !later;
  };
  const frames: ((s: PacketSpec) => void)[] = [];
  for (let k = 0; k < 16; k++) frames.push(flow(k, false));
  for (let k = 15; k >= 0; k--) frames.push(flow(k, true), flow(k, true));
  for (let k = 0; k < 40; k++) frames.push(flow(k, true, 5000 + k));
  return frames;
}

const hasAddon = loadNative().addon !== null;
const TIMING = ['seconds', 'cpuSeconds', 'packetsPerSecond'];

interface Run { status: number | null; json: Record<string, unknown>; stderr: string }

function replay(capture: string, cluster: string[], args: string[]): Run {
  const r = runCli(['replay', capture, '--cluster', ...cluster, '--output', 'json', ...args]);
  const json = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const k of TIMING) {
    expect(json).toHaveProperty(k);
    delete json[k];
  }
  // A tracker's peak and count are per shard (src/replay/trackers.ts); capacity and evictions are the run's.
  const trackers = json['conntrack'] as Record<string, { capacity: number; evictions: number; trackers: number }>;
  expect(Object.values(trackers).every((t) => t.trackers === threadsOf(args))).toBe(true);
  json['conntrack'] = Object.fromEntries(Object.entries(trackers).map(([m, t]) => [m, { capacity: t.capacity, evictions: t.evictions }]));
  return { status: r.status, json, stderr: r.stderr };
}

function threadsOf(args: string[]): number {
  const at = args.indexOf('--threads');
  return at < 0 ? 1 : Number(args[at + 1]);
}

/** The same capture under each argument set: equal reports and exit codes, and no engine fallback notice. */
function expectSame(capture: string, cluster: string[], variants: string[][]): Run {
  const [first, ...rest] = variants.map((v) => replay(capture, cluster, v));
  for (const r of [first!, ...rest]) expect(r.stderr).not.toMatch(/native engine unavailable/);
  for (const r of rest) {
    expect(r.status).toBe(first!.status);
    expect(r.json).toEqual(first!.json);
  }
  return first!;
}

let dir = '';
let manyCluster = '';
let many = '';
let dual = '';

beforeAll(() => {
  dir = tempDir();
  manyCluster = join(dir, 'c.json');
  many = join(dir, 'many.pcap');
  dual = join(dir, 'dual.pcap');
  const gen = runCli(['cluster-gen', '--pods', '200', '--namespaces', '10', '--policies', '20', '--seed', '4', '-o', manyCluster]);
  expect(gen.status).toBe(0);
  expect(runCli(['synth', '--cluster', manyCluster, '--packets', '60000', '--seed', '7', '-o', many]).status).toBe(0);
  const d = runCli(['synth', '--cluster', SEED_CLUSTER, '--pod-cidr6', 'fd00:10::/64', '--packets', '20000', '--seed', '3', '--size', 'imix', '-o', dual]);
  expect(d.status).toBe(0);
}, 120_000);

describe.skipIf(!hasAddon)('replay --engine: native and js give the same report', () => {
  it('on the seed capture, every model', () => {
    const r = expectSame(SEED_PCAP, [SEED_CLUSTER], [['--model', 'all', '--engine', 'js'], ['--model', 'all', '--engine', 'native'], ['--model', 'all']]);
    expect(r.json['packets']).toBe(28);
  });

  it('on dual-stack synth traffic (IPv4 and IPv6, IMIX), each model alone and all', () => {
    for (const model of ['reference', 'iptables', 'ebpf', 'all']) {
      const r = expectSame(dual, [SEED_CLUSTER, '--pod-cidr6', 'fd00:10::/64'], [['--model', model, '--engine', 'js'], ['--model', model, '--engine', 'native']]);
      expect(r.json['packets']).toBe(20000);
    }
  }, 120_000);

  it('on a damaged capture: the same report up to the damage and exit 3', () => {
    const cut = join(dir, 'cut.pcap');
    const bytes = readFileSync(many);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const r = expectSame(cut, [manyCluster], [['--model', 'all', '--engine', 'js'], ['--model', 'all', '--engine', 'native']]);
    expect(r.status).toBe(3);
    expect(r.json['damage']).not.toBeNull();
  }, 120_000);
});

describe('replay --threads: sharded by connection, the same report as one thread', () => {
  const engines = hasAddon ? ['js', 'native'] : ['js'];

  it('many connections, every model: 1, 2 and 3 threads', () => {
    for (const engine of engines) {
      const r = expectSame(many, [manyCluster], [1, 2, 3].map((t) => ['--model', 'all', '--engine', engine, '--threads', String(t)]));
      expect((r.json['connections'] as { total: number }).total).toBeGreaterThan(5000);
      expect((r.json['denied'] as unknown[]).length).toBe(100);
    }
  }, 240_000);

  it('fragments: later fragments (no ports) meet their first in its shard; orphans stay orphans', () => {
    const frag = join(dir, 'frag.pcap');
    writeCapture(frag, fragmentFrames());
    const r = expectSame(frag, [SEED_CLUSTER], [1, 2, 3].map((t) => ['--model', 'all', '--threads', String(t)]));
    expect(r.json['laterFragments']).toBe(72);
    expect(r.json['fragmentsWithoutFirst']).toBe(40);
    expect((r.json['verdicts'] as Record<string, { accepted: number }>)['reference']!.accepted).toBeGreaterThan(10);
  }, 120_000);

  it('dual-stack traffic (IPv6, ICMP errors), and a damaged capture', () => {
    expectSame(dual, [SEED_CLUSTER, '--pod-cidr6', 'fd00:10::/64'], [1, 2].map((t) => ['--model', 'all', '--threads', String(t)]));
    const cut = join(dir, 'cut2.pcap');
    const bytes = readFileSync(many);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.3)));
    const r = expectSame(cut, [manyCluster], [1, 2].map((t) => ['--model', 'ebpf', '--threads', String(t)]));
    expect(r.status).toBe(3);
  }, 120_000);

  it('writes the same allowed and dropped pcaps, byte for byte', () => {
    const out = (t: number, kind: string) => join(dir, `${kind}-${t}.pcap`);
    for (const t of [1, 2]) {
      const r = runCli(['replay', many, '--cluster', manyCluster, '--model', 'iptables', '--threads', String(t), '--output', 'json',
        '--write-allowed', out(t, 'a'), '--write-dropped', out(t, 'd')]);
      expect(r.status).toBe(0);
    }
    for (const kind of ['a', 'd']) {
      const one = readFileSync(out(1, kind));
      expect(one.length).toBeGreaterThan(100_000);
      expect(readFileSync(out(2, kind)).equals(one)).toBe(true);
    }
  }, 120_000);

  it('refuses a bad --threads or --engine with exit 2 and a message naming the flag', () => {
    for (const [flag, value] of [['--threads', '0'], ['--threads', 'two'], ['--engine', 'gpu']]) {
      const r = runCli(['replay', SEED_PCAP, '--cluster', SEED_CLUSTER, flag!, value!]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(flag);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
