/** Captures built for replay tests with the project's own writer and craft.ts, and a replay runner. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { indexCluster, type ClusterIndex } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { loadCluster } from '../../src/manifests/load.js';
import type { ModelName } from '../../src/match/dataplane.js';
import { replay, type ReplayOptions } from '../../src/replay/replay.js';
import { buildReplayReport, type ReplayReport } from '../../src/report/replay-report.js';
import { newPacketSpec, setAddress, TcpFlag, writeFrame, type PacketSpec } from '../../src/wire/craft.js';
import { openPcapWriter } from '../../src/traffic/pcap/writer.js';

export const SEED_CLUSTER = 'captures/seed/cluster.yaml';
export const SEED_PCAP = 'captures/seed/seed.pcap';

export function seedIndexFromYaml(): ClusterIndex {
  return indexCluster(loadCluster([SEED_CLUSTER]).cluster);
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ns-replay-'));
}

export function runReplay(paths: string[], index: ClusterIndex, models: ModelName[] = ['reference'], extra: Partial<ReplayOptions> = {}): ReplayReport {
  const result = replay(paths, { index, evalOptions: DEFAULT_EVAL_OPTIONS, models, ...extra });
  return buildReplayReport(result, index, DEFAULT_EVAL_OPTIONS, 100);
}

/** A capture of frames described by functions that set up one spec each (or write several frames). */
export function writeCapture(path: string, frames: ((spec: PacketSpec) => void)[]): void {
  const w = openPcapWriter(path);
  const buf = new Uint8Array(70000);
  frames.forEach((setup, k) => {
    const spec = newPacketSpec();
    setup(spec);
    const n = writeFrame(buf, 0, spec);
    w.write(1767225600, k * 1000, buf, 0, n);
  });
  w.close();
}

/** The frames of one TCP connection: handshake, one request, one reply, close (10 packets). */
export function tcpConversation(client: string, server: string, sport: number, dport: number): ((spec: PacketSpec) => void)[] {
  const c2s = (flags: number, seq: number, ack: number, len = 0) => (s: PacketSpec) => {
    setAddress(s.src, client); setAddress(s.dst, server); s.srcPort = sport; s.dstPort = dport;
    s.tcpFlags = flags; s.seq = seq; s.ack = ack; s.payloadLength = len;
  };
  const s2c = (flags: number, seq: number, ack: number, len = 0) => (s: PacketSpec) => {
    setAddress(s.src, server); setAddress(s.dst, client); s.srcPort = dport; s.dstPort = sport;
    s.tcpFlags = flags; s.seq = seq; s.ack = ack; s.payloadLength = len;
  };
  const { SYN, ACK, PSH, FIN } = TcpFlag;
  return [
    c2s(SYN, 100, 0), s2c(SYN | ACK, 500, 101), c2s(ACK, 101, 501), c2s(PSH | ACK, 101, 501, 20),
    s2c(ACK, 501, 121), s2c(PSH | ACK, 501, 121, 30), c2s(ACK, 121, 531), c2s(FIN | ACK, 121, 531),
    s2c(FIN | ACK, 531, 122), c2s(ACK, 122, 532),
  ];
}
