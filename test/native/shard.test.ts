/**
 * The lanes' shard of a row (native/src/replay.cc shard_of, which --threads uses) is src/replay/shard.ts
 * shardOf's, row for row: the same hash of the address pair and protocol, commutative, of the quoted flow
 * for ICMP errors. shard.ts's spread is tested in test/replay/shard.test.ts; this holds C to it.
 */
import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { loadClusterFromText } from '../../src/manifests/load.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { batchHandle } from '../../src/native/engine.js';
import { shardOf } from '../../src/replay/shard.js';
import { openCapture } from '../../src/traffic/pcap/reader.js';
import { FlowBatch, RowFlag } from '../../src/wire/flow-batch.js';
import { makeRng } from '../support/rng.js';
import { requireAddon } from './support.js';
import { synthBytes, writeTemp } from './walk-support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

/** Synth rows, then every fifth made IPv6-wide and every seventh an ICMP error quoting a random flow. */
function rows(): FlowBatch {
  const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods: 120, namespaces: 6, policies: 10, seed: 5 }))).cluster);
  const path = writeTemp(synthBytes(index, 6000, '64', 5), 'shard.pcap');
  const batch = new FlowBatch(8192);
  const reader = openCapture(path, { decode: true });
  try {
    expect(reader.fill(batch)).toBe(6000);
  } finally {
    reader.close();
  }
  const rng = makeRng(9);
  const word = (): number => rng.int(0, 0xffffffff);
  for (let i = 0; i < batch.count; i++) {
    if (batch.family[i] === 0) continue;
    if (i % 5 === 0) {
      batch.family[i] = 6;
      for (let k = 0; k < 4; k++) { batch.src[i * 4 + k] = word(); batch.dst[i * 4 + k] = word(); }
    }
    if (i % 7 === 0) {
      batch.flags[i]! |= RowFlag.ICMP_ERROR;
      batch.innerProto[i] = [6, 17, 132][i % 3]!;
      for (let k = 0; k < 4; k++) { batch.innerSrc[i * 4 + k] = word(); batch.innerDst[i * 4 + k] = word(); }
    }
  }
  return batch;
}

d('the lanes shard rows as shard.ts does', () => {
  it('row for row, for 1, 2, 3, 5, 8 and 64 lanes (IPv4, IPv6-wide addresses, ICMP errors)', () => {
    const batch = rows();
    const out = new Uint8Array(batch.count);
    let errors = 0;
    for (let i = 0; i < batch.count; i++) errors += (batch.flags[i]! & RowFlag.ICMP_ERROR) !== 0 ? 1 : 0;
    expect(errors).toBeGreaterThan(500);
    for (const shards of [1, 2, 3, 5, 8, 64]) {
      out.fill(255);
      addon!.shardRows(batchHandle(addon!, batch), batch.count, shards, out);
      const want = Array.from({ length: batch.count }, (_, i) => (batch.family[i] === 0 ? 0 : shardOf(batch, i, shards)));
      expect(Array.from(out), `${shards} lanes`).toEqual(want);
    }
  });

  it('refuses a count past the batch, a lane count out of 1-64 and a short output', () => {
    const batch = new FlowBatch(16);
    const h = batchHandle(addon!, batch);
    for (const [count, shards, len] of [[17, 2, 17], [4, 0, 4], [4, 65, 4], [4, 2, 3]] as const) {
      expect(() => addon!.shardRows(h, count, shards, new Uint8Array(len)), `${count} ${shards} ${len}`).toThrow(/count within the batch, shards 1 to 64, out a Uint8Array of count/);
    }
  });
});
