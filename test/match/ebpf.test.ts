/**
 * The eBPF matcher's building blocks and batch path: the open-addressing table, the LPM, classifyRow's
 * conntrack handling, costs, decidedBy and hit counters, and the proof that classifying allocates nothing.
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { BUCKET_WORDS, OpenHashTable, hashWords } from '../../src/match/hash-table.js';
import { LpmTable, type LpmEntry } from '../../src/match/lpm.js';
import { EbpfDataplane } from '../../src/match/ebpf-dataplane.js';
import { probeAll } from '../../src/match/probe.js';
import { ReferenceDataplane } from '../../src/match/reference.js';
import { classifyBatch, classifyRow, loadEbpf, Trace } from '../../src/match/ebpf.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, evaluate, type Flow } from '../../src/model/evaluate.js';
import { ipToWords, mustParseIp } from '../../src/model/ip.js';
import { CtState, FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { flow } from '../support/builders.js';
import { randomScenario } from '../support/random-cluster.js';
import { allocatingLoop, gcCountDuring, STRAY_COLLECTIONS } from '../conntrack/support/gc-counter.js';
import { EBPF_SCENARIOS } from '../compile/ebpf/scenarios.js';
import { FRONTEND, PRECEDENCE_CASES, precedenceFlow, precedenceProgram, type PrecedenceCase } from '../compile/ebpf/precedence.js';

function fillBatch(flows: readonly Flow[], ct: number = CtState.NEW): FlowBatch {
  const batch = new FlowBatch(flows.length);
  flows.forEach((f, i) => {
    batch.family[i] = f.src.family;
    ipToWords(f.src, batch.src, i * 4);
    ipToWords(f.dst, batch.dst, i * 4);
    batch.proto[i] = f.protocol;
    batch.dstPort[i] = f.dstPort;
    batch.ctState[i] = ct;
  });
  batch.count = flows.length;
  return batch;
}

describe('OpenHashTable', () => {
  it('finds every inserted key, misses absent ones, and counts the slots it inspects', () => {
    const t = new OpenHashTable(3, 1000, 1);
    const key = new Uint32Array(3);
    for (let i = 0; i < 1000; i++) { key.set([i, i * 7, 0xffffffff - i]); t.insert(key, 0, i); }
    expect(t.size).toBe(1000);
    expect(t.capacity).toBe(2048);
    for (let i = 0; i < 1000; i++) { key.set([i, i * 7, 0xffffffff - i]); expect(t.lookup(key, 0)).toBe(i); }
    key.set([5, 5, 5]);
    expect(t.lookup(key, 0)).toBe(-1);
    // Linear probing at load 1/2: at least one slot per lookup, and on average well under two.
    expect(t.probes).toBeGreaterThanOrEqual(1001);
    expect(t.probes / 1001).toBeLessThan(2);
  });

  it('replaces the value of a key inserted twice without growing', () => {
    const t = new OpenHashTable(1, 4);
    const key = Uint32Array.of(42);
    t.insert(key, 0, 1);
    t.insert(key, 0, 2);
    expect(t.size).toBe(1);
    expect(t.lookup(key, 0)).toBe(2);
  });

  it('lays slots out in 64-byte buckets and counts buckets: at a load under one half nearly every lookup reads one', () => {
    const t = new OpenHashTable(3, 10_000, 1);
    expect(t.slotsPerBucket).toBe(4);
    expect(t.words.length).toBe(t.buckets * BUCKET_WORDS);
    const key = new Uint32Array(3);
    for (let i = 0; i < 10_000; i++) { key.set([i, 7, i * 3]); t.insert(key, 0, i); }
    expect(t.size / t.capacity).toBeLessThanOrEqual(0.5);
    for (let i = 0; i < 10_000; i++) { key.set([i, 7, i * 3]); expect(t.lookup(key, 0)).toBe(i); }
    for (let i = 0; i < 10_000; i++) { key.set([i, 8, i * 3]); expect(t.lookup(key, 0)).toBe(-1); }
    // Hits and misses alike: at least one bucket each, and few runs longer than the home bucket.
    expect(t.probes).toBeGreaterThanOrEqual(20_000);
    expect(t.probes / 20_000).toBeLessThan(1.15);
  });

  it('hashes only the bits of hashMask: keys that differ elsewhere share a home bucket, and stay distinct keys', () => {
    const t = new OpenHashTable(3, 100, 1, [0xffffffff, ~0x1f >>> 0, 0]);
    const a = Uint32Array.of(300, (5 << 6) | 24, 0x60050);
    const b = Uint32Array.of(300, (5 << 6) | 0, 0);
    expect(t.homeBucket(a, 0)).toBe(t.homeBucket(b, 0));
    expect(t.homeBucket(a, 0)).not.toBe(t.homeBucket(Uint32Array.of(301, (5 << 6) | 24, 0x60050), 0));
    t.insert(a, 0, 1);
    t.insert(b, 0, 2);
    expect([t.lookup(a, 0), t.lookup(b, 0), t.size]).toEqual([1, 2, 2]);
  });

  it('spreads keys with a fixed seed: the same seed gives the same hash, another seed another', () => {
    const k = Uint32Array.of(1, 2, 3);
    expect(hashWords(k, 0, 3, 7)).toBe(hashWords(k, 0, 3, 7));
    expect(hashWords(k, 0, 3, 7)).not.toBe(hashWords(k, 0, 3, 8));
  });
});

describe('LpmTable', () => {
  const words = (text: string): Uint32Array => { const w = new Uint32Array(4); ipToWords(mustParseIp(text), w, 0); return w; };
  const table = new LpmTable([
    { family: 4, prefix: 8, words: words('10.0.0.0') },
    { family: 4, prefix: 24, words: words('10.1.2.0') },
    { family: 4, prefix: 32, words: words('10.1.2.3') },
    { family: 6, prefix: 0, words: words('::') },
    { family: 6, prefix: 64, words: words('fd00::') },
  ], [0, 1, 2, 3, 4]);

  it.each([
    ['10.1.2.3', 4, 2], ['10.1.2.4', 4, 1], ['10.9.9.9', 4, 0], ['11.0.0.1', 4, -1],
    ['fd00::1', 6, 4], ['fd01::1', 6, 3],
  ] as const)('%s (IPv%d) resolves to entry %d, the longest prefix holding it', (addr, family, want) => {
    expect(table.lookup(family, words(addr), 0)).toBe(want);
  });

  it('never matches an IPv4 prefix for an IPv6 address with the same leading words', () => {
    expect(table.lookup(6, words('a01:203::'), 0)).toBe(3);
  });
});

describe('LpmTable cost: one read per IPv4 lookup whatever the table size', () => {
  const words = (a: number): Uint32Array => Uint32Array.of(a >>> 0, 0, 0, 0);
  // `pods` /32s in 10.244.0.0/16, a node /32 elsewhere, `cidrs` /16 ipBlocks from 20.0.0.0, 0.0.0.0/1, a /24 outside the pods.
  function cluster(pods: number, cidrs: number): { lpm: LpmTable; entries: LpmEntry[] } {
    const entries: LpmEntry[] = [{ family: 4, prefix: 1, words: words(0) }, { family: 4, prefix: 24, words: words(0xc0a80100) }];
    entries.push({ family: 4, prefix: 32, words: words(0xc0a80005) }); // a node address, in no /16 table's pod block
    for (let i = 0; i < pods; i++) entries.push({ family: 4, prefix: 32, words: words(0x0af40000 + i * 3) });
    for (let i = 0; i < cidrs; i++) entries.push({ family: 4, prefix: 16, words: words(0x14000000 + (i << 16)) });
    return { lpm: new LpmTable(entries, entries.map((_, i) => i)), entries };
  }
  const cost = (lpm: LpmTable, addr: number): [number, number] => {
    const before = lpm.table.probes;
    const v = lpm.lookup(4, words(addr), 0);
    return [v, lpm.table.probes - before];
  };

  it.each([[10, 5], [20_000, 5_000]])('%d pods, %d /16 CIDRs: a pod, an address of the pod block, a /16 CIDR, /1 and nothing each cost one read', (pods, cidrs) => {
    const { lpm } = cluster(pods, cidrs);
    expect(cost(lpm, 0x0af40000 + 3 * (pods - 1))).toEqual([3 + pods - 1, 1]);
    expect(cost(lpm, 0x0af40001)).toEqual([0, 1]); // inside the pod block, not a pod: the /1
    expect(cost(lpm, 0x14000000 + ((cidrs - 1) << 16) + 77)).toEqual([3 + pods + cidrs - 1, 1]);
    expect(cost(lpm, 0x7f000001)).toEqual([0, 1]);
    expect(cost(lpm, 0x80000001)).toEqual([-1, 1]);
  });

  it('an address outside the pod block in a /16 holding a host or a longer prefix costs the probes the /16 table sends it to', () => {
    const { lpm } = cluster(100, 10);
    expect(cost(lpm, 0xc0a80005)).toEqual([2, 2]); // the node: /16 table, then the host probe
    const [v, n] = cost(lpm, 0xc0a80107); // in the /24: host probe (miss), then the search on /24
    expect(v).toBe(1);
    expect(n).toBeGreaterThanOrEqual(3);
  });
});

describe('classifyRow', () => {
  const cluster = EBPF_SCENARIOS['seed']!();
  const loaded = loadEbpf(compileEbpf(indexCluster(cluster), DEFAULT_EVAL_OPTIONS));
  const allowed = flow('10.244.0.3', '10.244.0.2', 'TCP', 80);
  const denied = flow('10.244.0.4', '10.244.0.2', 'TCP', 80);

  it('passes ESTABLISHED and RELATED without a lookup, drops INVALID, and decides NEW by the maps', () => {
    const batch = fillBatch([denied, denied, denied, denied, allowed]);
    [CtState.ESTABLISHED, CtState.RELATED, CtState.INVALID, CtState.NEW, CtState.NEW].forEach((s, i) => { batch.ctState[i] = s; });
    classifyBatch(loaded, batch);
    expect([...batch.verdict]).toEqual([Verdict.ACCEPT, Verdict.ACCEPT, Verdict.DROP, Verdict.DROP, Verdict.ACCEPT]);
    expect([...batch.cost.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect(batch.cost[3]).toBeGreaterThan(2);
    const entry = loaded.program.entries[batch.decidedBy[4]!]!;
    expect(entry).toMatchObject({ direction: 'ingress', protocol: 6, port: 80, prefixLength: 24 });
    expect(loaded.program.identities.find((x) => x.id === entry.identity)!.labels).toContain('k8s:app=frontend');
    expect(batch.decidedBy[3]).toBe(-1);
  });

  it('gives non-IP rows no verdict and counts a hit on the entry that decided', () => {
    const batch = fillBatch([allowed, allowed]);
    batch.family[1] = 0;
    const before = loaded.hits[loaded.program.entries.findIndex((e) => e.port === 80)]!;
    classifyRow(loaded, batch, 0);
    classifyRow(loaded, batch, 1);
    expect(batch.verdict[1]).toBe(Verdict.NONE);
    expect(loaded.hits[batch.decidedBy[0]!]).toBe(before + 1);
  });
});

describe('classifyBatch agrees with the reference on a random cluster, and allocates nothing', () => {
  const scenario = randomScenario(4242);
  const index = indexCluster(scenario.cluster);
  const loaded = loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS));
  const batch = fillBatch(scenario.flows);

  it('verdicts equal the reference evaluator row by row', () => {
    classifyBatch(loaded, batch);
    const want = scenario.flows.map((f) => (evaluate(index, f).allowed ? Verdict.ACCEPT : Verdict.DROP));
    expect([...batch.verdict]).toEqual(want);
    expect(want).toContain(Verdict.ACCEPT);
    expect(want).toContain(Verdict.DROP);
  });

  it('two million rows trigger no garbage collection (an allocating loop does)', async () => {
    const loop = (): void => { for (let r = 0; r < 2000; r++) classifyBatch(loaded, batch); };
    for (let r = 0; r < 3; r++) loop();
    expect(await gcCountDuring(loop)).toBeLessThanOrEqual(STRAY_COLLECTIONS);
    expect(await gcCountDuring(() => allocatingLoop(2_000_000))).toBeGreaterThan(STRAY_COLLECTIONS);
  });
});

describe('LpmTable against a brute-force longest match', () => {
  it('agrees on 20,000 random addresses over 300 random prefixes of both families', () => {
    let state = 12345;
    const rand = (): number => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state; };
    const entries: { family: 4 | 6; prefix: number; words: Uint32Array }[] = [];
    for (let i = 0; i < 300; i++) {
      const family = (rand() & 1) === 0 ? 4 : 6;
      // Few distinct top bits so that prefixes nest often.
      const words = Uint32Array.of(0x0a000000 | (rand() & 0x0003ffff), family === 6 ? rand() & 0xff : 0, 0, family === 6 ? rand() & 3 : 0);
      entries.push({ family, prefix: rand() % (family === 4 ? 33 : 129), words });
    }
    const lpm = new LpmTable(entries, entries.map((_, i) => i));
    // Both IPv4 paths are exercised: the /32s cluster in 10.0.0.0/14, so a pod block is chosen there.
    expect((lpm as unknown as { podSize: number }).podSize).toBeGreaterThan(0);
    const bit = (w: Uint32Array, b: number): number => (w[b >>> 5]! >>> (31 - (b & 31))) & 1;
    const holds = (e: typeof entries[number], family: number, a: Uint32Array): boolean => {
      if (e.family !== family) return false;
      for (let b = 0; b < e.prefix; b++) if (bit(e.words, b) !== bit(a, b)) return false;
      return true;
    };
    let hits = 0;
    for (let n = 0; n < 20_000; n++) {
      const family = (rand() & 1) === 0 ? 4 : 6;
      const a = Uint32Array.of(0x0a000000 | (rand() & 0x0003ffff), family === 6 ? rand() & 0xff : 0, 0, family === 6 ? rand() & 3 : 0);
      let want = -1;
      // The longest holding prefix; among equal prefixes (duplicates) the last inserted wins, as in a map.
      entries.forEach((e, i) => { if (holds(e, family, a) && (want < 0 || e.prefix >= entries[want]!.prefix)) want = i; });
      const got = lpm.lookup(family, a, 0);
      expect(got === want || (got >= 0 && want >= 0 && entries[got]!.prefix === entries[want]!.prefix), `address ${n}`).toBe(true);
      if (want >= 0) hits++;
    }
    expect(hits).toBeGreaterThan(1000);
  });
});

describe('the probe sequence (Cilium v1.17 __policy_can_access) resolves competing entries', () => {
  it.each(PRECEDENCE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const loaded = loadEbpf(precedenceProgram(c));
    const batch = fillBatch([precedenceFlow(c)]);
    classifyRow(loaded, batch, 0);
    expect(batch.verdict[0]).toBe(c.allowed ? Verdict.ACCEPT : Verdict.DROP);
    expect(loaded.trace[Trace.INGRESS_ENTRY]).toBe(c.decides);
    expect(batch.decidedBy[0]).toBe(c.allowed ? c.decides : -1);
  });

  it('an L3 deny skips the L4-only lookup: fewer policy probes than the same map with an L3 allow', () => {
    const probes = (deny: boolean): number => {
      const c = { ...PRECEDENCE_CASES[4]!, entries: [[FRONTEND, 0, 0, 0, deny], [0, 6, 80, 24, false]] as PrecedenceCase['entries'] };
      const loaded = loadEbpf(precedenceProgram(c));
      classifyRow(loaded, fillBatch([precedenceFlow(c)]), 0);
      return loaded.policy.probes;
    };
    expect(probes(true)).toBeLessThan(probes(false));
  });

  it('a lookup reads the whole run of its {identity, endpoint, direction}: the longest match wins wherever it sits', () => {
    // 40 port entries and one protocol-only entry for the frontend: more than fit one bucket (4 slots).
    type Spec = PrecedenceCase['entries'][number];
    const entries: Spec[] = [...Array.from({ length: 40 }, (_, i): Spec => [FRONTEND, 6, 1000 + i, 24, i === 7]), [FRONTEND, 6, 0, 8, false]];
    const run = (port: number): [number, number, number] => {
      const c: PrecedenceCase = { name: 'run', entries, port, decides: -1, allowed: false };
      const loaded = loadEbpf(precedenceProgram(c));
      const batch = fillBatch([precedenceFlow(c)]);
      classifyRow(loaded, batch, 0);
      return [batch.verdict[0]!, loaded.trace[Trace.INGRESS_ENTRY]!, loaded.policy.probes];
    };
    expect(run(1039).slice(0, 2)).toEqual([Verdict.ACCEPT, 39]);
    expect(run(1007).slice(0, 2)).toEqual([Verdict.DROP, 7]);
    expect(run(80).slice(0, 2)).toEqual([Verdict.ACCEPT, 40]);
    // Honest cost: a triple with 41 entries is read bucket by bucket (4 slots each), for every port.
    expect(run(80)[2]).toBeGreaterThanOrEqual(Math.ceil(41 / 4));
  });
});

describe('EbpfDataplane behind probe', () => {
  it.each(Object.keys(EBPF_SCENARIOS))('%s: the truth table over every pod pair equals the reference one, IPv4 and IPv6', (name) => {
    const index = indexCluster(EBPF_SCENARIOS[name]!());
    const ebpf = new EbpfDataplane(index);
    const reference = new ReferenceDataplane(index);
    let cells = 0;
    for (const family of [4, 6] as const) {
      for (const [protocol, port] of [[6, 80], [6, 8080], [17, 53], [132, 9000]] as const) {
        const got = probeAll(index, ebpf, protocol, port, family);
        expect(got).toEqual(probeAll(index, reference, protocol, port, family));
        cells += got.cells.filter((c) => c.allowed !== null).length;
      }
    }
    expect(cells).toBeGreaterThan(0);
  });
});
