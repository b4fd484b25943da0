/** Test helpers: reading a whole capture into plain row objects, to compare with expected tables. */
import { FlowBatch } from '../../../src/wire/flow-batch.js';
import { openCapture, type CaptureOptions, type Damage } from '../../../src/traffic/pcap/reader.js';

export interface Row {
  family: number; src: number[]; dst: number[]; proto: number; srcPort: number; dstPort: number;
  tcpFlags: number; icmpType: number; icmpCode: number; flags: number; fragmentId: number;
  innerSrc: number[]; innerDst: number[]; innerProto: number; innerSrcPort: number; innerDstPort: number;
  sctpChunk: number; tsSec: number; tsNsec: number;
}

export interface RecordRow extends Row {
  recordIndex: number; linkType: number; wireLength: number; capturedLength: number; bytes: string;
}

export function rowOf(b: FlowBatch, i: number): Row {
  const w = (a: Uint32Array): number[] => Array.from(a.subarray(i * 4, i * 4 + 4));
  return {
    family: b.family[i]!, src: w(b.src), dst: w(b.dst), proto: b.proto[i]!, srcPort: b.srcPort[i]!,
    dstPort: b.dstPort[i]!, tcpFlags: b.tcpFlags[i]!, icmpType: b.icmpType[i]!, icmpCode: b.icmpCode[i]!,
    flags: b.flags[i]!, fragmentId: b.fragmentId[i]!, innerSrc: w(b.innerSrc), innerDst: w(b.innerDst),
    innerProto: b.innerProto[i]!, innerSrcPort: b.innerSrcPort[i]!, innerDstPort: b.innerDstPort[i]!,
    sctpChunk: b.sctpChunk[i]!, tsSec: b.tsSec[i]!, tsNsec: b.tsNsec[i]!,
  };
}

export interface ReadResult {
  rows: RecordRow[];
  damage: Damage | null;
  recordsRead: number;
  bytesRead: number;
  format: string;
  fills: number;
}

/** Reads every record of `path` with a batch of `capacity` rows, copying each row out before the next fill. */
export function readAll(path: string, capacity = 3, options: CaptureOptions = {}): ReadResult {
  const reader = openCapture(path, options);
  const batch = new FlowBatch(capacity);
  const rows: RecordRow[] = [];
  let fills = 0;
  try {
    for (let n = reader.fill(batch); n > 0; n = reader.fill(batch)) {
      fills++;
      for (let i = 0; i < n; i++) {
        const off = batch.dataOffset[i]!, len = batch.capturedLength[i]!;
        rows.push({
          ...rowOf(batch, i), recordIndex: batch.recordIndex[i]!, linkType: batch.linkType[i]!,
          wireLength: batch.wireLength[i]!, capturedLength: len,
          bytes: Buffer.from(reader.chunk.subarray(off, off + len)).toString('hex'),
        });
      }
    }
    return { rows, damage: reader.damage, recordsRead: reader.recordsRead, bytesRead: reader.bytesRead, format: reader.format, fills };
  } finally {
    reader.close();
  }
}
