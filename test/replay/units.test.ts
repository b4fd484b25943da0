import { describe, expect, it } from 'vitest';
import { indexCluster } from '../../src/model/cluster-index.js';
import { ipToWords, mustParseIp } from '../../src/model/ip.js';
import type { Cluster, Pod } from '../../src/model/types.js';
import { ConnectionTable } from '../../src/replay/connections.js';
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
