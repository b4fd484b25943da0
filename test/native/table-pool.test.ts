/**
 * The addon's table memory (native/src/table-pool.cc): a mapping freed is kept and handed to the next
 * request of its size and kind, cleared. Memory handed out must read as zeroes whatever the last user
 * wrote, and a replay run on the memory of the one before must give that replay's results exactly.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { settleHeap } from '../../bench/lib.js';
import { generateCluster } from '../../src/clustergen/generate.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import type { NativeAddon } from '../../src/native/load.js';
import { bindNativeReplay, takeNativeConnections } from '../../src/native/replay.js';
import { releaseTablesWhenIdle, stopIdleRelease, TABLE_POOL_IDLE_MS } from '../../src/native/table-pool.js';
import { fusedSetup, readAll } from '../../src/replay/fused.js';
import { replay, type ReplayOptions, type ReplayResult } from '../../src/replay/replay.js';
import { connectionRows, requireAddon } from './support.js';
import { synthBytes, writeTemp } from './walk-support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;
const PAGE = 4096;

/** Collections and event-loop turns (Node runs the buffers' finalizers on a later turn) until `enough`. */
async function collectUntil(enough: () => boolean): Promise<void> {
  for (let k = 0; k < 20 && !enough(); k++) {
    settleHeap();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Collections until two in a row return no more memory to the pool: everything unreferenced is back
 * (a collection may only free a handle that held a buffer, which the next one frees).
 */
async function collectAll(a: NativeAddon): Promise<void> {
  let last = -1, still = 0;
  await collectUntil(() => {
    const now = a.tablePool().keptMappings;
    still = now === last ? still + 1 : 0;
    last = now;
    return still >= 2;
  });
}

/** A buffer of `bytes` written at every `stride`-th page, dropped: nothing references it on return. */
function writeAndDrop(make: (bytes: number) => ArrayBuffer, bytes: number, stride: number): number {
  const view = new Uint8Array(make(bytes));
  let pages = 0;
  for (let at = 0; at < bytes; at += stride * PAGE, pages++) view[at + ((at / PAGE) % PAGE)] = 0xa5;
  view[bytes - 1] = 0x5a;
  return pages + 1;
}

/**
 * Bytes of this process's mappings that are inaccessible (---p) and advised for or against huge pages
 * (smaps VmFlags hg or nh), larger than one page: the addon's kept table mappings (V8's reservations
 * carry neither flag; threads' stack guards are one page).
 */
function sealedTableBytes(): number {
  let total = 0, size = 0, sealed = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) /.exec(line);
    if (head) {
      size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16);
      sealed = head[3] === '---p' && size > PAGE;
    } else if (line.startsWith('VmFlags:') && sealed && / (hg|nh)\b/.test(line)) {
      total += size;
    }
  }
  return total;
}

function firstNonZero(buffer: ArrayBuffer): number {
  const view = new Uint8Array(buffer);
  for (let k = 0; k < view.length; k++) if (view[k] !== 0) return k;
  return -1;
}

d('table memory pool', () => {
  beforeAll(() => {
    addon!.tablePool(true);
  });

  for (const kind of ['huge', 'sparse'] as const) {
    it(`a ${kind} buffer freed comes back for the next one of its size, every byte zero`, async () => {
      const a = addon!;
      const make = (bytes: number) => (kind === 'huge' ? a.hugeBuffer(bytes) : a.sparseBuffer(bytes));
      // An odd size, which nothing else in this worker asks for; every page written (huge), or every 16th.
      const bytes = (6 << 20) + 5 * PAGE + 100;
      const stride = kind === 'huge' ? 1 : 16;
      const before = a.tablePool();
      const written = writeAndDrop(make, bytes, stride);
      await collectUntil(() => a.tablePool().keptMappings > before.keptMappings);
      const kept = a.tablePool();
      expect(kept.keptMappings).toBeGreaterThan(before.keptMappings);
      const again = make(bytes);
      const after = a.tablePool();
      expect(after.reused).toBe(kept.reused + 1);
      expect(after.fresh).toBe(kept.fresh);
      expect(after.clearedBytes - kept.clearedBytes).toBeGreaterThanOrEqual(written * PAGE - PAGE);
      expect(firstNonZero(again)).toBe(-1);
    });
  }

  it('keeps its mappings inaccessible until one is taken again', async () => {
    const a = addon!;
    await collectAll(a); // the earlier tests' buffers back first
    a.tablePool(true);
    expect(sealedTableBytes()).toBe(0);
    writeAndDrop((bytes) => a.hugeBuffer(bytes), 4 << 20, 1);
    writeAndDrop((bytes) => a.sparseBuffer(bytes), 3 << 20, 4);
    await collectAll(a);
    const kept = a.tablePool();
    expect(kept.keptMappings).toBe(2);
    expect(sealedTableBytes()).toBe(kept.keptBytes);
    const again = new Uint8Array(a.hugeBuffer(4 << 20));
    again[again.length - 1] = 1; // writable again
    expect(sealedTableBytes()).toBe(a.tablePool().keptBytes);
    expect(a.tablePool().keptBytes).toBe(kept.keptBytes - (4 << 20));
  });

  it('unmaps what it keeps when asked', async () => {
    const a = addon!;
    writeAndDrop((bytes) => a.hugeBuffer(bytes), 2 << 20, 1);
    await collectUntil(() => a.tablePool().keptMappings > 0);
    expect(a.tablePool().keptMappings).toBeGreaterThan(0);
    const released = a.tablePool(true);
    expect(released.keptMappings).toBe(0);
    expect(released.keptResident).toBe(0);
  });

  describe('a replay on the memory of the one before', () => {
    let opts: ReplayOptions;
    let path = '';
    beforeAll(() => {
      const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 300, namespaces: 10, policies: 30, seed: 33 }))).cluster);
      path = writeTemp(synthBytes(index, 60_000, '64', 33), 'table-pool.pcap');
      opts = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon };
    });

    const strip = (r: ReplayResult) => ({ ...r, seconds: 0, cpuSeconds: 0, connections: connectionRows(r.connections) });

    for (const model of ['ebpf', 'iptables'] as const) {
      for (const threads of [1, 2]) {
        it(`gives the same result: ${model}, ${threads} thread(s)`, async () => {
          const a = addon!;
          const run = () => strip(replay([path], { ...opts, models: [model], threads }));
          await collectAll(a);
          a.tablePool(true);
          const first = run();
          expect(first.packets).toBe(60_000);
          for (let round = 0; round < 2; round++) {
            // The tables come back once V8 collects the buffers and handles that held them.
            await collectAll(a);
            const before = a.tablePool();
            expect(before.keptMappings, `round ${round}: mappings kept`).toBeGreaterThanOrEqual(5);
            const again = run();
            const after = a.tablePool();
            expect(after.reused - before.reused, `round ${round}: mappings reused`).toBeGreaterThanOrEqual(5);
            expect(after.clearedBytes, `round ${round}: bytes cleared`).toBeGreaterThan(before.clearedBytes);
            expect(again, `round ${round}`).toEqual(first);
          }
        });
      }
    }

    it('gives its tables back as it ends, before any collection: one thread, and more on two', async () => {
      const a = addon!;
      // From an empty pool, the replay maps everything fresh: what the pool holds after it, it gave back.
      const given = (threads: number): number => {
        a.tablePool(true);
        replay([path], { ...opts, threads });
        return a.tablePool().keptMappings;
      };
      await collectAll(a);
      // One thread: the tallies and the connection index (the columns go to the result); two threads
      // add the lanes' rings, windows and batches and the second lane's tables.
      const one = given(1);
      await collectAll(a);
      const two = given(2);
      expect(one).toBeGreaterThanOrEqual(2);
      expect(two).toBeGreaterThan(one + 4);
    });

    it('has every mapping of a finished replay back two collections after its result is dropped', async () => {
      const a = addon!;
      for (const threads of [1, 2]) {
        await collectAll(a);
        a.tablePool(true);
        const before = a.tablePool().fresh;
        expect(replay([path], { ...opts, threads }).packets).toBe(60_000); // the result is dropped here
        const taken = a.tablePool().fresh - before;
        for (let k = 0; k < 2; k++) {
          settleHeap();
          await new Promise((resolve) => setImmediate(resolve));
        }
        // The replay handle lets go of what it bound as it ends: the tracker's handle goes in the first
        // collection, its arrays in the second.
        expect(a.tablePool().keptMappings, `${threads} thread(s): mappings back of ${taken}`).toBe(taken);
      }
    });

    it('refuses a replay handle once its connection table is taken', () => {
      const a = addon!;
      const { rowModel, nm, run, batch, maxConnections } = fusedSetup({ ...opts, threads: 1 });
      const r = bindNativeReplay(nm, rowModel.conntrack, run.result.nat, batch, run.services, maxConnections);
      readAll([path], run, r, batch);
      takeNativeConnections(r);
      expect(() => a.replayRows(r.handle, 0, 0)).toThrow(/this replay is over/);
      expect(() => a.takeConnections(r.handle)).toThrow(/this replay is over/);
    });
  });

  describe('given back once the process replays no more', () => {
    afterEach(() => {
      stopIdleRelease();
      vi.useRealTimers();
    });

    const keep = async (a: NativeAddon): Promise<void> => {
      writeAndDrop((bytes) => a.hugeBuffer(bytes), 2 << 20, 1);
      await collectUntil(() => a.tablePool().keptMappings > 0);
      expect(a.tablePool().keptMappings).toBeGreaterThan(0);
    };

    it('after a full quiet period, and again for tables freed after that; then the interval stops', async () => {
      const a = addon!;
      stopIdleRelease();
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      await keep(a);
      releaseTablesWhenIdle(a); // as a replay returns
      vi.advanceTimersByTime(TABLE_POOL_IDLE_MS); // the replay was within this period
      expect(a.tablePool().keptMappings).toBeGreaterThan(0);
      vi.advanceTimersByTime(TABLE_POOL_IDLE_MS);
      expect(a.tablePool().keptMappings).toBe(0);
      await keep(a); // a table the last replay held, collected late
      vi.advanceTimersByTime(TABLE_POOL_IDLE_MS);
      expect(a.tablePool().keptMappings).toBe(0);
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(TABLE_POOL_IDLE_MS); // nothing kept: stopped
      expect(vi.getTimerCount()).toBe(0);
    });

    it('not while replays keep coming', async () => {
      const a = addon!;
      stopIdleRelease();
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      await keep(a);
      for (let k = 0; k < 4; k++) {
        releaseTablesWhenIdle(a);
        vi.advanceTimersByTime(TABLE_POOL_IDLE_MS);
        expect(a.tablePool().keptMappings, `period ${k}`).toBeGreaterThan(0);
      }
      vi.advanceTimersByTime(TABLE_POOL_IDLE_MS);
      expect(a.tablePool().keptMappings).toBe(0);
    });

    it('is started by a native replay', () => {
      stopIdleRelease();
      vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 20, namespaces: 2, policies: 3, seed: 4 }))).cluster);
      const path = writeTemp(synthBytes(index, 500, '64', 4), 'table-pool-idle.pcap');
      expect(vi.getTimerCount()).toBe(0);
      replay([path], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon });
      expect(vi.getTimerCount()).toBe(1);
    });
  });
});
