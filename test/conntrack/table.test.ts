import { describe, expect, it } from 'vitest';
import {
  findTuple, hashTuple, insertEntry, newTable, removeEntry, tableCount, touchEntry, oldestEntry, TUPLE_WORDS,
} from '../../src/conntrack/table.js';
import { FlowBatch, Verdict } from '../../src/wire/flow-batch.js';
import { newConntrack, track, confirm, conntrackStats } from '../../src/conntrack/index.js';
import { peakEntries } from '../../src/conntrack/state.js';
import { fillRow } from './support/rows.js';
import { allocatingLoop, gcCountDuring, STRAY_COLLECTIONS } from './support/gc-counter.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

describe('the open-addressing table', () => {
  it('peakEntries, read off the table afterwards, is the most entries it ever held at once', () => {
    const ct = newConntrack({ capacity: 64 });
    const t = ct.table;
    const next = rng(7);
    const key = new Uint32Array(2 * TUPLE_WORDS);
    const held: number[] = [];
    let peak = 0;
    let checked = 0;
    expect(peakEntries(ct)).toBe(0);
    for (let step = 0; step < 20_000; step++) {
      // Phases that fill up, then drain, then fill again: the peak is reached, left, and passed again.
      const filling = Math.floor(step / 500) % 3 !== 1;
      if (held.length > 0 && (held.length === t.capacity || next() % 4 < (filling ? 1 : 3))) {
        const [e] = held.splice(next() % held.length, 1);
        removeEntry(t, e!);
      } else {
        for (let k = 0; k < 2 * TUPLE_WORDS; k++) key[k] = next();
        key[8] = 0x0406;
        key[TUPLE_WORDS + 8] = 0x0406;
        const e = insertEntry(t, key, 0, key, TUPLE_WORDS);
        expect(e).toBeGreaterThanOrEqual(0);
        held.push(e);
      }
      peak = Math.max(peak, tableCount(t));
      if (step % 97 === 0) {
        expect(peakEntries(ct), `step ${step}`).toBe(peak);
        checked++;
      }
    }
    expect(peak).toBe(t.capacity);
    expect(checked).toBeGreaterThan(200);
    expect(conntrackStats(ct)).toMatchObject({ peakEntries: 64, capacity: 64 });
  });

  it('agrees with a Map under 20,000 random inserts and removals (backward-shift deletion keeps every tuple findable)', () => {
    const t = newTable(16); // 64 slots for up to 32 tuples: long probe runs
    const next = rng(42);
    const live = new Map<string, { e: number; k: Uint32Array }>();
    const entries: Array<{ e: number; texts: [string, string] }> = [];
    const key = new Uint32Array(2 * TUPLE_WORDS);
    const keyText = (k: Uint32Array, off: number): string => Array.from(k.subarray(off, off + TUPLE_WORDS)).join(',');
    let removals = 0;
    for (let step = 0; step < 20_000; step++) {
      // Removals are rarer than inserts so the table stays nearly full (long probe runs to repair).
      if (entries.length >= 15 || (entries.length > 0 && next() % 3 === 0)) {
        const [victim] = entries.splice(next() % entries.length, 1);
        removeEntry(t, victim!.e);
        for (const text of victim!.texts) live.delete(text);
        removals++;
      } else {
        // Few distinct values so that tuples collide in their home slots and probe runs wrap.
        for (let k = 0; k < 2 * TUPLE_WORDS; k++) key[k] = k % TUPLE_WORDS === 9 ? next() % 64 : 1;
        key[8] = 0x0406;
        key[TUPLE_WORDS + 8] = 0x0411;
        const texts: [string, string] = [keyText(key, 0), keyText(key, TUPLE_WORDS)];
        if (live.has(texts[0]) || live.has(texts[1])) continue;
        const e = insertEntry(t, key, 0, key, TUPLE_WORDS);
        if (e < 0) continue;
        live.set(texts[0], { e, k: key.slice(0, TUPLE_WORDS) });
        live.set(texts[1], { e, k: key.slice(TUPLE_WORDS) });
        entries.push({ e, texts });
      }
      for (const { e, k } of live.values()) {
        const found = findTuple(t, k, 0, hashTuple(k, 0)) >> 1;
        if (found !== e) expect(found, `step ${step}`).toBe(e);
      }
    }
    expect(removals).toBeGreaterThan(1000);
    expect(tableCount(t)).toBe(entries.length);
  });

  it('keeps entries in refresh order: the oldest is the least recently touched', () => {
    const t = newTable(4);
    const key = new Uint32Array(2 * TUPLE_WORDS);
    const made: number[] = [];
    for (let n = 0; n < 3; n++) {
      key[9] = n;
      key[TUPLE_WORDS + 9] = 100 + n;
      made.push(insertEntry(t, key, 0, key, TUPLE_WORDS));
    }
    expect(oldestEntry(t)).toBe(made[0]);
    touchEntry(t, made[0]!);
    expect(oldestEntry(t)).toBe(made[1]);
  });
});

describe('no allocation per packet', () => {
  it('tracking and confirming 300,000 rows (TCP, UDP, ICMP, errors, evictions) triggers no garbage collection', async () => {
    const b = new FlowBatch(1024);
    for (let i = 0; i < 1024; i++) {
      const n = i >> 2;
      const kind = i & 3;
      const src = `10.0.${n & 255}.${1 + (n >> 8)}`;
      if (kind === 0) fillRow(b, i, { src, dst: '10.1.0.1', sport: 1024 + n, dport: 443, tcp: 'S', t: i * 0.01 });
      else if (kind === 1) fillRow(b, i, { src: '10.1.0.1', dst: src, sport: 443, dport: 1024 + n, tcp: 'SA', t: i * 0.01 });
      else if (kind === 2) fillRow(b, i, { src: 'fd00::1', dst: 'fd00::2', proto: 17, sport: 2000 + n, dport: 53, t: i * 0.01 });
      else fillRow(b, i, { src: '10.9.9.9', dst: src, proto: 1, icmpType: 3, inner: { src, dst: '10.1.0.1', proto: 6, sport: 1024 + n, dport: 443 }, t: i * 0.01 });
      b.verdict[i] = i % 5 === 0 ? Verdict.DROP : Verdict.ACCEPT;
    }
    // A small table so that inserts keep evicting: the churn path is exercised too.
    const ct = newConntrack({ capacity: 200 });
    const run = (): void => {
      for (let r = 0; r < 2000; r++) {
        for (let i = 0; i < 1024; i++) {
          b.tsSec[i] = 1_700_000_000 + r; // time moves on so entries also expire
          track(ct, b, i);
          confirm(ct, b, i);
        }
      }
    };
    for (let w = 0; w < 3; w++) run();
    expect(await gcCountDuring(run)).toBeLessThanOrEqual(STRAY_COLLECTIONS);
    const stats = conntrackStats(ct);
    expect(stats.inserts).toBeGreaterThan(20_000);
    expect(stats.evictions + stats.expirations).toBeGreaterThan(20_000);
    expect(stats.related).toBeGreaterThan(0);
    expect(await gcCountDuring(() => allocatingLoop(2_000_000))).toBeGreaterThan(STRAY_COLLECTIONS);
  });
});
