/** Test helpers that write captures in memory: classic pcap and pcapng blocks, little-endian. */

/** An Ethernet + IPv4 + UDP frame of `size` bytes (at least 42) from 10.0.0.1:sport to 10.0.0.2:53. */
export function udpFrame(size: number, sport: number): Buffer {
  const f = Buffer.alloc(size);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(size - 14, 16);
  f[23] = 17;
  f.writeUInt32BE(0x0a000001, 26);
  f.writeUInt32BE(0x0a000002, 30);
  f.writeUInt16BE(sport, 34);
  f.writeUInt16BE(53, 36);
  f.writeUInt16BE(size - 34, 38);
  return f;
}

export function pcapFile(frames: Buffer[], linkType = 1, snaplen = 262144): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(snaplen, 16);
  head.writeUInt32LE(linkType, 20);
  const parts: Buffer[] = [head];
  frames.forEach((f, i) => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1700000000 + i, 0);
    h.writeUInt32LE(i % 1000000, 4);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    parts.push(h, f);
  });
  return Buffer.concat(parts);
}

export function ngBlock(type: number, body: Buffer): Buffer {
  const pad = (4 - (body.length % 4)) % 4;
  const len = 12 + body.length + pad;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

export function ngHeader(linkType = 1): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(linkType, 0);
  idb.writeUInt32LE(262144, 4);
  return Buffer.concat([ngBlock(0x0a0d0d0a, shb), ngBlock(1, idb)]);
}

export function ngPacket(frame: Buffer, tsMicros: bigint): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt32LE(0, 0);
  h.writeUInt32LE(Number(tsMicros >> 32n), 4);
  h.writeUInt32LE(Number(tsMicros & 0xffffffffn), 8);
  h.writeUInt32LE(frame.length, 12);
  h.writeUInt32LE(frame.length, 16);
  return ngBlock(6, Buffer.concat([h, frame]));
}
