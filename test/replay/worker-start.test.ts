/**
 * `replay()` with threads from a process started as `node --input-type=module -e ...` (how a script or a
 * tool may embed netsieve): workers inherit the process's Node options, and --input-type kept them from
 * starting at all, while the main thread, blocked waiting for them, hung for ever. The options handed to
 * workers leave out the main script's input; a worker that still does not start is an error, not a hang.
 * (The staged sharded replay runs workers, as with --engine js; the native engine's fused replay runs on
 * lanes, threads of the addon, and must finish the same way.)
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../src/replay/shard.js';
import { loadNative } from '../../src/native/load.js';
import { SEED_CLUSTER, SEED_PCAP } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('replay workers start whatever the process was started with', () => {
  it('workerExecArgv leaves out the main script\'s input options, and keeps the others', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--max-old-space-size=4096'])).toEqual(['--max-old-space-size=4096']);
    // `node --input-type commonjs -e ...` gives the value as its own word: it goes with its option.
    expect(workerExecArgv(['--eval', 'x', '--expose-gc', '-p', '1+1', '--print=2', '--eval=y', '--input-type', 'commonjs'])).toEqual(['--expose-gc']);
    expect(workerExecArgv(['--stack-size=2000', '--cpu-prof'])).toEqual(['--stack-size=2000', '--cpu-prof']);
  });

  const engines = [['js', false], ...(loadNative().addon ? [['native', true]] : [])] as const;
  for (const [engine, native] of engines) {
    it(`--input-type=module -e: two threads, ${engine} engine, finish with one thread's result`, () => {
      const script = `
        const { loadCluster } = await import(${JSON.stringify(join(ROOT, 'dist/src/manifests/load.js'))});
        const { indexCluster } = await import(${JSON.stringify(join(ROOT, 'dist/src/model/cluster-index.js'))});
        const { DEFAULT_EVAL_OPTIONS } = await import(${JSON.stringify(join(ROOT, 'dist/src/model/evaluate.js'))});
        const { replay } = await import(${JSON.stringify(join(ROOT, 'dist/src/replay/replay.js'))});
        const { nativeAddon } = await import(${JSON.stringify(join(ROOT, 'dist/src/native/load.js'))});
        const index = indexCluster(loadCluster([${JSON.stringify(join(ROOT, SEED_CLUSTER))}]).cluster);
        const addon = ${native} ? nativeAddon().addon : null;
        const run = (threads) => replay([${JSON.stringify(join(ROOT, SEED_PCAP))}], { index, evalOptions: DEFAULT_EVAL_OPTIONS, models: ['ebpf'], addon, threads });
        const one = run(1), two = run(2);
        console.log(JSON.stringify([one.connections.count, two.connections.count, one.packets, two.packets]));`;
      // A hang is what this guards against: the child is killed (and the test fails) after 60 s.
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
      const [c1, c2, p1, p2] = JSON.parse(out.trim()) as number[];
      expect(c1).toBeGreaterThan(0);
      expect([c2, p2]).toEqual([c1, p1]);
    }, 90_000);
  }
});
