/**
 * Service DNAT in the replay, as kube-proxy's nat table does it in PREROUTING before any filter sees the
 * packet: a packet to a ClusterIP:port goes to one backend pod's address and target port, and a packet
 * from ClusterIP:port (the reply as a capture on the client side shows it, already un-NATed by the
 * kernel) is mapped back to the same backend, so both directions meet the same conntrack entry and
 * policy only ever sees pod addresses.
 *
 * The backend is chosen deterministically, by a hash of the connection's client end (address, port)
 * and protocol: the same connection always lands on the same backend, in both directions, on every run.
 * (kube-proxy picks at random with `-m statistic`; a replay must be repeatable.)
 *
 * The tables are typed arrays built once; the per-row work is a short probe of a small hash table.
 */
import type { ClusterIndex } from '../model/cluster-index.js';
import { ipToWords } from '../model/ip.js';
import { serviceBackends } from '../model/services.js';
import { L4_PROTOCOL_NUMBER, qualifiedName } from '../model/types.js';
import type { FlowBatch } from '../wire/flow-batch.js';

export interface ServiceNat {
  /** Service ports: address words, family, port, protocol, and their backends' range. */
  readonly count: number;
  readonly addr: Uint32Array;
  readonly family: Uint8Array;
  readonly port: Uint16Array;
  readonly proto: Uint8Array;
  readonly backendStart: Int32Array;
  readonly backendCount: Int32Array;
  readonly backendAddr: Uint32Array;
  readonly backendPort: Uint16Array;
  /** `namespace/name` per service port, for reports. */
  readonly names: readonly string[];
  /** Open-addressing index over (address, port, protocol): slot -> service port + 1, 0 empty. */
  readonly slots: Int32Array;
  readonly mask: number;
  /**
   * The range the IPv4 Service addresses span: an address a is in it when (a - v4Low) >>> 0 <= v4Span.
   * ClusterIPs come from one service CIDR, so pod and node addresses fall outside it and their rows skip
   * both probes (native/src/hot.h vip_maybe does the same, then a bit per address). No IPv4 Service:
   * v4Low 0xffffffff, v4Span 0.
   */
  readonly v4Low: number;
  readonly v4Span: number;
}

export function buildServiceNat(index: ClusterIndex): ServiceNat {
  const rows: { addr: Uint32Array; family: number; port: number; proto: number; name: string; backends: { addr: Uint32Array; port: number }[] }[] = [];
  for (const service of index.cluster.services) {
    for (const cip of service.clusterIPs) {
      for (const sp of service.ports) {
        const backends = serviceBackends(index, service, sp, cip.family).map((b) => {
          const addr = new Uint32Array(4);
          ipToWords(b.pod.ips.find((ip) => ip.family === cip.family)!, addr, 0);
          return { addr, port: b.port };
        });
        const addr = new Uint32Array(4);
        ipToWords(cip, addr, 0);
        rows.push({ addr, family: cip.family, port: sp.port, proto: L4_PROTOCOL_NUMBER[sp.protocol], name: qualifiedName(service), backends });
      }
    }
  }
  return packNat(rows);
}

function packNat(rows: { addr: Uint32Array; family: number; port: number; proto: number; name: string; backends: { addr: Uint32Array; port: number }[] }[]): ServiceNat {
  const n = rows.length;
  const total = rows.reduce((k, r) => k + r.backends.length, 0);
  let size = 8;
  while (size < n * 2) size *= 2;
  const nat: ServiceNat = {
    count: n, addr: new Uint32Array(n * 4), family: new Uint8Array(n), port: new Uint16Array(n), proto: new Uint8Array(n),
    backendStart: new Int32Array(n), backendCount: new Int32Array(n), backendAddr: new Uint32Array(total * 4),
    backendPort: new Uint16Array(total), names: rows.map((r) => r.name), slots: new Int32Array(size), mask: size - 1,
    ...v4Range(rows),
  };
  let b = 0;
  rows.forEach((r, s) => {
    nat.addr.set(r.addr, s * 4);
    nat.family[s] = r.family;
    nat.port[s] = r.port;
    nat.proto[s] = r.proto;
    nat.backendStart[s] = b;
    nat.backendCount[s] = r.backends.length;
    for (const be of r.backends) {
      nat.backendAddr.set(be.addr, b * 4);
      nat.backendPort[b++] = be.port;
    }
    let h = slotHash(r.addr, 0, r.port, r.proto) & nat.mask;
    while (nat.slots[h] !== 0) h = (h + 1) & nat.mask;
    nat.slots[h] = s + 1;
  });
  return nat;
}

function v4Range(rows: readonly { addr: Uint32Array; family: number }[]): { v4Low: number; v4Span: number } {
  let low = 0xffffffff, high = 0;
  for (const r of rows) {
    if (r.family !== 4) continue;
    low = Math.min(low, r.addr[0]!);
    high = Math.max(high, r.addr[0]!);
  }
  return { v4Low: low, v4Span: low <= high ? high - low : 0 };
}

function slotHash(words: Uint32Array, off: number, port: number, proto: number): number {
  let h = Math.imul(words[off]! ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ words[off + 1]! ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ words[off + 2]! ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ words[off + 3]! ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ ((port << 8) | proto), 0x27d4eb2d);
  return (h ^ (h >>> 15)) >>> 0;
}

/** The service port at (words[off..], port, proto), or -1. */
function findServicePort(nat: ServiceNat, family: number, words: Uint32Array, off: number, port: number, proto: number): number {
  let h = slotHash(words, off, port, proto) & nat.mask;
  for (;;) {
    const s = nat.slots[h]! - 1;
    if (s < 0) return -1;
    const a = s * 4;
    if (nat.port[s] === port && nat.proto[s] === proto && nat.family[s] === family && nat.addr[a] === words[off] &&
      nat.addr[a + 1] === words[off + 1] && nat.addr[a + 2] === words[off + 2] && nat.addr[a + 3] === words[off + 3]) return s;
    h = (h + 1) & nat.mask;
  }
}

/** The backend for a client end: a hash of its address, port and the protocol, modulo the backends. */
function pickBackend(nat: ServiceNat, s: number, client: Uint32Array, off: number, clientPort: number, proto: number): number {
  return nat.backendStart[s]! + (slotHash(client, off, clientPort, proto) % nat.backendCount[s]!);
}

/**
 * Rewrites row i in place when it is addressed to a Service (DNAT) or comes from one (the reply side).
 * Returns the service port index, or -1 when the row was left alone. A Service port without backends
 * is left alone too: kube-proxy rejects such packets, and policy never sees them.
 */
export function applyNat(nat: ServiceNat, batch: FlowBatch, i: number): number {
  if (nat.count === 0) return -1;
  const family = batch.family[i]!;
  const proto = batch.proto[i]!;
  if (family === 0 || (proto !== 6 && proto !== 17 && proto !== 132)) return -1;
  const off = i * 4;
  if (family === 4 && ((batch.dst[off]! - nat.v4Low) >>> 0) > nat.v4Span && ((batch.src[off]! - nat.v4Low) >>> 0) > nat.v4Span) return -1;
  let s = findServicePort(nat, family, batch.dst, off, batch.dstPort[i]!, proto);
  if (s >= 0 && nat.backendCount[s]! > 0) {
    const b = pickBackend(nat, s, batch.src, off, batch.srcPort[i]!, proto);
    for (let k = 0; k < 4; k++) batch.dst[off + k] = nat.backendAddr[b * 4 + k]!;
    batch.dstPort[i] = nat.backendPort[b]!;
    return s;
  }
  s = findServicePort(nat, family, batch.src, off, batch.srcPort[i]!, proto);
  if (s >= 0 && nat.backendCount[s]! > 0) {
    const b = pickBackend(nat, s, batch.dst, off, batch.dstPort[i]!, proto);
    for (let k = 0; k < 4; k++) batch.src[off + k] = nat.backendAddr[b * 4 + k]!;
    batch.srcPort[i] = nat.backendPort[b]!;
    return s;
  }
  return -1;
}
