/**
 * pcapng (the IETF OPSAWG pcapng draft): a file is sections, each a Section Header Block (SHB) whose
 * byte-order magic sets the byte order of every block up to the next SHB, then Interface Description
 * Blocks (IDB: link type, snapshot length, clock options) and packet blocks that name their interface.
 * Every block is type(4) length(4) body length(4), and the two lengths must agree and be a multiple of 4.
 *
 * Read: SHB, IDB, Enhanced Packet Block (EPB), Simple Packet Block (SPB: interface 0, no timestamp,
 * captured length min(original length, snapshot length)) and the obsolete Packet Block (PB, as EPB
 * with a 16-bit interface id). Every other block (statistics, name resolution, custom, ...) is skipped.
 * Written by hand for the reasons in classic.ts; pcap-parser does not read pcapng at all.
 */
import type { FlowBatch } from '../../wire/flow-batch.js';
import { clearFlows, decodeCleared } from '../../wire/decode.js';
import { u32le } from '../../wire/bytes.js';
import { InputError } from '../../errors.js';
import type { ChunkFile } from './chunk.js';
import { MAX_CAPLEN, MAX_PACKET_BLOCK, type CaptureReader, type Damage } from './capture.js';
import { Interfaces } from './interfaces.js';

export const SHB = 0x0a0d0d0a;
const BOM = 0x1a2b3c4d;
const BOM_SWAPPED = 0x4d3c2b1a;
const IDB = 1, PB = 2, SPB = 3, EPB = 6;
const BLOCK_MIN = 12;
const SHB_MIN = 28, IDB_MIN = 20, EPB_MIN = 32, SPB_MIN = 16;
const EPB_DATA = 28, SPB_DATA = 12;
const OPT_TSRESOL = 9, OPT_TSOFFSET = 14;

export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng';
  damage: Damage | null = null;
  recordsRead = 0;
  private le = true;
  private done = false;
  /** Length of a block too large to buffer that the next fill reads past. */
  private skipLength = 0;
  private readonly ifs = new Interfaces();

  constructor(readonly path: string, private readonly c: ChunkFile, private readonly decode: boolean) {
    const bom = c.end >= BLOCK_MIN ? u32le(c.buf, 8) : 0;
    if (bom !== BOM && bom !== BOM_SWAPPED) {
      throw new InputError(`${path}: pcapng section header at byte 0 has no valid byte-order magic`);
    }
  }

  get chunk(): Uint8Array {
    return this.c.buf;
  }

  get bytesRead(): number {
    return this.c.offset(this.c.pos);
  }

  fill(batch: FlowBatch): number {
    batch.count = 0;
    while (!this.done) {
      if (this.skipLength > 0) {
        this.skipBlock();
        continue;
      }
      const n = this.walk(batch);
      if (n > 0 || this.done) return n;
      if (this.skipLength === 0 && !this.c.refill()) this.end();
    }
    return 0;
  }

  close(): void {
    this.done = true;
    this.c.close();
  }

  /** Walks whole blocks in the chunk, filling a row per packet block, until the batch or chunk runs out. */
  private walk(batch: FlowBatch): number {
    // Header fields are read inline from the view, never through a helper: see bytes.ts on boxed uint32s.
    const c = this.c, b = c.buf, v = c.view, end = c.end, cap = batch.capacity;
    let p = c.pos, row = 0, le = this.le;
    if (this.decode) clearFlows(batch, 0, cap);
    while (row < cap && end - p >= BLOCK_MIN) {
      const type = v.getUint32(p, le);
      if (type === SHB) {
        if (!this.byteOrder(p)) break;
        le = this.le;
      }
      const len = v.getUint32(p + 4, le);
      if (len < BLOCK_MIN || (len & 3) !== 0) {
        this.fail(p, `block length ${len} is ${len < BLOCK_MIN ? `less than ${BLOCK_MIN}` : 'not a multiple of 4'}`);
        break;
      }
      const packet = type === EPB || type === PB || type === SPB;
      // Packet blocks are bounded by MAX_PACKET_BLOCK; headers we must parse by the chunk; others not at all.
      const limit = packet ? MAX_PACKET_BLOCK : type === SHB || type === IDB ? b.length : Infinity;
      if (len > limit) {
        this.fail(p, `${blockName(type)} length ${len} exceeds the ${limit}-byte limit`);
        break;
      }
      if (end - p < len) {
        if (len > b.length) this.skipLength = len; // an unknown block larger than the chunk
        break;
      }
      const trailer = v.getUint32(p + len - 4, le);
      if (trailer !== len) {
        this.fail(p, `trailing block length ${trailer} differs from the leading length ${len}`);
        break;
      }
      if (packet) {
        if (!(type === SPB ? this.simple(p, len, batch, row) : this.enhanced(p, len, type, batch, row))) break;
        row++;
      } else if ((type === IDB && !this.iface(p, len)) || (type === SHB && !this.section(p, len))) break;
      p += len;
    }
    if (!this.done) c.pos = p;
    batch.count = row;
    this.recordsRead += row;
    return row;
  }

  private byteOrder(p: number): boolean {
    const bom = u32le(this.c.buf, p + 8);
    if (bom !== BOM && bom !== BOM_SWAPPED) return this.fail(p, 'section header block with an unknown byte-order magic');
    this.le = bom === BOM;
    return true;
  }

  private section(p: number, len: number): boolean {
    if (len < SHB_MIN) return this.fail(p, `section header block of ${len} bytes is shorter than ${SHB_MIN}`);
    const major = this.rd16(p + 12);
    if (major !== 1) return this.fail(p, `pcapng version ${major}.${this.rd16(p + 14)} is not 1.x`);
    this.ifs.reset(); // interface ids are per section
    return true;
  }

  private iface(p: number, len: number): boolean {
    if (len < IDB_MIN) return this.fail(p, `interface description block of ${len} bytes is shorter than ${IDB_MIN}`);
    let tsresol = 6, offsetSec = 0;
    // Options: code(2) length(2) value padded to 4; opt_endofopt (0) ends them.
    for (let q = p + 16, end = p + len - 4; q + 4 <= end;) {
      const code = this.rd16(q), olen = this.rd16(q + 2);
      if (code === 0 || q + 4 + olen > end) break;
      if (code === OPT_TSRESOL && olen >= 1) tsresol = this.c.buf[q + 4]!;
      if (code === OPT_TSOFFSET && olen >= 8) offsetSec = this.rdSigned64(q + 4);
      q += 4 + ((olen + 3) & ~3);
    }
    const err = this.ifs.add(this.rd16(p + 8), this.rd32(p + 12), tsresol, offsetSec);
    return err === null ? true : this.fail(p, err);
  }

  private enhanced(p: number, len: number, type: number, batch: FlowBatch, row: number): boolean {
    if (len < EPB_MIN) return this.fail(p, `${blockName(type)} of ${len} bytes is shorter than ${EPB_MIN}`);
    const ifid = type === EPB ? this.rd32(p + 8) : this.rd16(p + 8);
    if (ifid >= this.ifs.count) return this.fail(p, `packet on interface ${ifid}, which its section does not describe`);
    const caplen = this.rd32(p + 20);
    if (caplen > len - EPB_MIN) return this.fail(p, `captured length ${caplen} overruns its ${len}-byte block`);
    if (!this.capturedOk(p, caplen, this.ifs.snapLength[ifid]!)) return false;
    this.ifs.stamp(ifid, this.c.view, p + 12, this.le, batch, row);
    this.setRow(p + EPB_DATA, caplen, p + 24, this.ifs.linkType[ifid]!, batch, row);
    return true;
  }

  private simple(p: number, len: number, batch: FlowBatch, row: number): boolean {
    if (len < SPB_MIN) return this.fail(p, `simple packet block of ${len} bytes is shorter than ${SPB_MIN}`);
    if (this.ifs.count === 0) return this.fail(p, 'simple packet block before any interface description');
    const wire = this.rd32(p + 8), snap = this.ifs.snapLength[0]!;
    let caplen = Math.min(wire, len - SPB_MIN);
    if (snap !== 0 && snap < caplen) caplen = snap;
    if (!this.capturedOk(p, caplen, snap)) return false;
    batch.tsSec[row] = 0; // an SPB has no timestamp
    batch.tsNsec[row] = 0;
    this.setRow(p + SPB_DATA, caplen, p + 8, this.ifs.linkType[0]!, batch, row);
    return true;
  }

  private capturedOk(p: number, caplen: number, snap: number): boolean {
    if (caplen > MAX_CAPLEN) return this.fail(p, `captured length ${caplen} is absurd (more than ${MAX_CAPLEN} bytes)`);
    if (snap !== 0 && caplen > snap) return this.fail(p, `captured length ${caplen} exceeds the snapshot length ${snap}`);
    return true;
  }

  /** `wireAt`: where the original length is (read here, not passed in: see bytes.ts on boxed uint32s). */
  private setRow(data: number, caplen: number, wireAt: number, lt: number, batch: FlowBatch, row: number): void {
    const wire = this.c.view.getUint32(wireAt, this.le);
    batch.wireLength[row] = wire;
    batch.capturedLength[row] = caplen;
    batch.dataOffset[row] = data;
    batch.recordIndex[row] = this.recordsRead + row;
    batch.linkType[row] = lt;
    if (this.decode) decodeCleared(this.c.buf, data, caplen, wire, lt, batch, row);
  }

  /** Reads past a block larger than the chunk (never a packet, header or interface block), then checks its trailer. */
  private skipBlock(): void {
    const c = this.c, len = this.skipLength, name = blockName(this.rd32(c.pos));
    this.skipLength = 0;
    const at = c.offset(c.pos);
    if (!c.skip(len - 4) || (c.end - c.pos < 4 && !c.refill()) || c.end - c.pos < 4) {
      this.damage = { offset: at, reason: `file ends inside a ${len}-byte ${name}` };
      this.done = true;
      return;
    }
    const trailer = this.rd32(c.pos);
    if (trailer !== len) {
      this.damage = { offset: at, reason: `trailing block length ${trailer} differs from the leading length ${len}` };
      this.done = true;
      return;
    }
    c.pos += 4;
  }

  private end(): void {
    this.done = true;
    const c = this.c, left = c.end - c.pos;
    if (left === 0) return;
    const reason = left < BLOCK_MIN
      ? `file ends inside a block header (${left} of ${BLOCK_MIN} bytes)`
      : `file ends inside a ${this.rd32(c.pos + 4)}-byte ${blockName(this.rd32(c.pos))} (${left} bytes present)`;
    this.damage = { offset: c.offset(c.pos), reason };
  }

  private fail(p: number, reason: string): false {
    this.damage = { offset: this.c.offset(p), reason };
    this.c.pos = p;
    this.done = true;
    return false;
  }

  private rd16(o: number): number {
    return this.c.view.getUint16(o, this.le);
  }

  private rd32(o: number): number {
    return this.c.view.getUint32(o, this.le);
  }

  private rdSigned64(o: number): number {
    const lo = this.rd32(this.le ? o : o + 4), hi = this.rd32(this.le ? o + 4 : o);
    return (hi | 0) * 4294967296 + lo;
  }
}

function blockName(type: number): string {
  switch (type) {
    case SHB: return 'section header block';
    case IDB: return 'interface description block';
    case PB: return 'packet block';
    case SPB: return 'simple packet block';
    case EPB: return 'enhanced packet block';
    default: return `block of type 0x${type.toString(16)}`;
  }
}
