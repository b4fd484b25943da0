/**
 * The fused native replay (src/replay/fused.ts: walk, decode, DNAT, conntrack, the model and connection
 * grouping in C, one call per batch) gives the staged pipeline's result exactly: every counter, every
 * model count and policy-map hit, the damage, and the connection table column for column (the C table is
 * copied out at the end, so a drift in its hashes, order or opening-packet fields shows here). Checked
 * against the staged native engine and the TypeScript engine, on both compiled models, over seeded
 * clusters and synth traffic, Service traffic with ICMP errors and fragments, every shipped capture
 * format (pcapng goes through the TypeScript block walk), damaged captures, tiny batches and a
 * connection cap small enough to overflow; and the pcaps it writes equal the staged ones byte for byte.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { loadCluster, loadClusterFromText } from '../../src/manifests/load.js';
import type { ModelName } from '../../src/match/dataplane.js';
import { loadIptables, type IptablesMatcher } from '../../src/match/iptables.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { indexCluster, type ClusterIndex } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { formatIp } from '../../src/model/ip.js';
import { canFuse } from '../../src/replay/fused.js';
import { buildRowModel, nativeHandleOf, type RowModel } from '../../src/replay/models.js';
import { DEFAULT_CONNTRACK_CAPACITY, DEFAULT_TIMEOUTS, newConntrack, type Conntrack, type Timeouts } from '../../src/conntrack/index.js';
import { Counter } from '../../src/conntrack/state.js';
import { canFuseLanes } from '../../src/replay/fused-lanes.js';
import { trackerWarnings } from '../../src/replay/trackers.js';
import { buildReplayReport } from '../../src/report/replay-report.js';
import { replay, type ReplayOptions, type ReplayResult } from '../../src/replay/replay.js';
import { bindNativeLanes, bindNativeReplay, CONNECTION_COLUMNS, natHandle } from '../../src/native/replay.js';
import { nativeIptables, type NativeModelHandle } from '../../src/native/engine.js';
import { WalkSlot } from '../../src/native/layout.js';
import { hugeAllocator, nativeTables, transferableHugeAllocator } from '../../src/native/load.js';
import { applyNat, buildServiceNat } from '../../src/replay/nat.js';
import { shardOf } from '../../src/replay/shard.js';
import { openCapture } from '../../src/traffic/pcap/reader.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { IcmpType, setAddress, TcpFlag, type PacketSpec } from '../../src/wire/craft.js';
import { SEED_CLUSTER, SEED_PCAP, tcpConversation, tempDir, writeCapture } from '../replay/helpers.js';
import { comparableReplay as comparable, connectionRows, requireAddon } from './support.js';
import { synthBytes, writeTemp } from './walk-support.js';
import { ngHeader, ngPacket } from '../traffic/pcap/build.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;
/**
 * The models the fused replay runs, on one thread and on lanes (--threads): the reference model too, its
 * evaluator called back from C (from a lane on another thread, through the JS thread: native/src/desk.h).
 */
const MODELS: ModelName[] = ['ebpf', 'iptables', 'reference'];

/** A little-endian Ethernet pcap's records as Linux cooked (SLL, link type 113) ones: the same packets. */
function linuxCooked(ethernet: Uint8Array): Uint8Array {
  const src = Buffer.from(ethernet.buffer, ethernet.byteOffset, ethernet.byteLength);
  const parts: Buffer[] = [Buffer.from(src.subarray(0, 24))];
  parts[0]!.writeUInt32LE(113, 20);
  for (let at = 24; at + 16 <= src.length;) {
    const caplen = src.readUInt32LE(at + 8);
    if (at + 16 + caplen > src.length) break;
    const frame = src.subarray(at + 16, at + 16 + caplen);
    const header = Buffer.alloc(16 + 16);
    src.copy(header, 0, at, at + 16);
    header.writeUInt32LE(caplen + 2, 8);
    header.writeUInt32LE(src.readUInt32LE(at + 12) + 2, 12);
    header.writeUInt16BE(1, 16 + 2); // ARPHRD_ETHER
    header.writeUInt16BE(6, 16 + 4);
    frame.copy(header, 16 + 6, 6, 12);
    header.writeUInt16BE(frame.readUInt16BE(12), 16 + 14);
    parts.push(header, Buffer.from(frame.subarray(14)));
    at += 16 + caplen;
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** Fused, staged native and TypeScript replays of `paths`: the same result; returns the fused one. */
function expectSameReplay(paths: string[], index: ClusterIndex, model: ModelName, extra: Partial<ReplayOptions> = {}): ReplayResult {
  const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], ...extra };
  expect(canFuse({ ...base, addon })).toBe(true);
  const fused = replay(paths, { ...base, addon });
  const staged = replay(paths, { ...base, addon, fuse: false });
  const js = replay(paths, { ...base, addon: null });
  const f = comparable(fused);
  expect(f, `${paths.join(',')} ${model}: fused vs staged native`).toEqual(comparable(staged));
  expect(f, `${paths.join(',')} ${model}: fused vs TypeScript`).toEqual(comparable(js));
  // The native tracker fills its table as the TypeScript one does: the same peak read off both.
  expect(fused.models[0]!.tracker.peakEntries, 'peak entries').toBeGreaterThan(0);
  for (const other of [staged, js]) expect(other.models[0]!.tracker, `${model}: tracker`).toEqual(fused.models[0]!.tracker);
  return fused;
}

let seed: ClusterIndex;
let dir = '';
let mixed = '';

/**
 * Service traffic (DNAT both ways), ICMP errors quoting a known flow and an unknown one, first and later
 * fragments (some without a first), and plain pod-to-pod conversations, interleaved.
 */
function mixedFrames(index: ClusterIndex): ((s: PacketSpec) => void)[] {
  const ip = (name: string): string => formatIp(index.cluster.pods.find((p) => p.name.startsWith(name))!.ips[0]!);
  const service = index.cluster.services[0]!;
  const vip = formatIp(service.clusterIPs[0]!);
  const frontend = ip('frontend'), backend = ip('backend'), other = ip('other');
  const frames: ((s: PacketSpec) => void)[] = [];
  const a = tcpConversation(frontend, vip, 40001, service.ports[0]!.port);
  const b = tcpConversation(other, vip, 40002, service.ports[0]!.port);
  const c = tcpConversation(frontend, backend, 40003, 8080);
  for (let k = 0; k < 10; k++) frames.push(a[k]!, b[k]!, c[k]!);
  const icmpError = (quotedSrc: string, quotedDst: string, sport: number) => (s: PacketSpec) => {
    setAddress(s.src, '192.168.7.1');
    setAddress(s.dst, quotedSrc);
    s.proto = 1;
    s.icmpType = IcmpType.DEST_UNREACHABLE;
    s.icmpCode = 4;
    const inner = { ...s, src: new Uint32Array(4), dst: new Uint32Array(4), inner: null } as PacketSpec;
    setAddress(inner.src, quotedSrc);
    setAddress(inner.dst, quotedDst);
    inner.proto = 6;
    inner.srcPort = sport;
    inner.dstPort = 8080;
    inner.tcpFlags = TcpFlag.ACK;
    s.inner = inner;
  };
  frames.push(icmpError(frontend, backend, 40003), icmpError(other, backend, 49999));
  const fragment = (k: number, later: boolean, id: number) => (s: PacketSpec) => {
    setAddress(s.src, k % 2 === 0 ? frontend : other);
    setAddress(s.dst, backend);
    s.proto = 17;
    s.srcPort = 5000 + k;
    s.dstPort = 53;
    s.ipId = id;
    s.payloadLength = later ? 8 : 16;
    s.fragmentOffset = later ? 24 : 0;
    s.moreFragments = !later;
  };
  for (let k = 0; k < 6; k++) frames.push(fragment(k, false, k + 1));
  for (let k = 0; k < 6; k++) frames.push(fragment(k, true, k + 1), fragment(k, true, 900 + k));
  return frames;
}

beforeAll(() => {
  seed = indexCluster(loadCluster([SEED_CLUSTER]).cluster);
  dir = tempDir();
  mixed = join(dir, 'mixed.pcap');
  writeCapture(mixed, mixedFrames(seed));
});

d('the fused native replay equals the staged pipeline and the TypeScript engine', () => {
  it('Service traffic, ICMP errors and fragments, and the seed capture, every model', () => {
    for (const model of MODELS) {
      const r = expectSameReplay([mixed, SEED_PCAP], seed, model);
      expect(r.icmpErrors).toBe(2);
      expect(r.laterFragments).toBe(12);
      expect(r.models[0]!.orphanFragments).toBe(6);
      // Both Service conversations were DNATed to the backend: their connections carry the service port.
      const t = r.connections;
      const served = Array.from(t.service.subarray(0, t.count)).filter((s) => s >= 0).length;
      expect(served).toBe(2);
      expect(t.firstFile.subarray(0, t.count)).toContain(1);
    }
  });

  it('seeded clusters and synth traffic, 64-byte and IMIX, batch sizes down to one row', () => {
    let connections = 0;
    for (let s = 1; s <= 6; s++) {
      const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 120, namespaces: 6, policies: 14, seed: s }))).cluster);
      const path = writeTemp(synthBytes(index, 6000, s % 2 ? '64' : 'imix', s), `synth-${s}.pcap`);
      for (const model of MODELS) {
        const r = expectSameReplay([path], index, model, { batchSize: [4096, 1, 7, 256, 33, 1000][s - 1] });
        connections += r.connections.count;
        expect(r.models[0]!.accepted + r.models[0]!.dropped).toBe(r.ipPackets);
      }
    }
    expect(connections).toBeGreaterThan(6000);
  }, 180_000);

  it('a connection cap that overflows: the same connections kept, the same overflow counted', () => {
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 80, namespaces: 4, policies: 10, seed: 11 }))).cluster);
    const path = writeTemp(synthBytes(index, 5000, '64', 11), 'cap.pcap');
    for (const model of MODELS) {
      const r = expectSameReplay([path], index, model, { maxConnections: 50 });
      expect(r.connections.count).toBe(50);
      expect(r.connections.overflow).toBeGreaterThan(100);
    }
  });

  it('a conntrack table small enough to evict all the time: entries reused by other flows count to their own connections', () => {
    // The fused replay counts a packet to its tracker entry when that entry knows its connection
    // (replay.cc account_row). An evicted or deleted entry is soon reused by another flow: its counts
    // must have reached their connection first, and the new flow must start unlinked.
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 80, namespaces: 4, policies: 10, seed: 13 }))).cluster);
    const path = writeTemp(synthBytes(index, 8000, 'imix', 13), 'small-ct.pcap');
    for (const model of MODELS) {
      const trackers: Conntrack[] = [];
      const rowModels = (name: ModelName): RowModel => {
        const built = buildRowModel(name, index, DEFAULT_EVAL_OPTIONS);
        const conntrack = newConntrack({ capacity: 40 });
        trackers.push(conntrack);
        return { ...built, conntrack };
      };
      expectSameReplay([path], index, model, { rowModels });
      const removed = trackers.map((t) => t.counters[Counter.EVICTIONS]! + t.counters[Counter.DELETES]! + t.counters[Counter.EXPIRATIONS]!);
      expect(removed.every((n) => n > 1000), `${model}: entries removed per replay ${removed.join(', ')}`).toBe(true);
    }
  });

  it('--threads, split walk: a record\'s lane told from its bytes is the lane its full decode, DNAT and shardOf give', () => {
    // Service traffic both ways (the VIP's records must take the full way), ICMP errors, fragments, the
    // seed capture (IPv6, ARP), synth traffic of the seed cluster (its one Service) and of a generated one.
    const generated = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 120, namespaces: 6, policies: 10, seed: 3 }))).cluster);
    const cases: [string, ClusterIndex][] = [
      [mixed, seed], [SEED_PCAP, seed], [writeTemp(synthBytes(seed, 20000, 'imix', 3), 'quick-seed.pcap'), seed],
      [writeTemp(synthBytes(generated, 20000, '64', 3), 'quick-generated.pcap'), generated],
    ];
    let told = 0, full = 0, viaVip = 0;
    for (const [path, index] of cases) {
      const bytes = new Uint8Array(readFileSync(path));
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const magic = view.getUint32(0, true);
      const state = new Float64Array(WalkSlot.COUNT);
      state[WalkSlot.POS] = 24;
      state[WalkSlot.END] = bytes.length;
      state[WalkSlot.LE] = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d ? 1 : 0;
      state[WalkSlot.LINK_TYPE] = view.getUint32(20, state[WalkSlot.LE] === 1);
      state[WalkSlot.LIMIT] = 262144;
      const nat = buildServiceNat(index);
      const vips = new Set(Array.from({ length: nat.count }, (_, s) => (nat.family[s] === 4 ? nat.addr[s * 4]! : -1)));
      const batch = new FlowBatch(40000);
      const whole = { decode: true, chunkSize: bytes.length + 1024 }; // every record in one fill
      const reader = openCapture(path, whole);
      try { reader.fill(batch); } finally { reader.close(); }
      for (const shards of [2, 3, 4]) {
        const quick = new Int8Array(batch.count + 1);
        expect(addon!.quickShards(natHandle(addon!, nat), bytes, state, shards, quick), path).toBe(batch.count);
        for (let i = 0; i < batch.count; i++) {
          if (batch.family[i] !== 0) applyNat(nat, batch, i);
          const want = batch.family[i] === 0 ? 0 : shardOf(batch, i, shards);
          if (quick[i] === -1) { full++; continue; }
          told++;
          expect(quick[i], `${path} record ${i}, ${shards} lanes`).toBe(want);
          expect(batch.proto[i], 'ICMP goes the full way').not.toBe(1);
        }
        // Restore the addresses DNAT rewrote, for the next lane count.
        const again = openCapture(path, whole);
        try { again.fill(batch); } finally { again.close(); }
        for (let i = 0; i < batch.count; i++) {
          if (batch.family[i] === 4 && (vips.has(batch.src[i * 4]!) || vips.has(batch.dst[i * 4]!))) {
            viaVip++;
            expect(quick[i], `${path} record ${i} touches a Service address`).toBe(-1);
          }
        }
      }
    }
    expect(told).toBeGreaterThan(100_000);
    expect(full).toBeGreaterThan(1000);
    expect(viaVip).toBeGreaterThan(1000);
  });

  it('a table that fills is reported (peak, evictions), and with --threads the replay warns that verdicts may differ', () => {
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 80, namespaces: 4, policies: 10, seed: 13 }))).cluster);
    const path = writeTemp(synthBytes(index, 8000, 'imix', 13), 'filling-ct.pcap');
    const withCapacity = (capacity: number) => (name: ModelName): RowModel => ({ ...buildRowModel(name, index, DEFAULT_EVAL_OPTIONS), conntrack: newConntrack({ capacity }) });
    for (const model of MODELS) {
      const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon };
      const roomy = replay([path], { ...base, rowModels: withCapacity(65_536) }).models[0]!.tracker;
      expect(roomy, `${model}: nothing fills`).toMatchObject({ capacity: 65_536, trackers: 1, evictions: 0 });
      expect(roomy.peakEntries).toBeGreaterThan(100);
      expect(trackerWarnings([{ name: model, tracker: roomy }])).toEqual([]);

      const full = replay([path], { ...base, rowModels: withCapacity(40) }).models[0]!.tracker;
      expect(full).toMatchObject({ capacity: 40, trackers: 1, peakEntries: 40 });
      expect(full.evictions).toBeGreaterThan(100);
      const [filled, ...none] = trackerWarnings([{ name: model, tracker: full }]);
      expect(none).toEqual([]);
      expect(filled).toMatch(new RegExp(`^the ${model} model's conntrack table \\(40 entries\\) filled: [\\d,]+ entries were evicted to make room, as a node's early drop would \\(--conntrack-max sets the size\\)$`));
      expect(filled).not.toMatch(/threads/);

      const lanes = replay([path], { ...base, rowModels: withCapacity(40), threads: 2 }).models[0]!.tracker;
      expect(lanes).toMatchObject({ capacity: 40, trackers: 2, peakEntries: 80 });
      expect(trackerWarnings([{ name: model, tracker: lanes }])[0]).toMatch(/with 2 threads each shard has a table of its own, so verdicts may differ/);

      // Each lane below the capacity, the two together above it: one thread's table would have filled.
      const spread = replay([path], { ...base, rowModels: withCapacity(65_536), threads: 2 }).models[0]!.tracker;
      expect(spread.peakEntries).toBeGreaterThanOrEqual(roomy.peakEntries);
      // The staged workers (no addon) sum their trackers the same way (theirs have the default capacity).
      const workers = replay([path], { ...base, addon: null, threads: 2 }).models[0]!.tracker;
      expect(workers).toEqual({ capacity: DEFAULT_CONNTRACK_CAPACITY, trackers: 2, peakEntries: spread.peakEntries, evictions: 0 });
      const between = Math.ceil(spread.peakEntries * 0.6);
      const close = replay([path], { ...base, rowModels: withCapacity(between), threads: 2 }).models[0]!.tracker;
      expect(close, `${model}: no lane fills at ${between}`).toMatchObject({ evictions: 0, trackers: 2, peakEntries: spread.peakEntries });
      expect(trackerWarnings([{ name: model, tracker: close }])).toEqual([
        `the ${model} model's conntrack table (${between.toLocaleString('en-US')} entries) may have filled on one thread: the 2 shards held up to ` +
        `${spread.peakEntries.toLocaleString('en-US')} entries together, so verdicts may differ from one thread's (replay with --threads 1 for those)`,
      ]);
    }
  });

  it('every shipped capture format and damaged capture (pcapng through the TypeScript block walk)', () => {
    const files = ['formats', 'damaged'].flatMap((sub) => readdirSync(join('captures', sub)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join('captures', sub, f)));
    let replayed = 0, damaged = 0;
    for (const path of files) {
      let ok = true;
      try {
        replay([path], { index: seed, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon: null });
      } catch {
        ok = false; // refused outright (not a capture, header cut): nothing to compare
      }
      if (!ok) continue;
      for (const model of MODELS) {
        const r = expectSameReplay([path], seed, model, { batchSize: 5 });
        if (r.damage) damaged++;
      }
      replayed++;
    }
    expect(replayed).toBeGreaterThan(25);
    expect(damaged).toBeGreaterThan(6);
  }, 120_000);

  it('writes the same allowed and dropped pcaps as the staged pipeline, byte for byte', () => {
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 60, namespaces: 3, policies: 8, seed: 21 }))).cluster);
    const path = writeTemp(synthBytes(index, 3000, 'imix', 21), 'write.pcap');
    for (const model of MODELS) {
      const out = (kind: string, how: string) => join(dir, `${model}-${kind}-${how}.pcap`);
      const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon };
      replay([path], { ...base, writeAllowed: out('allowed', 'fused'), writeDropped: out('dropped', 'fused') });
      replay([path], { ...base, fuse: false, writeAllowed: out('allowed', 'staged'), writeDropped: out('dropped', 'staged') });
      for (const kind of ['allowed', 'dropped']) {
        const fused = readFileSync(out(kind, 'fused'));
        expect(fused.length).toBeGreaterThan(1000);
        expect(fused.equals(readFileSync(out(kind, 'staged')))).toBe(true);
      }
    }
  });

  it('--threads: lanes (one reader, each lane its shard) give the one-thread result, table, hits and report', () => {
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 150, namespaces: 8, policies: 16, seed: 31 }))).cluster);
    const path = writeTemp(synthBytes(index, 20000, 'imix', 31), 'threads.pcap');
    const cut = writeTemp(readFileSync(path).subarray(0, 600_000), 'threads-cut.pcap');
    // Linux cooked records: no record's lane is told from its bytes, so the split walk hands them over
    // (chunk by chunk, trying again every 64 batches), then splits again at the Ethernet capture after.
    const cooked = writeTemp(linuxCooked(readFileSync(path).subarray(0, 200_000)), 'threads-cooked.pcap');
    // The seed capture as pcapng: its rows are decoded by the TypeScript block walk, then handed to the lanes.
    for (const model of MODELS) {
      for (const paths of [[path], [mixed, cut], [mixed, join('captures', 'formats', 'ethernet-le.pcapng')], [cooked, path]]) {
        const idx = paths[0] === mixed ? seed : index;
        for (const batchSize of [512, 7]) {
          const base: ReplayOptions = { index: idx, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon, batchSize };
          const run = (threads: number, laneWalk?: 'split' | 'handover'): ReplayResult => {
            expect(canFuseLanes({ ...base, threads })).toBe(threads > 1);
            return replay(paths, { ...base, threads, laneWalk });
          };
          const report = (r: ReplayResult): unknown => {
            const { seconds: _s, cpuSeconds: _c, packetsPerSecond: _p, conntrack, ...rest } = buildReplayReport(r, idx, DEFAULT_EVAL_OPTIONS, 1000);
            return { ...rest, evictions: Object.values(conntrack).map((t) => t.evictions) }; // peaks are per shard
          };
          const one = run(1);
          expect(one.ipPackets, paths.join(',')).toBeGreaterThan(paths[0] === cooked ? 20_000 : 50);
          // Classic pcaps: each lane walks the records for its own (split), or this thread hands them over.
          for (const threads of [2, 3]) {
            for (const laneWalk of ['split', 'handover'] as const) {
              const many = run(threads, laneWalk);
              expect(comparable(many), `${paths.join(',')} ${model} ${threads} threads ${laneWalk}, batch ${batchSize}`).toEqual(comparable(one));
              expect(report(many)).toEqual(report(one));
            }
          }
        }
      }
    }
    // A cap the merged table reaches (and one shard alone too): the first connections in opening order kept.
    for (const maxConnections of [900, 300]) {
      const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon, maxConnections };
      const one = replay([path], base);
      const two = replay([path], { ...base, threads: 2 });
      expect(one.connections.count).toBe(maxConnections);
      expect(comparable(two)).toEqual(comparable(one));
    }
    // Lanes hand each row's verdict back when pcaps are written: the same pcaps as one thread, byte for byte.
    for (const model of MODELS) {
      const out = (kind: string, threads: number) => join(dir, `lanes-${model}-${kind}-${threads}.pcap`);
      for (const threads of [1, 2, 3]) {
        replay([path], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon, threads, writeAllowed: out('allowed', threads), writeDropped: out('dropped', threads) });
      }
      for (const kind of ['allowed', 'dropped']) {
        const one = readFileSync(out(kind, 1));
        expect(one.length).toBeGreaterThan(1000);
        expect(readFileSync(out(kind, 2)).equals(one)).toBe(true);
        expect(readFileSync(out(kind, 3)).equals(one)).toBe(true);
      }
    }
    // Several models: the staged sharded replay, whose main thread sums the workers' per-entry hits.
    const staged: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf', 'iptables'], addon };
    const hits = (r: ReplayResult): number[] => Array.from(r.models[0]!.mapEntryHits!);
    const one = hits(replay([path], staged));
    expect(one.filter((h) => h > 0).length).toBeGreaterThan(20);
    expect(hits(replay([path], { ...staged, threads: 2 }))).toEqual(one);
  }, 180_000);

  it('--threads, split walk from a pipe: chunks that outgrow the first window get a window of their own', () => {
    // A pipe's first read brings at most its 64 KiB buffer, so the windows are laid out for 64 KiB of
    // records; each later chunk is that read plus the record the last one cut, past 64 KiB, so windows
    // get mappings of their own (addon-lanes.cc windowRoom), again and again over 1.4 MB.
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 150, namespaces: 8, policies: 16, seed: 37 }))).cluster);
    const path = writeTemp(synthBytes(index, 20000, 'imix', 37), 'pipe-source.pcap');
    expect(readFileSync(path).length).toBeGreaterThan(1_000_000);
    const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon };
    const one = replay([path], base);
    for (const threads of [2, 3]) {
      const fifo = join(dir, `pipe-${threads}`);
      execFileSync('mkfifo', [fifo]);
      const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', path, fifo], { stdio: 'ignore' });
      try {
        const piped = replay([fifo], { ...base, threads, laneWalk: 'split' });
        expect(piped.packets).toBe(one.packets);
        expect(comparable(piped), `${threads} threads from a pipe`).toEqual(comparable(one));
      } finally {
        writer.kill();
      }
    }
  });

  it('--threads, reference model: a flow is asked once whichever lane meets it, and a failing evaluator is an error', () => {
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 150, namespaces: 8, policies: 16, seed: 41 }))).cluster);
    const path = writeTemp(synthBytes(index, 20000, 'imix', 41), 'lanes-reference.pcap');
    type Asked = RowModel & { verdictOf: (b: FlowBatch, i: number) => number };
    /** A replay whose evaluator counts its calls, and from call `failAt` on throws or answers 7. */
    const run = (threads: number, failAt = Infinity, how: 'throw' | 'wrong' = 'throw') => {
      let calls = 0;
      const rowModels = (name: ModelName): RowModel => {
        const m = buildRowModel(name, index, DEFAULT_EVAL_OPTIONS) as Asked;
        return { ...m, verdictOf: (b: FlowBatch, i: number) => {
          if (++calls < failAt) return m.verdictOf(b, i);
          if (how === 'throw') throw new Error('evaluator broke');
          return 7;
        } } as Asked;
      };
      const result = replay([path], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['reference'], addon, rowModels, threads });
      return { result, calls };
    };
    const one = run(1);
    expect(one.calls).toBeGreaterThan(500);
    for (const threads of [2, 3]) {
      const many = run(threads);
      // Lanes keep caches of their own, but a flow (addresses, protocol, port) is one shard's: asked once.
      expect(many.calls, `${threads} threads`).toBe(one.calls);
      expect(comparable(many.result)).toEqual(comparable(one.result));
      // Halfway through, lanes on other threads asking too: the error comes back, and no thread hangs.
      expect(() => run(threads, one.calls >> 1)).toThrow('evaluator broke');
      expect(() => run(threads, one.calls >> 1, 'wrong')).toThrow('native reference model: the evaluator answered no verdict');
    }
    // A lane's reference model needs a handle of its own, bound with a question batch.
    const batch = new FlowBatch(64);
    const nm = nativeHandleOf(addon!, buildRowModel('reference', index, DEFAULT_EVAL_OPTIONS), batch)!;
    const nat = buildServiceNat(index);
    const lane = (m: NativeModelHandle) => bindNativeReplay(m, newConntrack({ capacity: 1024 }), nat, batch, new Int32Array(64), 1000);
    const refused = /a lane's reference model needs a question batch, and a handle of its own/;
    expect(() => bindNativeLanes([lane(nm), lane(nm.lane(1))], false)).toThrow(refused);
    const shared = nm.lane(0);
    expect(() => bindNativeLanes([lane(shared), lane(shared)], false)).toThrow(refused);
    expect(() => bindNativeLanes([lane(nm.lane(0)), lane(nm.lane(1))], false)).not.toThrow();
  });

  it('--threads: every lane tracks with the first lane\'s timeouts (a caller\'s own tracker)', () => {
    // Timeouts so short that every entry has expired by its connection's next packet: each packet starts
    // over. A lane tracking with the default timeouts instead would hold its connections.
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 80, namespaces: 4, policies: 10, seed: 17 }))).cluster);
    const path = writeTemp(synthBytes(index, 6000, 'imix', 17), 'lane-timeouts.pcap');
    const tiny = 1e-9;
    const timeouts: Timeouts = {
      tcp: DEFAULT_TIMEOUTS.tcp.map(() => tiny), tcpUnacknowledged: tiny, udpUnreplied: tiny, udpReplied: tiny,
      udpStreamAfter: tiny, icmp: tiny, icmpv6: tiny, generic: tiny, greUnreplied: tiny, greReplied: tiny,
      sctpCookieWait: tiny, sctpEstablished: tiny, fragment: tiny,
    };
    for (const model of MODELS) {
      const rowModels = (name: ModelName): RowModel => ({ ...buildRowModel(name, index, DEFAULT_EVAL_OPTIONS), conntrack: newConntrack({ timeouts }) });
      const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon, rowModels };
      const one = replay([path], base);
      const defaults = replay([path], { ...base, rowModels: undefined });
      expect(comparable(defaults), `${model}: the timeouts make a difference`).not.toEqual(comparable(one));
      for (const threads of [2, 3]) expect(comparable(replay([path], { ...base, threads })), `${model}, ${threads} threads`).toEqual(comparable(one));
    }
  });

  it('--threads: timestamps past 32 bits of seconds (pcapng) reach the lanes whole', () => {
    // The synth capture's frames as pcapng, the first half 20 s before 2^32 seconds and the rest 30 s after
    // it: a lane that kept only 32 bits of seconds would see time run backwards and no entry expire.
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 120, namespaces: 6, policies: 12, seed: 7 }))).cluster);
    const bytes = synthBytes(index, 6000, 'imix', 7);
    const classic = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const parts = [ngHeader()];
    for (let at = 24, k = 0; at + 16 <= classic.length; k++) {
      const len = classic.readUInt32LE(at + 8);
      const seconds = 2 ** 32 - 20 + (k < 3000 ? 0 : 50);
      parts.push(ngPacket(classic.subarray(at + 16, at + 16 + len), BigInt(seconds) * 1_000_000n + BigInt(k)));
      at += 16 + len;
    }
    const path = writeTemp(Buffer.concat(parts), 'late.pcapng');
    for (const model of MODELS) {
      const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon, batchSize: 1024 };
      const one = replay([path], base);
      expect(one.packets).toBe(6000);
      for (const threads of [2, 3]) expect(comparable(replay([path], { ...base, threads })), `${model} ${threads} threads`).toEqual(comparable(one));
    }
  });

  it('on lanes the iptables rule counters add up to one thread\'s (the lanes after the first count apart)', () => {
    const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 120, namespaces: 6, policies: 12, seed: 5 }))).cluster);
    const path = writeTemp(synthBytes(index, 6000, 'imix', 5), 'rule-counters.pcap');
    const counters = (threads: number): number[][] => {
      let matcher: IptablesMatcher | undefined;
      const rowModels = (name: ModelName): RowModel => {
        const m = buildRowModel(name, index, DEFAULT_EVAL_OPTIONS);
        matcher = (m as RowModel & { matcher: IptablesMatcher }).matcher;
        return m;
      };
      replay([path], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['iptables'], addon, rowModels, threads });
      const { v4, v6 } = matcher!;
      return [v4.packets, v4.bytes, v6.packets, v6.bytes].map((a) => Array.from(a));
    };
    const one = counters(1);
    expect(one[0]!.reduce((a, b) => a + b, 0)).toBeGreaterThan(6000);
    for (const threads of [2, 3]) expect(counters(threads), `${threads} threads`).toEqual(one);
  });

  it('the connection columns have the same bytes per row in C and TypeScript (the table is handed over as it is)', () => {
    expect(addon!.connectionColumnBytes).toEqual(CONNECTION_COLUMNS.map(([, bytes]) => bytes));
  });

  it.each(['hugeBuffer', 'sparseBuffer'] as const)('%s gives zeroed memory of the size asked for, and refuses nonsense', (name) => {
    const b = new Uint8Array(addon![name](3_000_001));
    expect(b.length).toBe(3_000_001);
    expect(b.every((x) => x === 0)).toBe(true);
    b[3_000_000] = 7;
    expect(b[3_000_000]).toBe(7);
    expect(() => addon![name](-1)).toThrow(new RegExp(`native ${name}: bytes must be 0 to 64 GiB`));
  });

  it('sparseBuffer memory is never in huge pages; hugeBuffer memory is, where the kernel gives them', () => {
    const anonHugeKiB = (): number => Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))![1]);
    const touched = (buffer: ArrayBuffer): Uint8Array => {
      const bytes = new Uint8Array(buffer);
      for (let i = 0; i < bytes.length; i += 4096) bytes[i] = 1;
      return bytes;
    };
    const before = anonHugeKiB();
    const huge = touched(addon!.hugeBuffer(16 << 20));
    const afterHuge = anonHugeKiB();
    const sparse = touched(addon!.sparseBuffer(16 << 20));
    const afterSparse = anonHugeKiB();
    expect(afterSparse - afterHuge).toBeLessThanOrEqual(0);
    // The control: on a kernel that gives huge pages (THP "madvise" or "always"), hugeBuffer's 16 MiB are in them.
    const thp = '/sys/kernel/mm/transparent_hugepage/enabled';
    if (existsSync(thp) && !readFileSync(thp, 'utf8').includes('[never]')) expect(afterHuge - before).toBeGreaterThanOrEqual(14 << 10);
    expect(huge.length + sparse.length).toBe(32 << 20);
  });

  it('a quiet buffer is told to V8 when tellExternalMemory() is called, not when made (a sparse one never); a counted one at once', () => {
    addon!.tellExternalMemory(); // whatever earlier tests left untold
    const quiet = [addon!.hugeBuffer(3 << 20, true), addon!.sparseBuffer(5 << 20, true)];
    const counted = addon!.hugeBuffer(7 << 20);
    expect(addon!.tellExternalMemory()).toBe(3 << 20);
    expect(addon!.tellExternalMemory()).toBe(0);
    expect(new Uint8Array(quiet[0]!).every((x) => x === 0) && quiet[1]!.byteLength === 5 << 20 && counted.byteLength === 7 << 20).toBe(true);
  });

  it('the replay tables (trackers, model tables) are quiet, a worker\'s connection table is not, and replay() tells V8 as it returns', () => {
    addon!.tellExternalMemory();
    const tables = nativeTables(addon!);
    const held = [hugeAllocator(addon!)(2 << 20), tables.allocate!(4 << 20), tables.allocateSparse!(6 << 20), transferableHugeAllocator(addon!)(9 << 20)];
    expect(addon!.tellExternalMemory()).toBe(6 << 20);
    replay([SEED_PCAP], { index: seed, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon });
    expect(addon!.tellExternalMemory()).toBe(0);
    // (and the four buffers were held, unfinalized, through the counts above)
    expect(held.map((b) => b.byteLength)).toEqual([2 << 20, 4 << 20, 6 << 20, 9 << 20]);
  });

  it('the iptables model\'s rule counters, and each extra lane\'s, are in the addon\'s quiet sparse memory', () => {
    const sparse: number[] = [];
    const tables = nativeTables(addon!);
    const spied = { ...tables, allocateSparse: (bytes: number) => { sparse.push(bytes); return tables.allocateSparse!(bytes); } };
    const program = compileIptables(seed, DEFAULT_EVAL_OPTIONS);
    const m = loadIptables(program, spied);
    const counterBytes = (rules: number): number => 2 * Math.ceil((8 * rules) / 64) * 64;
    expect(sparse).toEqual([counterBytes(m.v4.packets.length), counterBytes(m.v6.packets.length)]);
    // A lane's own counters: through the addon's sparseBuffer, quiet.
    const calls: [number, boolean | undefined][] = [];
    const spyAddon = { ...addon!, sparseBuffer: (bytes: number, quiet?: boolean) => { calls.push([bytes, quiet]); return addon!.sparseBuffer(bytes, quiet); } };
    nativeIptables(spyAddon, m).lane(1);
    expect(calls).toEqual([[counterBytes(m.v4.packets.length), true], [counterBytes(m.v6.packets.length), true]]);
  });

  it('a table taken from C answers lookups afterwards (its index is built when first needed)', () => {
    const r = replay([SEED_PCAP], { index: seed, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon });
    const t = r.connections;
    expect(t.count).toBeGreaterThan(0);
    for (let c = 0; c < t.count; c++) {
      const k = t.key;
      expect(t.find(t.familyOf(c), k, t.srcAt(c), k, t.dstAt(c), t.srcPortOf(c), t.dstPortOf(c), t.protoOf(c))).toBe(c);
      expect(t.find(t.familyOf(c), k, t.dstAt(c), k, t.srcAt(c), t.dstPortOf(c), t.srcPortOf(c), t.protoOf(c))).toBe(c);
    }
    expect(t.find(t.familyOf(0), t.key, t.srcAt(0), t.key, t.dstAt(0), t.srcPortOf(0) ^ 1, t.dstPortOf(0), t.protoOf(0))).toBe(-1);
  });

  it('stays staged where it must: several models, no addon', () => {
    const base: ReplayOptions = { index: seed, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon };
    expect(canFuse(base)).toBe(true);
    expect(canFuse({ ...base, models: ['reference'] })).toBe(true);
    expect(canFuse({ ...base, models: ['ebpf', 'iptables'] })).toBe(false);
    expect(canFuse({ ...base, threads: 2 })).toBe(false);
    expect(canFuse({ ...base, addon: null })).toBe(false);
    expect(canFuse({ ...base, fuse: false })).toBe(false);
    expect(canFuseLanes({ ...base, threads: 2 })).toBe(true);
    expect(canFuseLanes({ ...base, threads: 2, writeDropped: '/tmp/x.pcap' })).toBe(true);
    expect(canFuseLanes(base)).toBe(false);
    expect(canFuseLanes({ ...base, threads: 2, models: ['reference'] })).toBe(true);
    expect(canFuseLanes({ ...base, threads: 2, models: ['reference'], addon: null })).toBe(false);
    expect(canFuseLanes({ ...base, threads: 2, models: ['ebpf', 'iptables'] })).toBe(false);
  });
});
