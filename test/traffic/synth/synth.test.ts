import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { memorySink, PcapWriter, type ByteSink } from '../../../src/traffic/pcap/writer.js';
import { MAX_EXCHANGES, parseSize, planFlows, synthToSink } from '../../../src/traffic/synth/index.js';
import { synthesize } from '../../../src/traffic/synth/generate.js';
import { runCli } from '../../support/cli.js';
import { Rng } from '../../../src/traffic/synth/rng.js';
import { seedIndex, SEED_IPS } from '../../replay/seed-model.js';

function synthBytes(seed: number, packets: number, size = '64', v6 = false, exchanges?: number): Uint8Array {
  const sink = memorySink();
  synthToSink(seedIndex(v6, true), { packets, seed, size: parseSize(size), exchanges }, sink);
  return sink.result();
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Walks the pcap records: [captured length, frame bytes] per record (the test's own tiny reader). */
function records(pcap: Uint8Array): Uint8Array[] {
  const v = new DataView(pcap.buffer, pcap.byteOffset, pcap.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 24; at < pcap.length; ) {
    const len = v.getUint32(at + 8, true);
    out.push(pcap.subarray(at + 16, at + 16 + len));
    at += 16 + len;
  }
  return out;
}

const ipv4 = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

describe('synth: determinism', () => {
  it('gives the same bytes for the same seed and different bytes for another seed', () => {
    const a = synthBytes(42, 5000, 'imix', true);
    const b = synthBytes(42, 5000, 'imix', true);
    const c = synthBytes(43, 5000, 'imix', true);
    expect(sha(a)).toBe(sha(b));
    expect(sha(a)).not.toBe(sha(c));
  });

  it('the PRNG is a fixed sequence per seed', () => {
    const r = new Rng(1);
    const first = [r.next(), r.next(), r.next()];
    const again = new Rng(1);
    expect([again.next(), again.next(), again.next()]).toEqual(first);
    expect(new Rng(2).next()).not.toBe(first[0]);
  });
});

describe('synth: content', () => {
  const recs = records(synthBytes(7, 20000, '64', true));

  it('writes the number of packets asked, each of the asked size or its natural length', () => {
    expect(recs.length).toBe(20000);
    const sizes = new Set(recs.map((r) => r.length));
    expect(sizes.has(64)).toBe(true);
    // Only frames whose headers alone exceed 64 bytes (IPv6 TCP with MSS, ICMP errors) are longer.
    for (const r of recs) if (r.length !== 64) expect(r.length).toBeGreaterThan(64);
  });

  it('carries both the flow the policy allows and the one it denies, and replies only to allowed ones', () => {
    const syn = (r: Uint8Array) => r[12] === 8 && r[13] === 0 && r[23] === 6 && (r[47]! & 0x12) === 0x02;
    const synAck = (r: Uint8Array) => r[12] === 8 && r[13] === 0 && r[23] === 6 && (r[47]! & 0x12) === 0x12;
    const to80 = (r: Uint8Array) => r[36] === 0 && r[37] === 80;
    const from80 = (r: Uint8Array) => r[34] === 0 && r[35] === 80;
    const fromFrontend = recs.filter((r) => syn(r) && to80(r) && ipv4(r, 26) === SEED_IPS.frontend && ipv4(r, 30) === SEED_IPS.backend);
    const fromOther = recs.filter((r) => syn(r) && to80(r) && ipv4(r, 26) === SEED_IPS.other && ipv4(r, 30) === SEED_IPS.backend);
    expect(fromFrontend.length).toBeGreaterThan(0);
    expect(fromOther.length).toBeGreaterThan(0);
    const backendToOther = recs.filter((r) => synAck(r) && from80(r) && ipv4(r, 26) === SEED_IPS.backend && ipv4(r, 30) === SEED_IPS.other);
    const backendToFrontend = recs.filter((r) => synAck(r) && from80(r) && ipv4(r, 26) === SEED_IPS.backend && ipv4(r, 30) === SEED_IPS.frontend);
    expect(backendToOther.length).toBe(0);
    expect(backendToFrontend.length).toBeGreaterThan(0);
  });

  it('mixes IPv4 and IPv6, and TCP, UDP, SCTP and ICMP, and ICMP errors now and then', () => {
    const ethertypes = new Set(recs.map((r) => (r[12]! << 8) | r[13]!));
    expect(ethertypes).toEqual(new Set([0x0800, 0x86dd]));
    const protos = new Set(recs.filter((r) => r[12] === 8).map((r) => r[23]));
    for (const p of [1, 6, 17, 132]) expect(protos.has(p)).toBe(true);
    const unreachable = recs.filter((r) => r[12] === 8 && r[23] === 1 && r[34] === 3);
    expect(unreachable.length).toBeGreaterThan(0);
  });

  it('plans flows the policies allow and flows they deny', () => {
    const plan = planFlows(seedIndex(true, true), 1);
    expect(plan.allowedIdx.length).toBeGreaterThan(0);
    expect(plan.deniedIdx.length).toBeGreaterThan(0);
  });

  it('refuses a bad --size', () => {
    expect(() => parseSize('59')).toThrow(/--size/);
    expect(() => parseSize('big')).toThrow(/--size/);
    expect(parseSize('IMIX')).toEqual({ kind: 'imix' });
  });
});

/**
 * The IPv4 TCP connections of a capture, checked as a receiver would: each side's sequence number moves
 * by the payload bytes (and the SYN and FIN) it sent, and each ACK names the other side's next byte.
 * Returns the packets of each connection that completed (SYN to the last ACK), in capture order.
 */
function completedTcpConnections(pcap: Uint8Array): number[] {
  interface Conn { packets: number; next: [number, number]; synAcked: boolean }
  const open = new Map<string, Conn>();
  const done: number[] = [];
  const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  for (const r of records(pcap)) {
    if (r[12] !== 8 || r[13] !== 0 || r[23] !== 6) continue;
    const ihl = (r[14]! & 15) * 4, tcp = 14 + ihl, flags = r[tcp + 13]!;
    const payload = ((r[16]! << 8) | r[17]!) - ihl - (r[tcp + 12]! >> 4) * 4;
    const src = `${ipv4(r, 26)}:${(r[tcp]! << 8) | r[tcp + 1]!}`, dst = `${ipv4(r, 30)}:${(r[tcp + 2]! << 8) | r[tcp + 3]!}`;
    const seq = u32(r, tcp + 4), ack = u32(r, tcp + 8);
    const syn = (flags & 0x02) !== 0, isAck = (flags & 0x10) !== 0;
    if (syn && !isAck) {
      open.set(`${src}>${dst}`, { packets: 1, next: [(seq + 1) >>> 0, 0], synAcked: false });
      continue;
    }
    const fromClient = open.get(`${src}>${dst}`), fromServer = open.get(`${dst}>${src}`);
    const c = fromClient ?? fromServer;
    if (!c) throw new Error(`a TCP packet ${src} -> ${dst} outside any connection`);
    const side = fromClient ? 0 : 1;
    c.packets++;
    if (syn) {
      c.next[1] = (seq + 1) >>> 0;
      c.synAcked = true;
    } else {
      expect(seq, `${src} -> ${dst} seq`).toBe(c.next[side]);
      c.next[side] = (c.next[side] + payload + (flags & 0x01)) >>> 0;
    }
    expect(ack, `${src} -> ${dst} ack`).toBe(c.next[1 - side]);
    // The client's last ACK, after both FINs: the connection is over.
    if (side === 0 && flags === 0x10 && c.packets > 3) {
      done.push(c.packets);
      open.delete(`${src}>${dst}`);
    }
  }
  return done;
}

describe('synth: --exchanges', () => {
  it('gives each allowed TCP connection 6 + 2n packets whose sequence numbers follow its data', () => {
    for (const exchanges of [1, 3, 40]) {
      const lengths = completedTcpConnections(synthBytes(5, 20000, '64', false, exchanges));
      expect(lengths.length, `exchanges ${exchanges}`).toBeGreaterThan(20);
      expect(new Set(lengths), `exchanges ${exchanges}`).toEqual(new Set([6 + 2 * exchanges]));
    }
  });

  it('leaves the traffic byte for byte as it was at 1 exchange', () => {
    expect(sha(synthBytes(9, 5000, 'imix', true, 1))).toBe(sha(synthBytes(9, 5000, 'imix', true)));
    expect(sha(synthBytes(9, 5000, 'imix', true, 2))).not.toBe(sha(synthBytes(9, 5000, 'imix', true)));
  });

  it('refuses a count outside 1..MAX_EXCHANGES, in the library and on the command line', () => {
    for (const bad of [0, MAX_EXCHANGES + 1, 1.5]) expect(() => synthBytes(1, 10, '64', false, bad)).toThrow(/exchanges .* is not an integer in 1\.\.65535/);
    const r = runCli(['synth', '--cluster', 'captures/seed/cluster.yaml', '--packets', '10', '--exchanges', '0', '-o', '/dev/null']);
    expect([r.status, r.stderr]).toEqual([2, 'netsieve: --exchanges: "0" is not a whole number from 1 to 65535\n']);
  });
});

/** A sink that keeps nothing: the allocation test must not count the sink's own copies. */
function nullSink(): ByteSink {
  return { write() {}, close() {} };
}

/**
 * Bytes allocated per packet, from the heap's growth across runs of 10,000 packets (runs with a GC in
 * them shrink the heap and are left out, so the figure is exact when nothing is collected). One object
 * per packet shows up as 16 bytes or more per packet; the generator's own setup per run is a few KB.
 */
function bytesPerPacket(): number {
  const plan = planFlows(seedIndex(true, true), 3);
  const writer = new PcapWriter(nullSink());
  const run = (seed: number) => synthesize(plan, { packets: 10_000, seed, size: { kind: 'imix' } }, writer);
  // Warm up until the generator and craft.ts are optimised: compilation allocates too, once.
  for (let k = 0; k < 30; k++) run(k);
  let grown = 0;
  let last = getHeapStatistics().used_heap_size;
  for (let k = 0; k < 100; k++) {
    run(k);
    const used = getHeapStatistics().used_heap_size;
    if (used > last) grown += used - last;
    last = used;
  }
  return grown / 1_000_000;
}

describe('synth: no allocation per packet', () => {
  it('allocates (next to) nothing per packet written', () => {
    // Measured: 1.7 to 5 (a number above 2^31, an address word or a checksum, boxed now and then on its
    // way through craft.ts and DataView); one object per packet adds 16 or more.
    expect(bytesPerPacket()).toBeLessThan(8);
  });
});

const hasTshark = spawnSync('tshark', ['-v']).status === 0;

describe.skipIf(!hasTshark)('synth: tshark finds nothing malformed and every checksum valid', () => {
  it('reports no warning or error, with checksum validation on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ns-synth-'));
    // Connections of several exchanges too: tshark's TCP analysis warns of a sequence number that skips
    // or repeats ("previous segment not captured", "retransmission", "ACKed unseen segment").
    for (const [size, exchanges] of [['64', 1], ['imix', 1], ['imix', 6]] as const) {
      const file = join(dir, `s-${size}-${exchanges}.pcap`);
      writeFileSync(file, synthBytes(11, 20000, size, true, exchanges));
      const out = execFileSync('tshark', ['-r', file, '-q', '-z', 'expert,warn',
        '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
        '-o', 'sctp.checksum:crc32c'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(out).not.toMatch(/Malformed|Errors \(/);
      // The one warning allowed: a denied DNS query retried, which is what the traffic is.
      const warnings = out.split('\n').filter((l) => /^\s+\d+\s+\S+\s+\S+\s+/.test(l));
      for (const w of warnings) expect(w).toMatch(/query retransmission/);
      const count = execFileSync('tshark', ['-r', file, '-q', '-z', 'io,stat,0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(count).toMatch(/\b20000\b/);
    }
  });
});
