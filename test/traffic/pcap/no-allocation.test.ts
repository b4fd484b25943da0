/**
 * fill() allocates nothing per record. The detector: between collections the V8 heap only grows, by what
 * was allocated, and a young-generation collection (a scavenge) shows up as a `gc` performance entry (no
 * --expose-gc needed). Only scavenges count, as in test/conntrack/support/gc-counter.ts: per-record
 * garbage shows up there first, while a major collection may finish inside the loop for reasons of its
 * own (a clean CI run once saw one, freeing 59 MB of an earlier test's garbage: heap growth -59 MB). A loop
 * over a million records that allocates one small object (~32 bytes) per record either grows the heap by
 * ~32 MB or triggers collections; an allocation-free loop does neither. The control loop, which does
 * allocate per record, proves the detector fires.
 *
 * The same check runs a second time on the compiled JavaScript in a plain node process: under vitest the
 * modules are transformed and V8 inlines differently, and one per-packet allocation (a uint32 returned
 * from a helper V8 did not inline, boxed into a heap number) showed only there.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { FlowBatch } from '../../../src/wire/flow-batch.js';
import { openCapture, type CaptureReader } from '../../../src/traffic/pcap/reader.js';
import { MIN_CHUNK } from '../../../src/traffic/pcap/capture.js';
import { ngHeader, ngPacket, pcapFile, udpFrame } from './build.js';
import { readAll } from './rows.js';

const dir = mkdtempSync(join(tmpdir(), 'netsieve-noalloc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RECORDS = 100000;
const PASSES = 10;
// Every shipped Ethernet packet (TCP, UDP, SCTP, ICMP echo and errors, IPv4 options and fragments, IPv6
// extension headers, fragments with 32-bit ids, malformed, ARP) in turn, so every decoder path runs.
const CAPTURES = join(import.meta.dirname, '../../../captures/formats');
const samples = ['ethernet-le-usec.pcap', 'ip-edge-cases.pcap', 'ethernet-vlan-qinq.pcap']
  .flatMap((name) => readAll(join(CAPTURES, name)).rows.map((r) => Buffer.from(r.bytes, 'hex')));
const frames = Array.from({ length: RECORDS }, (_, i) => (i % 2 === 0 ? udpFrame(64, i % 65536) : samples[(i >> 1) % samples.length]!));
const pcapPath = join(dir, 'a.pcap');
const ngPath = join(dir, 'a.pcapng');
writeFileSync(pcapPath, pcapFile(frames));
writeFileSync(ngPath, Buffer.concat([ngHeader(), ...frames.map((f, i) => ngPacket(f, BigInt(i) * 1000n + 1700000000000000000n))]));

interface Measure { gcs: number; heapGrowth: number }

/** Runs `work` and returns the collections that started while it ran, and how much the heap grew. */
async function measure(work: () => void): Promise<Measure> {
  const entries: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  const t0 = performance.now();
  const before = process.memoryUsage().heapUsed;
  work();
  const heapGrowth = process.memoryUsage().heapUsed - before;
  const t1 = performance.now();
  await new Promise((r) => setTimeout(r, 100)); // gc entries are delivered asynchronously
  entries.push(...obs.takeRecords());
  obs.disconnect();
  return { gcs: entries.filter((e) => e.startTime >= t0 && e.startTime <= t1 && isScavenge(e)).length, heapGrowth };
}

function isScavenge(e: PerformanceEntry): boolean {
  return (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR;
}

/** No collection, and less than 2 bytes per record of heap growth (chunk reads make a few small objects). */
function allocationFree(m: Measure): boolean {
  return m.gcs === 0 && m.heapGrowth < 2 * PASSES * RECORDS;
}

let sink: unknown = null;

function readAllPasses(path: string, perRecord: ((i: number) => void) | null): () => number {
  // Readers (each with its chunk) are opened before the measured loop: opening allocates, reading must not.
  const readers: CaptureReader[] = Array.from({ length: PASSES }, () => openCapture(path, { chunkSize: MIN_CHUNK }));
  const batch = new FlowBatch(256);
  return () => {
    let total = 0;
    for (const reader of readers) {
      for (let n = reader.fill(batch); n > 0; n = reader.fill(batch)) {
        total += n;
        if (perRecord !== null) for (let i = 0; i < n; i++) perRecord(batch.srcPort[i]!);
      }
      reader.close();
    }
    return total;
  };
}

describe('fill() allocates nothing per record', () => {
  for (const [name, path] of [['classic pcap', pcapPath], ['pcapng', ngPath]] as const) {
    it(`${name}: ${PASSES * RECORDS} records decoded without allocating`, async () => {
      readAllPasses(path, null)(); // warm up: compile the hot loops
      const run = readAllPasses(path, null);
      let total = 0;
      const m = await measure(() => { total = run(); });
      expect(total).toBe(PASSES * RECORDS);
      expect(m, JSON.stringify(m)).toSatisfy(allocationFree);
    });
  }

  it('the detector fires when one small object is allocated per record', async () => {
    const run = readAllPasses(pcapPath, (port) => { sink = { port }; });
    const m = await measure(() => { run(); });
    expect(sink).not.toBeNull();
    expect(m, JSON.stringify(m)).not.toSatisfy(allocationFree);
  });
});

/** The measuring loop as a standalone script over the compiled modules: argv build, pcap, pcapng. */
const SCRIPT = `
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
const [build, ...paths] = process.argv.slice(2);
const { openCapture } = await import(build + '/src/traffic/pcap/reader.js');
const { FlowBatch } = await import(build + '/src/wire/flow-batch.js');
let sink = null;
async function measure(path, allocate) {
  const readers = Array.from({ length: ${PASSES} }, () => openCapture(path, { chunkSize: ${MIN_CHUNK} }));
  const batch = new FlowBatch(256);
  const entries = [];
  const obs = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  // An empty young generation to start from, and one large enough (--min-semi-space-size, below) that the
  // few small objects a chunk read makes (about 0.3 bytes a record) never fill it within a pass: with the
  // warm-up's garbage in it, or shrunk to its least by a collection, one scavenge fell inside a measured
  // pass now and then (CI runs of 2026-11-27: {"gcs":1,"heapGrowth":-910968} and {"gcs":1,"heapGrowth":341424}).
  globalThis.gc();
  const t0 = performance.now(), before = process.memoryUsage().heapUsed;
  let total = 0;
  for (const r of readers) {
    for (let n = r.fill(batch); n > 0; n = r.fill(batch)) {
      total += n;
      if (allocate) for (let i = 0; i < n; i++) sink = { port: batch.srcPort[i] };
    }
    r.close();
  }
  const heapGrowth = process.memoryUsage().heapUsed - before, t1 = performance.now();
  await new Promise((r) => setTimeout(r, 100));
  entries.push(...obs.takeRecords());
  obs.disconnect();
  const scavenges = entries.filter((e) => e.startTime >= t0 && e.startTime <= t1 && e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR);
  return { total, gcs: scavenges.length, heapGrowth };
}
for (const p of paths) await measure(p, false); // warm up
const out = {};
for (const p of paths) out[p] = await measure(p, false);
out.control = await measure(paths[0], true);
console.log(JSON.stringify(out));
`;

describe('fill() allocates nothing per record, compiled, in a plain node process', () => {
  it('classic pcap and pcapng, with the allocating control', () => {
    const root = join(import.meta.dirname, '../../..');
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const build = join(dir, 'build');
    execFileSync(process.execPath, [tsc, '--outDir', build, '--rootDir', root, '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node',
      join(root, 'src/traffic/pcap/reader.ts')], { cwd: root, stdio: 'pipe' });
    const script = join(dir, 'measure.mjs');
    writeFileSync(script, SCRIPT);
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--min-semi-space-size=16', script, build, pcapPath, ngPath], { encoding: 'utf8' })) as
      Record<string, Measure & { total: number }>;
    for (const path of [pcapPath, ngPath]) {
      expect(out[path]!.total).toBe(PASSES * RECORDS);
      expect(out[path], `${path}: ${JSON.stringify(out[path])}`).toSatisfy(allocationFree);
    }
    expect(out.control, JSON.stringify(out.control)).not.toSatisfy(allocationFree);
  });
});
