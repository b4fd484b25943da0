/**
 * The addon is context-aware (Node-API) and keeps no shared mutable state (its scratch is thread-local),
 * so `--threads N` workers can each load it: two workers load it and read its layout next to the main
 * thread's copy.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/native/load.js';
import { requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

function inWorker(path: string): Promise<number> {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    const a = require(workerData);
    parentPort.postMessage(Object.keys(a.layout().constants).length);`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: path });
    w.once('message', (n: number) => { resolve(n); void w.terminate(); });
    w.once('error', reject);
  });
}

d('the addon in worker threads', () => {
  it('loads in two workers at once, beside the main thread', async () => {
    const r = loadNative();
    if (r.addon === null) throw new Error(r.reason);
    const expected = Object.keys(addon!.layout().constants).length;
    expect(await Promise.all([inWorker(r.path), inWorker(r.path)])).toEqual([expected, expected]);
  });
});
