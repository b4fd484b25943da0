import { describe, expect, it } from 'vitest';
import { indexCluster } from '../../src/model/cluster-index.js';
import { ipToWords, mustParseIp } from '../../src/model/ip.js';
import type { Cluster, Pod } from '../../src/model/types.js';
import { ConnectionTable, Count, RECORD_DOUBLES } from '../../src/replay/connections.js';
import { applyNat, buildServiceNat } from '../../src/replay/nat.js';
import { FlowBatch } from '../../src/wire/flow-batch.js';
import { seedCluster } from './seed-model.js';

function row(batch: FlowBatch, i: number, src: string, sp: number, dst: string, dp: number, proto = 6): void {
  const s = mustParseIp(src);
  batch.family[i] = s.family;
  ipToWords(s, batch.src, i * 4);
  ipToWords(mustParseIp(dst), batch.dst, i * 4);
  batch.srcPort[i] = sp;
  batch.dstPort[i] = dp;
  batch.proto[i] = proto;
}

const words = (b: Uint32Array, i: number) => Array.from(b.subarray(i * 4, i * 4 + 4));

describe('connection table', () => {
  it('finds each connection from either direction across many resizes, and caps its size', () => {
    const t = new ConnectionTable(6000);
    const b = new FlowBatch(2);
    for (let k = 0; k < 5000; k++) {
      row(b, 0, `10.1.${k >> 8}.${k & 255}`, 1000 + k, '10.2.0.1', 80);
      expect(t.lookupOrAdd(b, 0, b.src, b.dst, b.srcPort[0]!, b.dstPort[0]!, 6)).toBe(k);
    }
    for (let k = 0; k < 5000; k += 7) {
      row(b, 1, '10.2.0.1', 80, `10.1.${k >> 8}.${k & 255}`, 1000 + k);
      expect(t.lookupOrAdd(b, 1, b.src, b.dst, b.srcPort[1]!, b.dstPort[1]!, 6)).toBe(k);
      expect(t.find(4, b.src, 4, b.dst, 4, 80, 1000 + k, 6)).toBe(k);
      // Another protocol, or another port, is another connection.
      expect(t.find(4, b.src, 4, b.dst, 4, 80, 1000 + k, 17)).toBe(-1);
      expect(t.find(4, b.src, 4, b.dst, 4, 81, 1000 + k, 6)).toBe(-1);
    }
    expect(t.count).toBe(5000);
    for (let k = 5000; k < 7000; k++) {
      row(b, 0, `10.3.${k >> 8}.${k & 255}`, 1, '10.2.0.1', 80);
      t.lookupOrAdd(b, 0, b.src, b.dst, 1, 80, 6);
    }
    expect(t.count).toBe(6000);
    expect(t.overflow).toBe(1000);
  });
});

describe('connection table memory', () => {
  it('takes its columns and its large index from the allocator, and keeps every row as it grows', () => {
    const sizes: number[] = [];
    const allocate = (bytes: number) => {
      sizes.push(bytes);
      return new ArrayBuffer(bytes);
    };
    // Room for 1,024 rows at first: 70,000 connections double the columns seven times, and the index
    // (2,048 slots at first, 8 bytes each) to 262,144 slots: 2 MiB, the first size the allocator gives.
    const t = new ConnectionTable(1 << 22, 0, allocate);
    const b = new FlowBatch(1);
    const n = 70_000;
    for (let k = 0; k < n; k++) {
      row(b, 0, `10.${k >> 16}.${(k >> 8) & 255}.${k & 255}`, 1000 + (k % 50000), '10.200.0.1', 443, k % 3 === 0 ? 17 : 6);
      b.verdict[0] = k & 1;
      b.recordIndex[0] = k * 3;
      const c = t.lookupOrAdd(b, 0, b.src, b.dst, b.srcPort[0]!, b.dstPort[0]!, b.proto[0]!);
      expect(c).toBe(k);
      t.counts[c * RECORD_DOUBLES + Count.PACKETS] = k + 0.5;
    }
    expect(t.count).toBe(n);
    // A row's columns take 86 bytes (a 64-byte record, 8 + 4 + 4 + 4 + 1 + 1), all in one buffer.
    const columns = Array.from({ length: 8 }, (_, j) => 86 * (1024 << j));
    expect(sizes).toEqual([...columns, 2 << 20]);
    for (let k = 0; k < n; k += 997) {
      row(b, 0, '10.200.0.1', 443, `10.${k >> 16}.${(k >> 8) & 255}.${k & 255}`, 1000 + (k % 50000), k % 3 === 0 ? 17 : 6);
      expect(t.lookupOrAdd(b, 0, b.src, b.dst, 443, 1000 + (k % 50000), b.proto[0]!)).toBe(k);
      expect(t.verdict[k]).toBe(k & 1);
      expect(t.firstRecord[k]).toBe(k * 3);
      expect(t.counts[k * RECORD_DOUBLES + Count.PACKETS]).toBe(k + 0.5);
      expect(t.srcPortOf(k)).toBe(1000 + (k % 50000));
      expect(t.protoOf(k)).toBe(k % 3 === 0 ? 17 : 6);
    }
    expect(t.key.buffer).toBe(t.counts.buffer);
    expect(t.verdict.buffer).toBe(t.counts.buffer);
  });
});

describe('Service DNAT', () => {
  const pod = (name: string, ip: string): Pod => ({
    namespace: 'default', name, labels: { app: 'backend' }, ips: [mustParseIp(ip)],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], hostNetwork: false, nodeName: null,
    source: { file: 'x', kind: 'Pod', namespace: 'default', name },
  });
  const base = seedCluster();
  const cluster: Cluster = { ...base, pods: [...base.pods, pod('backend-1', '10.244.0.9'), pod('backend-2', '10.244.0.10')] };
  const nat = buildServiceNat(indexCluster(cluster));

  it('sends a connection to one backend, the same in both directions, and spreads clients over all backends', () => {
    const seen = new Set<string>();
    const b = new FlowBatch(2);
    for (let port = 40000; port < 40200; port++) {
      row(b, 0, '10.244.0.3', port, '10.96.0.2', 80);
      expect(applyNat(nat, b, 0)).toBe(0);
      const backend = words(b.dst, 0).join('.');
      seen.add(`${backend}:${b.dstPort[0]}`);
      row(b, 1, '10.96.0.2', 80, '10.244.0.3', port);
      expect(applyNat(nat, b, 1)).toBe(0);
      expect(words(b.src, 1).join('.')).toBe(backend);
      expect(b.srcPort[1]).toBe(b.dstPort[0]);
    }
    // backend-0 resolves targetPort "http" to 80, the two added backends to 8080.
    const expected = ['10.244.0.2', '10.244.0.9', '10.244.0.10'].map((ip) => words(Uint32Array.from(ipWords(ip)), 0).join('.'));
    expect(seen.size).toBe(3);
    for (const e of expected) expect([...seen].some((s) => s.startsWith(`${e}:`))).toBe(true);
  });

  it('leaves other addresses and ports alone', () => {
    const b = new FlowBatch(1);
    row(b, 0, '10.244.0.3', 40000, '10.96.0.2', 443);
    expect(applyNat(nat, b, 0)).toBe(-1);
    expect(b.dstPort[0]).toBe(443);
    row(b, 0, '10.244.0.3', 40000, '10.96.0.2', 80, 17);
    expect(applyNat(nat, b, 0)).toBe(-1);
  });
});

function ipWords(ip: string): number[] {
  const w = new Uint32Array(4);
  ipToWords(mustParseIp(ip), w, 0);
  return Array.from(w);
}
