/**
 * The traffic a comparison runs: a capture (or seeded synthetic packets) decoded once into FlowBatches
 * held in memory, with Service DNAT already applied (as kube-proxy does in PREROUTING, before any filter),
 * so every model, and every timed pass, sees the same rows and the timing covers the model alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import { applyNat, buildServiceNat } from '../replay/nat.js';
import { openCapture, type Damage } from '../traffic/pcap/reader.js';
import { fileSink } from '../traffic/pcap/writer.js';
import { synthToSink, type SizeMode } from '../traffic/synth/index.js';
import { FlowBatch } from '../wire/flow-batch.js';

export const BATCH_ROWS = 4096;

export interface DecodedTraffic {
  readonly batches: readonly FlowBatch[];
  /** Records decoded (IP or not). */
  readonly packets: number;
  /** IP rows (the ones a model decides). */
  readonly ipPackets: number;
  readonly damage: (Damage & { file: string }) | null;
}

/** Reads every record of the captures into batches of BATCH_ROWS rows (setup: allocation is fine here). */
export function decodeCaptures(paths: readonly string[], index: ClusterIndex): DecodedTraffic {
  const nat = buildServiceNat(index);
  const batches: FlowBatch[] = [];
  let packets = 0;
  let ipPackets = 0;
  let damage: DecodedTraffic['damage'] = null;
  for (const path of paths) {
    const reader = openCapture(path);
    try {
      for (let batch = new FlowBatch(BATCH_ROWS); reader.fill(batch) > 0; batch = new FlowBatch(BATCH_ROWS)) {
        for (let i = 0; i < batch.count; i++) {
          if (batch.family[i] !== 0) ipPackets++;
          applyNat(nat, batch, i);
        }
        packets += batch.count;
        batches.push(batch);
      }
      if (reader.damage && !damage) damage = { ...reader.damage, file: path };
    } finally {
      reader.close();
    }
  }
  return { batches, packets, ipPackets, damage };
}

/**
 * N seeded synthetic packets for the cluster (`exchanges` request/response exchanges per allowed TCP
 * connection), written to a private temp file, decoded, the file removed.
 */
export function synthTraffic(index: ClusterIndex, packets: number, seed: number, size: SizeMode, options: EvalOptions, exchanges = 1): DecodedTraffic {
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-compare-'));
  try {
    const path = join(dir, 'synth.pcap');
    synthToSink(index, { packets, seed, size, options, exchanges }, fileSink(path));
    return decodeCaptures([path], index);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
