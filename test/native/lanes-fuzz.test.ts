/**
 * The lanes (--threads N, src/replay/fused-lanes.ts) against one thread on seeded random clusters and
 * their synthetic traffic: generated clusters of random size, some with a Service (so that the split
 * walk meets records whose lane their bytes do not tell), traffic of one to three exchanges a
 * connection, batch sizes that cut windows at odd places, 2 to 4 threads, the split walk and the
 * hand-over, both models. Every result (verdict counts, hits, the connection table row by row) must
 * equal the one-thread replay's. NETSIEVE_LANES_SEEDS=200 for a long local run; CI runs 6.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { generateCluster } from '../../src/clustergen/generate.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { replay, type ReplayOptions } from '../../src/replay/replay.js';
import { fileSink } from '../../src/traffic/pcap/writer.js';
import { synthToSink } from '../../src/traffic/synth/index.js';
import { tempDir } from '../replay/helpers.js';
import { comparableReplay, requireAddon } from './support.js';

const addon = requireAddon();

/**
 * A turn of the event loop: Node runs the finalizers that free a finished replay's tables only then
 * (src/replay/replay.ts), and vitest runs a file's tests one after another without one, so without
 * this a run of 20 seeds (280 replays, each compiling its models) held 7 GB when it was stopped.
 */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const SEEDS = Number(process.env['NETSIEVE_LANES_SEEDS'] ?? 6);

describe.skipIf(!addon)('lanes against one thread, seeded random clusters and traffic', () => {
  const dir = tempDir();
  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}`, async () => {
      const doc = generateCluster({
        pods: 50 + (seed * 37) % 350, namespaces: 3 + seed % 12, policies: 5 + (seed * 13) % 55, seed, services: seed % 3 === 0 ? 1 : 0,
      });
      const index = indexCluster(loadClusterFromText(JSON.stringify(doc), {}, 'cluster.json').cluster);
      const pcap = join(dir, `traffic-${seed}.pcap`);
      synthToSink(index, { packets: 20_000 + (seed * 1009) % 30_000, seed, size: { kind: 'fixed', bytes: 64 }, exchanges: 1 + seed % 3 }, fileSink(pcap));
      for (const model of ['ebpf', 'iptables'] as const) {
        const base: ReplayOptions = { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: [model], addon, batchSize: 512 + seed * 13 };
        const one = comparableReplay(replay([pcap], { ...base, threads: 1 }));
        for (const threads of [2, 3, 4]) {
          for (const laneWalk of ['split', 'handover'] as const) {
            expect(comparableReplay(replay([pcap], { ...base, threads, laneWalk })), `${model}, ${threads} threads, ${laneWalk}`).toEqual(one);
            await turn();
          }
        }
      }
    }, 60_000);
  }
});
