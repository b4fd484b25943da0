/**
 * The policy map's rows placed in C (native/src/ebpf.cc hash_table_place, through nativeTables) build the
 * table TypeScript builds, word for word: the same slots for keys that share a run (the policy table's
 * hash leaves the prefix length and the port out, so a pair's rows pile into one run), for duplicates
 * (replaced in place), for runs that wrap past the last bucket, and the same refusal when full.
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { loadEbpf } from '../../src/match/ebpf.js';
import { OpenHashTable } from '../../src/match/hash-table.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { nativeTables } from '../../src/native/load.js';
import { makeRng } from '../support/rng.js';
import { randomScenario } from '../support/random-cluster.js';
import { requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

const POLICY_LIKE = [0xffffffff, ~0x1f >>> 0, 0];

/** `count` keys of `keyWords` words drawn from few values, so that many collide and some repeat. */
function randomKeys(seed: number, keyWords: number, count: number, spread: number): { keys: Uint32Array; values: Int32Array } {
  const rng = makeRng(seed);
  const keys = new Uint32Array(count * keyWords);
  const values = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    for (let w = 0; w < keyWords; w++) keys[i * keyWords + w] = rng.int(0, spread) * (w === 1 ? 32 : 1) + (w === 1 ? rng.int(0, 31) : 0);
    values[i] = rng.int(0, 1e6);
  }
  return { keys, values };
}

function builtBoth(keyWords: number, expected: number, hashMask: number[] | undefined, keys: Uint32Array, values: Int32Array, count: number) {
  const ts = new OpenHashTable(keyWords, expected, 0x1234, hashMask);
  const c = new OpenHashTable(keyWords, expected, 0x1234, hashMask);
  ts.insertBatch(keys, values, count);
  c.insertBatch(keys, values, count, nativeTables(addon!).place);
  return { ts, c };
}

d('hash table rows placed in C', () => {
  it('equal TypeScript inserts on seeded keys: colliding runs, duplicates, both key widths', () => {
    let cases = 0, repeats = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const keyWords = seed % 3 === 0 ? 5 : 3;
      const hashMask = keyWords === 3 && seed % 2 === 0 ? POLICY_LIKE : undefined;
      const count = 1 + (seed * 977) % 3000;
      const { keys, values } = randomKeys(seed, keyWords, count, seed % 4 === 0 ? 3 : 200);
      const { ts, c } = builtBoth(keyWords, count, hashMask, keys, values, count);
      expect(c.words).toEqual(ts.words);
      expect(c.size).toBe(ts.size);
      if (ts.size < count) repeats++;
      cases++;
    }
    expect(cases).toBe(60);
    expect(repeats).toBeGreaterThan(5); // some seeds did replace keys in place
  });

  it('a run that wraps past the last bucket, and a batch placed a block at a time, give the same table', () => {
    const probe = new OpenHashTable(3, 5000, 0x1234, POLICY_LIKE);
    const last = probe.buckets - 1;
    // Keys whose home is the last bucket, more of them than it has slots: the run goes on into bucket 0.
    const homeLast: number[] = [];
    const candidate = new Uint32Array(3);
    for (let k = 0; homeLast.length < 3 * (probe.slotsPerBucket + 2); k++) {
      candidate.set([k, (k % 7) << 5, k % 3]);
      if (probe.homeBucket(candidate, 0) === last) homeLast.push(...candidate);
    }
    const { keys: others, values } = randomKeys(7, 3, 5000, 50);
    const keys = new Uint32Array(5000 * 3);
    keys.set(homeLast, 0);
    keys.set(others.subarray(0, keys.length - homeLast.length), homeLast.length);
    const whole = builtBoth(3, 5000, POLICY_LIKE, keys, values, 5000);
    expect(whole.c.words).toEqual(whole.ts.words);
    const blocks = new OpenHashTable(3, 5000, 0x1234, POLICY_LIKE);
    for (let at = 0; at < 5000; at += 333) {
      const n = Math.min(333, 5000 - at);
      blocks.insertBatch(keys.subarray(at * 3, (at + n) * 3), values.subarray(at, at + n), n, nativeTables(addon!).place);
    }
    expect(blocks.words).toEqual(whole.ts.words);
    let wrapped = 0;
    for (let s = 0; s < probe.slotsPerBucket; s++) {
      const at = s * probe.slotWords;
      if (whole.c.values[at + 3]! >= 0 && whole.c.homeBucket(whole.c.words, at) === last) wrapped++;
    }
    expect(wrapped).toBeGreaterThan(0);
  });

  it('a full table is refused as TypeScript refuses it, and so is a negative value', () => {
    const count = 40;
    const keys = Uint32Array.from({ length: count * 3 }, (_, i) => i * 7919);
    const values = Int32Array.from({ length: count }, (_, i) => i);
    const small = (): OpenHashTable => new OpenHashTable(3, 4, 0x1234);
    expect(() => small().insertBatch(keys, values, count)).toThrow('hash table full');
    expect(() => small().insertBatch(keys, values, count, nativeTables(addon!).place)).toThrow('hash table full');
    const negative = Int32Array.of(1, -1);
    expect(() => small().insertBatch(keys, negative, 2, nativeTables(addon!).place)).toThrow('hash table values must be >= 0');
  });

  it('only a big table is put in huge pages: a small one would cost a whole 2 MiB page zeroed', () => {
    const asked: number[] = [];
    const tables = nativeTables({ ...addon!, hugeBuffer: (bytes: number) => { asked.push(bytes); return addon!.hugeBuffer(bytes); } });
    expect(tables.allocate!(64 << 10).byteLength).toBe(64 << 10);
    expect(asked).toEqual([]);
    expect(tables.allocate!(64 << 20).byteLength).toBe(64 << 20);
    expect(asked).toEqual([64 << 20]);
  });

  it('the eBPF hit counters take 4 KiB pages (sparseBuffer): a replay writes a few scattered entries of them', () => {
    const sparse: number[] = [];
    const tables = nativeTables({ ...addon!, sparseBuffer: (bytes: number) => { sparse.push(bytes); return addon!.sparseBuffer(bytes); } });
    const programs = [1, 2, 3, 4, 5, 6].map((seed) => compileEbpf(indexCluster(randomScenario(seed).cluster), DEFAULT_EVAL_OPTIONS));
    const program = programs.find((p) => p.policyMap.count > 0)!;
    expect(program).toBeDefined();
    const loaded = loadEbpf(program, tables);
    expect(sparse).toHaveLength(1);
    expect(loaded.hits.buffer.byteLength).toBe(sparse[0]);
    expect(loaded.hits.length).toBe(program.policyMap.count);
  });

  it('loadEbpf builds the same policy table with the native engine\'s tables as without, on random clusters', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const program = compileEbpf(indexCluster(randomScenario(seed).cluster), DEFAULT_EVAL_OPTIONS);
      const plain = loadEbpf(program);
      const native = loadEbpf(program, nativeTables(addon!));
      expect(native.policy.words).toEqual(plain.policy.words);
      expect(native.policy.size).toBe(plain.policy.size);
      expect(native.hits.length).toBe(plain.hits.length);
      expect(native.hits.every((h) => h === 0)).toBe(true);
    }
  });
});
