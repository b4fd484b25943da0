import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c, internetChecksum } from '../../src/wire/checksum.js';
import {
  Icmp6Type, IcmpType, SctpChunk, TcpFlag, newPacketSpec, setAddress, writeFragmentFrames, writeFrame,
  type PacketSpec,
} from '../../src/wire/craft.js';
import { allocatingLoop, gcCountDuring, STRAY_COLLECTIONS } from '../conntrack/support/gc-counter.js';

// Independent checkers: written from the RFCs with DataView and plain loops, sharing no code with src/.
function sum16(bytes: Uint8Array, start: number, end: number, init = 0): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  let s = init;
  for (let i = start; i < end; i += 2) s += i + 1 < end ? dv.getUint16(i) : bytes[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function bitwiseCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0x82f63b78 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface Parsed { family: number; l3: number; l4: number; end: number; proto: number }

function parseFrame(f: Uint8Array): Parsed {
  const dv = new DataView(f.buffer, f.byteOffset);
  const ethertype = dv.getUint16(12);
  if (ethertype === 0x0800) {
    const ihl = (f[14]! & 15) * 4;
    return { family: 4, l3: 14, l4: 14 + ihl, end: 14 + dv.getUint16(16), proto: f[23]! };
  }
  expect(ethertype).toBe(0x86dd);
  const next = f[20]!;
  const end = 54 + dv.getUint16(18);
  return next === 44 ? { family: 6, l3: 14, l4: 62, end, proto: f[54]! } : { family: 6, l3: 14, l4: 54, end, proto: next };
}

function pseudo(f: Uint8Array, p: Parsed, length: number): number {
  const addr = p.family === 4 ? sum16(f, p.l3 + 12, p.l3 + 20) : sum16(f, p.l3 + 8, p.l3 + 40);
  return addr + p.proto + (length >>> 16) + (length & 0xffff);
}

/** Checks every checksum of the frame independently; returns the parsed offsets. */
function verifyFrame(f: Uint8Array): Parsed {
  const p = parseFrame(f);
  if (p.family === 4) expect(sum16(f, p.l3, p.l4), 'IPv4 header checksum').toBe(0xffff);
  const l4len = p.end - p.l4;
  if (p.proto === 6 || p.proto === 17 || p.proto === 58) {
    expect(sum16(f, p.l4, p.end, pseudo(f, p, l4len)), `L4 checksum proto ${p.proto}`).toBe(0xffff);
  } else if (p.proto === 1) {
    expect(sum16(f, p.l4, p.end), 'ICMP checksum').toBe(0xffff);
  } else if (p.proto === 132) {
    const copy = f.slice(p.l4, p.end);
    const stored = new DataView(copy.buffer).getUint32(8, true);
    copy.fill(0, 8, 12);
    expect(stored, 'SCTP CRC32c').toBe(bitwiseCrc32c(copy));
  }
  return p;
}

function frame(spec: PacketSpec): Uint8Array {
  const buf = new Uint8Array(2048);
  const n = writeFrame(buf, 0, spec);
  return buf.slice(0, n);
}

function v6(spec: PacketSpec, src = 'fd00::1', dst = 'fd00::2'): PacketSpec {
  spec.family = 6;
  setAddress(spec.src, src);
  setAddress(spec.dst, dst);
  return spec;
}

/** One spec of every kind the crafter writes, named. */
function catalogue(): Array<[string, PacketSpec]> {
  const out: Array<[string, PacketSpec]> = [];
  const add = (name: string, edit: (s: PacketSpec) => void): void => {
    const s = newPacketSpec();
    edit(s);
    out.push([name, s]);
  };
  add('IPv4 TCP SYN with MSS and DF', (s) => { s.tcpMss = 1460; s.dontFragment = true; s.ipId = 4242; });
  add('IPv4 TCP ACK with payload and IP options', (s) => { s.tcpFlags = TcpFlag.ACK | TcpFlag.PSH; s.payloadLength = 101; s.ipv4OptionWords = 2; });
  add('IPv4 UDP with odd payload', (s) => { s.proto = 17; s.dstPort = 9999; s.payloadLength = 33; });
  add('IPv4 SCTP INIT', (s) => { s.proto = 132; s.dstPort = 5000; s.sctpChunk = SctpChunk.INIT; });
  add('IPv4 SCTP DATA with padding', (s) => { s.proto = 132; s.sctpChunk = SctpChunk.DATA; s.sctpVtag = 77; s.payloadLength = 5; });
  add('IPv4 ICMP echo request', (s) => { s.proto = 1; s.icmpId = 9; s.icmpSeq = 3; s.payloadLength = 56; });
  add('IPv4 ICMP port unreachable quoting UDP', (s) => {
    s.proto = 1; s.icmpType = IcmpType.DEST_UNREACHABLE; s.icmpCode = 3;
    const inner = newPacketSpec(); inner.proto = 17; inner.payloadLength = 20;
    setAddress(inner.src, '10.0.0.2'); setAddress(inner.dst, '10.0.0.1'); s.inner = inner;
  });
  add('IPv4 ICMP time exceeded quoting TCP, cut to 28 bytes', (s) => {
    s.proto = 1; s.icmpType = IcmpType.TIME_EXCEEDED; s.inner = newPacketSpec(); s.quoteLimit = 28;
  });
  add('IPv6 TCP SYN-ACK with flow label', (s) => { v6(s); s.tcpFlags = TcpFlag.SYN | TcpFlag.ACK; s.flowLabel = 0xabcde; });
  add('IPv6 UDP', (s) => { v6(s); s.proto = 17; s.payloadLength = 7; });
  add('IPv6 SCTP INIT', (s) => { v6(s); s.proto = 132; });
  add('IPv6 ICMPv6 echo request', (s) => { v6(s); s.proto = 58; s.icmpType = Icmp6Type.ECHO_REQUEST; s.payloadLength = 8; });
  add('IPv6 ICMPv6 packet too big quoting TCP', (s) => {
    v6(s); s.proto = 58; s.icmpType = Icmp6Type.PACKET_TOO_BIG; s.icmpRest = 1280;
    s.inner = v6(newPacketSpec(), 'fd00::2', 'fd00::1'); s.inner.payloadLength = 100;
  });
  return out;
}

describe('checksums', () => {
  it('CRC32c of "123456789" is the check value 0xE3069283 (RFC 3720 B.4)', () => {
    expect(crc32c(new TextEncoder().encode('123456789'), 0, 9)).toBe(0xe3069283);
  });

  it('CRC32c agrees with a bitwise implementation on random buffers', () => {
    for (let n = 0; n < 50; n++) {
      const b = new Uint8Array(n * 7 + 1).map((_, i) => (i * 131 + n * 17) & 0xff);
      expect(crc32c(b, 0, b.length)).toBe(bitwiseCrc32c(b));
    }
  });

  it('the Internet checksum of the RFC 1071 example bytes is the complement of 0xddf2', () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(internetChecksum(b, 0, b.length)).toBe(~0xddf2 & 0xffff);
  });
});

describe('crafted frames carry valid checksums', () => {
  for (const [name, spec] of catalogue()) {
    it(name, () => {
      const f = frame(spec);
      const p = verifyFrame(f);
      expect(p.family).toBe(spec.family);
      expect(p.proto).toBe(spec.proto);
    });
  }

  it('the IPv4 header carries id, TTL, DF and the addresses as given', () => {
    const s = newPacketSpec();
    s.ipId = 0xbeef; s.ttl = 9; s.dontFragment = true;
    const f = frame(s);
    expect([f[18], f[19], f[22], f[20]! & 0x40]).toEqual([0xbe, 0xef, 9, 0x40]);
    expect([...f.subarray(26, 34)]).toEqual([10, 0, 0, 1, 10, 0, 0, 2]);
  });

  it('an ICMPv4 error stays within 576 bytes however large the quoted packet', () => {
    const s = newPacketSpec();
    s.proto = 1; s.icmpType = 3; s.inner = newPacketSpec(); s.inner.payloadLength = 1400;
    const f = frame(s);
    expect(f.length - 14).toBe(576);
    verifyFrame(f);
  });

  it('a SCTP INIT carries verification tag 0 whatever the spec says', () => {
    const s = newPacketSpec();
    s.proto = 132; s.sctpVtag = 99;
    const f = frame(s);
    expect([...f.subarray(38, 42)]).toEqual([0, 0, 0, 0]);
  });
});

function reassembleAndCheck(spec: PacketSpec, fragmentBytes: number): number {
  const buf = new Uint8Array(8192);
  const lengths = new Uint32Array(16);
  const count = writeFragmentFrames(buf, 0, spec, fragmentBytes, lengths);
  const l4 = new Uint8Array(4096);
  let at = 0;
  let l4len = 0;
  let first: Parsed | null = null;
  for (let k = 0; k < count; k++) {
    const f = buf.slice(at, at + lengths[k]!);
    at += lengths[k]!;
    const p = parseFrame(f);
    first ??= p;
    if (p.family === 4) expect(sum16(f, p.l3, p.l4)).toBe(0xffff);
    const dv = new DataView(f.buffer);
    const fragOff = p.family === 4 ? (dv.getUint16(20) & 0x1fff) * 8 : dv.getUint16(56) & 0xfff8;
    const more = p.family === 4 ? (dv.getUint16(20) & 0x2000) !== 0 : (dv.getUint16(56) & 1) === 1;
    expect(more).toBe(k < count - 1);
    l4.set(f.subarray(p.l4, p.end), fragOff);
    l4len = fragOff + p.end - p.l4;
  }
  const whole = new Uint8Array(first!.l4 + l4len);
  whole.set(buf.subarray(0, first!.l4));
  expect(sum16(l4, 0, l4len, pseudo(whole, first!, l4len))).toBe(0xffff);
  return count;
}

describe('fragments', () => {
  it('an IPv4 UDP datagram cut into fragments reassembles to a valid UDP checksum', () => {
    const s = newPacketSpec();
    s.proto = 17; s.payloadLength = 1000; s.ipId = 321;
    expect(reassembleAndCheck(s, 400)).toBe(3);
    expect(s.fragmentOffset).toBe(0);
    expect(s.moreFragments).toBe(false);
  });

  it('an IPv6 TCP segment cut into fragments carries fragment headers and reassembles', () => {
    const s = v6(newPacketSpec());
    s.payloadLength = 500; s.ipId = 0x01020304;
    expect(reassembleAndCheck(s, 256)).toBe(3);
    expect(s.ipv6FragmentHeader).toBe(false);
  });
});

function writePcap(path: string, frames: Uint8Array[]): void {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0); gh.writeUInt16LE(2, 4); gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16); gh.writeUInt32LE(1, 20);
  parts.push(gh);
  frames.forEach((f, i) => {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1700000000 + i, 0); rh.writeUInt32LE(f.length, 8); rh.writeUInt32LE(f.length, 12);
    parts.push(rh, Buffer.from(f));
  });
  writeFileSync(path, Buffer.concat(parts));
}

const haveTshark = existsSync('/usr/bin/tshark');
const requireTools = process.env.CI === 'true';

describe('tshark agrees the frames are well formed', () => {
  it.skipIf(!haveTshark && !requireTools)('no expert errors or warnings, every checksum verified good', () => {
    expect(haveTshark, 'tshark is required in CI (apt-get install -y tshark)').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-craft-'));
    try {
      const frames = catalogue().map(([, s]) => frame(s));
      const path = join(dir, 'craft.pcap');
      writePcap(path, frames);
      const prefs = ['ip.check_checksum:TRUE', 'tcp.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'sctp.checksum:crc-32c'];
      const args = ['-r', path, ...prefs.flatMap((p) => ['-o', p])];
      const expert = execFileSync('tshark', [...args, '-q', '-z', 'expert,warn'], { encoding: 'utf8' });
      expect(expert).not.toMatch(/Errors|Warns|Malformed|[Bb]ad checksum|incorrect/);
      const fields = ['ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status', 'icmp.checksum.status', 'sctp.checksum.status', 'icmpv6.checksum.status'];
      const table = execFileSync('tshark', [...args, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
      // Wireshark's checksum status enum: 0 bad, 1 good, 2 unverified, 3 not present.
      const statuses = table.split(/[\s,]+/).filter((t) => t !== '');
      // Every frame (one line each) has at least one checksum verified, and all of them are good.
      const lines = table.trim().split('\n');
      expect(lines.length).toBe(frames.length);
      for (const line of lines) expect(line.replace(/\s/g, '')).not.toBe('');
      expect(statuses.filter((t) => t !== '1')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('no allocation per packet', () => {
  it('writing two million frames triggers no garbage collection (an allocating loop does)', async () => {
    const buf = new Uint8Array(4096);
    const specs = catalogue().map(([, s]) => s);
    const loop = (): void => {
      for (let i = 0; i < 2_000_000; i++) {
        const s = specs[i % specs.length]!;
        s.srcPort = 1024 + (i & 0x7fff);
        writeFrame(buf, 0, s);
      }
    };
    // Warm-up: the optimiser compiles (and may re-compile) the loop first, which itself allocates.
    for (let r = 0; r < 3; r++) loop();
    expect(await gcCountDuring(loop)).toBeLessThanOrEqual(STRAY_COLLECTIONS);
    expect(await gcCountDuring(() => allocatingLoop(2_000_000))).toBeGreaterThan(STRAY_COLLECTIONS);
  });
});
