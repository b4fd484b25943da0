/**
 * Capture reading: netsieve's readers against `pcap-parser` (counting its 'packet' events) on the same
 * file, in the same run, for 64-byte frames and the simple IMIX. netsieve's: the TypeScript reader
 * (records walked and decoded into a FlowBatch, and records walked only), and when the addon loads, the
 * reader the native engine replays through (the same chunks, each walked and decoded in one call).
 */
import type { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadCluster } from '../src/manifests/load.js';
import { indexCluster } from '../src/model/cluster-index.js';
import { openCapture } from '../src/traffic/pcap/reader.js';
import { fileSink } from '../src/traffic/pcap/writer.js';
import { synthToSink, type SizeMode } from '../src/traffic/synth/index.js';
import { FlowBatch } from '../src/wire/flow-batch.js';
import { nativeAddon } from '../src/native/load.js';
import { openNativeCapture } from '../src/native/walk.js';
import { measure, measureDeferred, type Measured } from './lib.js';

const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(path: string): EventEmitter };

export interface CaptureResult {
  readonly size: string;
  readonly packets: number;
  readonly bytes: number;
  readonly cases: Measured[];
  /** netsieve's TypeScript reader (decoding) over pcap-parser, packets per second. */
  readonly ratio: number;
  /** The native engine's reader (decoding) over pcap-parser; null without the addon. */
  readonly nativeRatio?: number | null;
}

export async function benchCapture(clusterPath: string, dir: string, packets: number): Promise<CaptureResult[]> {
  const index = indexCluster(loadCluster([clusterPath]).cluster);
  const sizes: [string, SizeMode, number][] = [['64-byte', { kind: 'fixed', bytes: 64 }, packets], ['IMIX', { kind: 'imix' }, Math.ceil(packets / 2)]];
  const out: CaptureResult[] = [];
  for (const [label, size, n] of sizes) {
    const path = join(dir, `capture-${label}.pcap`);
    synthToSink(index, { packets: n, seed: 1, size }, fileSink(path));
    out.push(await benchFile(label, path, n));
  }
  return out;
}

async function benchFile(label: string, path: string, packets: number): Promise<CaptureResult> {
  const batch = new FlowBatch(4096);
  const addon = nativeAddon().addon;
  const read = (decode: boolean, native = false) => (): void => {
    const reader = native ? openNativeCapture(addon!, path) : openCapture(path, { decode });
    let n = 0;
    try {
      while (reader.fill(batch) > 0) n += batch.count;
    } finally {
      reader.close();
    }
    if (n !== packets) throw new Error(`netsieve read ${n} of ${packets} packets`);
  };
  const cases = measure([
    { name: `netsieve reader, decoding (${label})`, packetsPerOp: packets, fn: read(true) },
    { name: `netsieve reader, records only (${label})`, packetsPerOp: packets, fn: read(false) },
    ...(addon ? [{ name: `netsieve reader, native, decoding (${label})`, packetsPerOp: packets, fn: read(true, true) }] : []),
  ]);
  cases.push(await measureDeferred(`pcap-parser, counting (${label})`, packets, (done) => {
    let n = 0;
    const parser = pcapParser.parse(path);
    parser.on('packet', () => n++);
    parser.on('error', (e: Error) => { throw e; });
    parser.on('end', () => {
      if (n !== packets) throw new Error(`pcap-parser read ${n} of ${packets} packets`);
      done();
    });
  }));
  const parser = cases[cases.length - 1]!.pps;
  const native = addon ? cases[2]!.pps / parser : null;
  return { size: label, packets, bytes: statSync(path).size, cases, ratio: cases[0]!.pps / parser, nativeRatio: native };
}
