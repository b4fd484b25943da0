/**
 * The prefault helper of a one-thread native replay (native/src/prefault.h): a thread that faults in the
 * tables' fresh pages ahead of the replay. It must change nothing the replay computes, whichever way it
 * faults pages in; it must cover the pages the replay used; and it must not fault in the tables' whole
 * reservations (the connection columns are reserved for 4M rows, 344 MB).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { TableMeta } from '../../src/conntrack/table.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster, type ClusterIndex } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { settleProbes } from '../../src/native/engine.js';
import { PrefaultMode, ReplayStat } from '../../src/native/layout.js';
import { bindNativeReplay, takeNativeConnections } from '../../src/native/replay.js';
import { RECORD_BYTES } from '../../src/replay/connections.js';
import { availableParallelism, release } from 'node:os';
import { fusedSetup, readAll, wantsPrefault } from '../../src/replay/fused.js';
import { replay, type ReplayOptions } from '../../src/replay/replay.js';
import { SEED_PCAP } from '../replay/helpers.js';
import { connectionRows, requireAddon } from './support.js';
import { synthBytes, writeTemp } from './walk-support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

interface Run {
  readonly table: Record<string, unknown>;
  readonly stats: number[];
  readonly covered: number;
  /** Bytes of the tables the replay wrote: its tracker entries' and connections' rows. */
  readonly used: number;
}

/** Bytes per tracker entry of the arrays the helper covers: two tuples, prev, next, expires, streamAt, four bytes, the tally. */
const ENTRY_BYTES = 80 + 4 + 4 + 8 + 8 + 4 + 32;
/** Bytes per connection of the table's columns: the record, firstRecord, firstFile, service, hash, verdict, ctState. */
const ROW_BYTES = RECORD_BYTES + 8 + 4 + 4 + 4 + 1 + 1;

/** MADV_POPULATE_WRITE came with Linux 5.14; on an older kernel the helper gives up at its first page. */
function kernelPopulates(): boolean {
  const [major = 0, minor = 0] = release().split(/[.-]/).map(Number);
  return major > 5 || (major === 5 && minor >= 14);
}

/** A fused replay as src/replay/fused.ts runs it, with the helper in `mode`. */
function fused(path: string, opts: ReplayOptions, mode: number): Run {
  const { rowModel, nm, connections, run, batch, maxConnections } = fusedSetup(opts);
  const r = bindNativeReplay(nm, rowModel.conntrack, run.result.nat, batch, run.services, maxConnections, mode);
  readAll([path], run, r, batch);
  settleProbes(nm);
  connections.adoptColumns(takeNativeConnections(r));
  const stats = Array.from(r.stats);
  const covered = stats.splice(ReplayStat.PREFAULTED, 1)[0]!;
  const entries = rowModel.conntrack.table.meta[TableMeta.FRESH]!;
  return { table: connectionRows(connections), stats, covered, used: entries * ENTRY_BYTES + connections.count * ROW_BYTES };
}

d('prefault helper', () => {
  let index: ClusterIndex;
  let path = '';
  let opts: ReplayOptions;
  beforeAll(() => {
    index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 300, namespaces: 10, policies: 30, seed: 21 }))).cluster);
    path = writeTemp(synthBytes(index, 60_000, '64', 21), 'prefault.pcap');
    opts = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon };
  });

  it('runs when asked, else for captures that are not tiny on a machine with a core to spare', () => {
    expect(wantsPrefault([SEED_PCAP], opts)).toBe(false);
    expect(wantsPrefault([path], opts)).toBe(availableParallelism() > 1);
    expect(wantsPrefault([SEED_PCAP], { ...opts, prefault: true })).toBe(true);
    expect(wantsPrefault([path], { ...opts, prefault: false })).toBe(false);
  });

  it('replay() with and without it: the same result', () => {
    const on = replay([path], { ...opts, prefault: true });
    const off = replay([path], { ...opts, prefault: false });
    expect(on.connections.count).toBeGreaterThan(5000);
    const strip = (r: typeof on) => ({ ...r, seconds: 0, cpuSeconds: 0, connections: connectionRows(r.connections) });
    expect(strip(on)).toEqual(strip(off));
  });

  it('covers the pages the replay wrote, ahead of it but not far, and changes no byte', () => {
    const off = fused(path, opts, PrefaultMode.OFF);
    expect(off.covered).toBe(0);
    for (const mode of [PrefaultMode.ON | PrefaultMode.SETTLE]) {
      const on = fused(path, opts, mode);
      expect(on.table, `mode ${mode}: connections`).toEqual(off.table);
      expect(on.stats, `mode ${mode}: counters`).toEqual(off.stats);
      if (!kernelPopulates()) {
        expect(on.covered, `kernel ${release()}: the helper gave up`).toBe(0);
        continue;
      }
      expect(on.covered, `mode ${mode}: covered at least what the replay used`).toBeGreaterThanOrEqual(on.used);
      // At most four pages of 2 MiB past the progress in each of its 17 arrays (three ahead, one rounding),
      // and the tracker's slots (4 MiB at the default capacity): far from the columns' 344 MB reservation.
      expect(on.covered, `mode ${mode}: covered no more than ahead of the replay`).toBeLessThan(on.used + (4 << 20) + 17 * 4 * (2 << 20));
    }
  });
});
