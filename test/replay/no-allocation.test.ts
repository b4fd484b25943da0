import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import type { ModelName } from '../../src/match/dataplane.js';
import { replay } from '../../src/replay/replay.js';
import { fileSink } from '../../src/traffic/pcap/writer.js';
import { parseSize, synthToSink } from '../../src/traffic/synth/index.js';
import { seedIndexFromYaml, tempDir } from './helpers.js';
import { loadNative, type NativeAddon } from '../../src/native/load.js';

/**
 * Bytes allocated per packet during a replay, measured from the heap's growth between batches (the
 * progress callback runs once per batch): intervals with a GC in them shrink the heap and are left out.
 * The figure is the MEDIAN over batches: an object per packet shows up in every batch as 16 bytes or
 * more per packet, while growth that is amortised per connection (the connection table doubling its
 * index now and then) or a JIT recompilation lands in a few batches only and would make a mean swing
 * between runs (seen here: 4 to 14 bytes per packet with the mean, on the same code).
 */
function bytesPerPacket(models: ModelName[], addon: NativeAddon | null = null): number {
  const index = seedIndexFromYaml();
  const dir = tempDir();
  const capture = join(dir, 'm.pcap');
  synthToSink(index, { packets: 300_000, seed: 9, size: parseSize('64') }, fileSink(capture));
  const run = (progress?: (d: number, t: number, p: number) => void) => replay([capture], {
    index, evalOptions: DEFAULT_EVAL_OPTIONS, models, writeAllowed: join(dir, 'a.pcap'), writeDropped: join(dir, 'd.pcap'), progress, addon,
  });
  run();
  const perPacket: number[] = [];
  let last = -1;
  let lastPackets = 0;
  run((_d, _t, p) => {
    const used = getHeapStatistics().used_heap_size;
    // From the end of the first batch on (setup is over); a shrinking heap means a GC ran: skip it.
    if (last >= 0 && used >= last && p > lastPackets) perPacket.push((used - last) / (p - lastPackets));
    last = used;
    lastPackets = p;
  });
  expect(perPacket.length).toBeGreaterThan(20);
  perPacket.sort((a, b) => a - b);
  return perPacket[perPacket.length >> 1]!;
}

describe('replay: no allocation per packet on the compiled models', () => {
  for (const model of ['iptables', 'ebpf'] as const) {
    it(`${model}: a few bytes at most allocated per packet, write-outs included`, () => {
      // Measured: eBPF 0.1, iptables 1.6 (a boxed number now and then); an object per packet is 16 or more.
      expect(bytesPerPacket([model])).toBeLessThan(4);
    });
  }
});

const addon = loadNative().addon;

describe.skipIf(addon === null)('replay on the native engine: no allocation per packet either', () => {
  it('iptables and eBPF (one call per batch each, compared row by row), write-outs included', () => {
    // The reference model is left out: it builds a string key per opening packet (by design, it is the oracle).
    expect(bytesPerPacket(['iptables', 'ebpf'], addon)).toBeLessThan(4);
  });
});
