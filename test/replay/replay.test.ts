import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCapture } from '../../src/traffic/pcap/reader.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { Icmp6Type, IcmpType, newPacketSpec, setAddress, writeFragmentFrames, type PacketSpec } from '../../src/wire/craft.js';
import { openPcapWriter } from '../../src/traffic/pcap/writer.js';
import { SEED_PCAP, runReplay, seedIndexFromYaml, tcpConversation, tempDir, writeCapture } from './helpers.js';
import type { ModelName } from '../../src/match/dataplane.js';
import { DecisionMemo } from '../../src/model/decision-memo.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { buildRowModel } from '../../src/replay/models.js';

const FRONTEND = '10.244.0.3';
const BACKEND = '10.244.0.2';
const OTHER = '10.244.0.4';
const CLUSTER_IP = '10.96.0.2';

/** Records of a pcap as [wireLength, bytes] read by H5's reader (the one the replay uses). */
function readRecords(path: string): Buffer[] {
  const r = openCapture(path, { decode: false });
  const batch = new FlowBatch(256);
  const out: Buffer[] = [];
  while (r.fill(batch) > 0) {
    for (let i = 0; i < batch.count; i++) out.push(Buffer.from(r.chunk.subarray(batch.dataOffset[i]!, batch.dataOffset[i]! + batch.capturedLength[i]!)));
  }
  r.close();
  return out;
}

describe('replay of the seed capture against the seed cluster', () => {
  const index = seedIndexFromYaml();

  it('a thread count the replay cannot honour is a clear RangeError, for library callers too', () => {
    for (const threads of [0, 65, 1.5, Number.NaN]) {
      expect(() => runReplay([SEED_PCAP], index, ['ebpf'], { threads }), `threads ${threads}`).toThrow(/^replay: threads must be a whole number from 1 to 64, not /);
    }
  });

  it('a caller\'s own row models with options they would never see is an error, not a silent default', () => {
    const rowModels = (name: ModelName) => buildRowModel(name, index, DEFAULT_EVAL_OPTIONS);
    const refused = /^replay: rowModels build their own trackers and reference model; conntrackCapacity and decisions go to buildRowModel instead$/;
    expect(() => runReplay([SEED_PCAP], index, ['ebpf'], { rowModels, conntrackCapacity: 10 })).toThrow(refused);
    expect(() => runReplay([SEED_PCAP], index, ['reference'], { rowModels, decisions: new DecisionMemo(index, DEFAULT_EVAL_OPTIONS) })).toThrow(refused);
    expect(runReplay([SEED_PCAP], index, ['ebpf'], { rowModels }).packets).toBe(28);
  });

  for (const model of ['reference', 'iptables', 'ebpf'] as const) {
    it(`${model}: frontend -> backend is allowed, other -> backend is denied, with the reason`, () => {
      const r = runReplay([SEED_PCAP], index, [model]);
      expect(r.packets).toBe(28);
      expect(r.nonIp).toBe(4);
      expect(r.connections).toEqual({ total: 2, allowed: 1, denied: 1, untracked: 0 });
      expect(r.denied).toHaveLength(1);
      expect(r.denied[0]).toMatchObject({
        src: OTHER, dst: BACKEND, dstPort: 80, protocol: 'TCP', srcPod: 'default/other-0', dstPod: 'default/backend-0', packets: 12,
      });
      expect(r.denied[0]!.reason).toBe('ingress of default/backend-0 is isolated by default/backend-allow-frontend, ' +
        'and no rule of it allows default/other-0 to reach it on TCP/80');
      expect(r.policies).toEqual([{ policy: 'default/backend-allow-frontend', allowedConnections: 1, deniedConnections: 1 }]);
      expect(r.damage).toBeNull();
    });
  }

  it('all models agree on every packet of it', () => {
    const r = runReplay([SEED_PCAP], index, ['reference', 'iptables', 'ebpf']);
    expect(r.disagreements).toBe(0);
    expect(r.verdicts['iptables']).toEqual(r.verdicts['reference']);
    expect(r.verdicts['ebpf']).toEqual(r.verdicts['reference']);
  });

  it('writes every packet of the allowed connection to --write-allowed and the denied SYN to --write-dropped, bytes unchanged', () => {
    const dir = tempDir();
    const allowed = join(dir, 'allowed.pcap');
    const dropped = join(dir, 'dropped.pcap');
    const r = runReplay([SEED_PCAP], index, ['reference'], { writeAllowed: allowed, writeDropped: dropped });
    const original = readRecords(SEED_PCAP);
    const a = readRecords(allowed);
    const d = readRecords(dropped);
    expect(a.length).toBe(r.verdicts['reference']!.accepted);
    expect(d.length).toBe(r.verdicts['reference']!.dropped);
    expect(a.length + d.length).toBe(28 - 4);
    // Each written record is byte for byte one of the capture's, in order.
    const ip = original.filter((b) => b.readUInt16BE(12) === 0x0800);
    let k = 0;
    for (const rec of ip) if (k < a.length && rec.equals(a[k]!)) k++;
    expect(k).toBe(a.length);
    // The frontend's connection (records 2..13 of the capture) is written whole to the allowed file.
    for (const rec of original.slice(2, 14)) expect(a.some((x) => x.equals(rec))).toBe(true);
    // The other pod's SYN (record 16) is dropped.
    expect(d[0]!.equals(original[16]!)).toBe(true);
  });
});

describe('replay: Services, fragments, ICMP errors, damage', () => {
  const index = seedIndexFromYaml();

  it('DNATs a ClusterIP to its backend before policy, in both directions, and names the Service', () => {
    const path = join(tempDir(), 'svc.pcap');
    writeCapture(path, [...tcpConversation(FRONTEND, CLUSTER_IP, 40001, 80), ...tcpConversation(OTHER, CLUSTER_IP, 40002, 80)]);
    for (const model of ['reference', 'iptables', 'ebpf'] as const) {
      const r = runReplay([path], index, [model]);
      expect(r.connections).toEqual({ total: 2, allowed: 1, denied: 1, untracked: 0 });
      expect(r.denied[0]).toMatchObject({ src: OTHER, dst: BACKEND, dstPort: 80, service: 'default/backend', dstPod: 'default/backend-0', packets: 10 });
      // Every packet of the frontend's connection passes, replies from the ClusterIP included.
      expect(r.verdicts[model]!.accepted).toBeGreaterThanOrEqual(10);
      expect(r.addressesWithoutPod).toEqual([]);
    }
  });

  it('later fragments follow their first fragment; a fragment without its first is dropped and reported', () => {
    const path = join(tempDir(), 'frag.pcap');
    const w = openPcapWriter(path);
    const buf = new Uint8Array(70000);
    const lengths = new Uint32Array(16);
    const udp = (src: string, id: number): PacketSpec => {
      const s = newPacketSpec();
      setAddress(s.src, src); setAddress(s.dst, BACKEND);
      s.proto = 17; s.srcPort = 5000; s.dstPort = 80; s.ipId = id; s.payloadLength = 3000;
      return s;
    };
    let t = 0;
    const put = (spec: PacketSpec, skipFirst = false) => {
      const count = writeFragmentFrames(buf, 0, spec, 1480, lengths);
      let at = 0;
      for (let k = 0; k < count; k++) {
        if (!(skipFirst && k === 0)) w.write(1767225600, (t++) * 1000, buf, at, lengths[k]!);
        at += lengths[k]!;
      }
      return count;
    };
    // UDP to the backend on port 80: no rule names UDP, so every such datagram is denied at ingress.
    const n1 = put(udp(FRONTEND, 7));
    const n2 = put(udp(OTHER, 8));
    const n3 = put(udp(OTHER, 9), true);
    w.close();
    expect(n1).toBe(3);
    const r = runReplay([path], index, ['reference', 'iptables', 'ebpf']);
    expect(r.packets).toBe(n1 + n2 + n3 - 1);
    expect(r.laterFragments).toBe(2 + 2 + 2);
    expect(r.fragmentsWithoutFirst).toBe(2);
    for (const m of ['reference', 'iptables', 'ebpf']) expect(r.verdicts[m]).toEqual({ accepted: 0, dropped: 8 });
    expect(r.disagreements).toBe(0);
  });

  it('later fragments of an allowed first fragment are accepted', () => {
    const path = join(tempDir(), 'frag-ok.pcap');
    const w = openPcapWriter(path);
    const buf = new Uint8Array(70000);
    const lengths = new Uint32Array(16);
    const s = newPacketSpec();
    setAddress(s.src, FRONTEND); setAddress(s.dst, BACKEND);
    s.tcpFlags = 0x02; s.srcPort = 40000; s.dstPort = 80; s.payloadLength = 2000; s.ipId = 77;
    const count = writeFragmentFrames(buf, 0, s, 1024, lengths);
    let at = 0;
    for (let k = 0; k < count; k++) { w.write(1767225600, k, buf, at, lengths[k]!); at += lengths[k]!; }
    w.close();
    const r = runReplay([path], index, ['reference', 'iptables', 'ebpf']);
    expect(count).toBe(2);
    for (const m of ['reference', 'iptables', 'ebpf']) expect(r.verdicts[m]).toEqual({ accepted: 2, dropped: 0 });
  });

  it('counts an ICMP error quoting a connection with that connection (RELATED, accepted)', () => {
    const path = join(tempDir(), 'icmp.pcap');
    const request = (s: PacketSpec) => {
      setAddress(s.src, FRONTEND); setAddress(s.dst, '203.0.113.7'); s.proto = 17; s.srcPort = 5353; s.dstPort = 53; s.payloadLength = 20;
    };
    writeCapture(path, [request, (s) => {
      const inner = newPacketSpec();
      request(inner);
      setAddress(s.src, '203.0.113.7'); setAddress(s.dst, FRONTEND);
      s.proto = 1; s.icmpType = IcmpType.DEST_UNREACHABLE; s.icmpCode = 3; s.inner = inner;
    }]);
    const r = runReplay([path], index, ['reference', 'iptables', 'ebpf']);
    expect(r.icmpErrors).toBe(1);
    expect(r.connections.total).toBe(1);
    for (const m of ['reference', 'iptables', 'ebpf']) expect(r.verdicts[m]).toEqual({ accepted: 2, dropped: 0 });
    expect(r.addressesWithoutPod).toEqual([{ address: '203.0.113.7', packets: 2 }]);
    void Icmp6Type;
  });

  it('a connection whose first packet seen is a SYN-ACK is denied by conntrack (INVALID), and says so', () => {
    const path = join(tempDir(), 'midstream.pcap');
    // The capture starts after the SYN: the backend's SYN-ACK opens nothing (nf_conntrack_proto_tcp: INVALID).
    writeCapture(path, tcpConversation(FRONTEND, BACKEND, 40100, 80).slice(1, 2));
    for (const model of ['reference', 'iptables', 'ebpf'] as const) {
      const r = runReplay([path], index, [model]);
      expect(r.connections).toMatchObject({ total: 1, denied: 1 });
      expect(r.denied[0]!.reason).toMatch(/^conntrack INVALID/);
    }
  });

  it('reads a truncated capture up to the damage and names its byte offset', () => {
    const dir = tempDir();
    const bytes = readFileSync(SEED_PCAP);
    // Record offsets: 24-byte file header, then 16-byte record headers and their data.
    const offsets: number[] = [];
    for (let at = 24; at < bytes.length; at += 16 + bytes.readUInt32LE(at + 8)) offsets.push(at);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, offsets[20]! + 20));
    const r = runReplay([cut], index);
    expect(r.packets).toBe(20);
    expect(r.damage).toMatchObject({ offset: offsets[20], file: cut });
    expect(r.damage!.reason.length).toBeGreaterThan(0);
  });

  it('replays several captures as one stream', () => {
    const dir = tempDir();
    const copy = join(dir, 'again.pcap');
    copyFileSync(SEED_PCAP, copy);
    const r = runReplay([SEED_PCAP, copy], index);
    expect(r.packets).toBe(56);
    // The same 5-tuples again: the same two connections, twice the packets.
    expect(r.connections.total).toBe(2);
    expect(r.denied[0]!.packets).toBe(24);
  });
});
