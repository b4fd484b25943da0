/**
 * The shared memory between the replay's main thread and its workers (`--threads N`): per worker a ring
 * of slots, each a FlowBatch whose columns are views over one SharedArrayBuffer (so a worker runs the
 * same stage code, and the native addon binds the same columns, with no copy on its side), plus the
 * rows' Service ports and, when the main thread writes pcaps, the primary verdicts coming back.
 *
 * A control Int32Array per worker synchronises by Atomics: the main thread fills slot `head % SLOTS`,
 * then publishes it by advancing HEAD; the worker runs it and advances TAIL. A slot whose count is -1
 * tells the worker to finish.
 */
import { FlowBatch } from '../wire/flow-batch.js';

export const SLOTS = 16;
export const Ctl = {
  /** Slots published by the main thread (a sequence number, not modulo). */
  HEAD: 0,
  /** Slots the worker has finished. */
  TAIL: 1,
  /** 1 once the worker has built its models and waits for rows. */
  READY: 2,
  /** 1 when the worker failed (its message says why). */
  ERROR: 3,
  /** 1 once the worker has posted its result. */
  DONE: 4,
  /** Then per slot: row count (-1: finish), capture index. */
  SLOT: 5,
} as const;
export const CTL_WORDS = Ctl.SLOT + 2 * SLOTS;

export interface Slot {
  readonly sab: SharedArrayBuffer;
  readonly batch: FlowBatch;
  readonly services: Int32Array;
  readonly primary: Uint8Array;
}

type Columns = Record<string, ArrayBufferView & { length: number; BYTES_PER_ELEMENT: number }>;

/** FlowBatch's columns in declaration order, with elements per row (the contract's layout, read from it). */
function columnsOf(): { name: string; per: number; make: new (b: SharedArrayBuffer, o: number, n: number) => ArrayBufferView }[] {
  const probe = new FlowBatch(1) as unknown as Columns;
  return Object.keys(probe).filter((k) => ArrayBuffer.isView(probe[k])).map((name) => ({
    name, per: probe[name]!.length, make: probe[name]!.constructor as new (b: SharedArrayBuffer, o: number, n: number) => ArrayBufferView,
  }));
}

const COLUMNS = columnsOf();

function slotBytes(capacity: number): number {
  let bytes = 0;
  for (const c of COLUMNS) bytes += align8(capacity * c.per * (c.make as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
  return bytes + align8(capacity * 4) + align8(capacity);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** A slot over `sab` (made when absent): a FlowBatch of `capacity` rows with shared columns. */
export function sharedSlot(capacity: number, sab: SharedArrayBuffer = new SharedArrayBuffer(slotBytes(capacity))): Slot {
  const batch = new FlowBatch(capacity);
  const cols = batch as unknown as Record<string, ArrayBufferView>;
  let at = 0;
  for (const c of COLUMNS) {
    const view = new c.make(sab, at, capacity * c.per);
    cols[c.name] = view;
    at += align8(view.byteLength);
  }
  const services = new Int32Array(sab, at, capacity);
  at += align8(capacity * 4);
  return { sab, batch, services, primary: new Uint8Array(sab, at, capacity) };
}

/**
 * Row i of `from` into row j of `to`: the columns connection tracking and the models read. Not copied:
 * linkType, dataOffset, capturedLength (the record's bytes stay with the main thread, which writes the
 * pcaps) and the outputs. test/replay/threads.test.ts fails when FlowBatch gains a column not named here.
 */
export function copyRow(from: FlowBatch, i: number, to: FlowBatch, j: number): void {
  to.family[j] = from.family[i]!;
  to.proto[j] = from.proto[i]!;
  to.srcPort[j] = from.srcPort[i]!;
  to.dstPort[j] = from.dstPort[i]!;
  to.tcpFlags[j] = from.tcpFlags[i]!;
  to.icmpType[j] = from.icmpType[i]!;
  to.icmpCode[j] = from.icmpCode[i]!;
  to.flags[j] = from.flags[i]!;
  to.fragmentId[j] = from.fragmentId[i]!;
  to.innerProto[j] = from.innerProto[i]!;
  to.innerSrcPort[j] = from.innerSrcPort[i]!;
  to.innerDstPort[j] = from.innerDstPort[i]!;
  to.sctpChunk[j] = from.sctpChunk[i]!;
  to.wireLength[j] = from.wireLength[i]!;
  to.tsSec[j] = from.tsSec[i]!;
  to.tsNsec[j] = from.tsNsec[i]!;
  to.recordIndex[j] = from.recordIndex[i]!;
  const o = i * 4;
  const p = j * 4;
  for (let w = 0; w < 4; w++) {
    to.src[p + w] = from.src[o + w]!;
    to.dst[p + w] = from.dst[o + w]!;
    to.innerSrc[p + w] = from.innerSrc[o + w]!;
    to.innerDst[p + w] = from.innerDst[o + w]!;
  }
}

/**
 * Rows [0, count) of a slot into a batch of the worker's own, column by column (one memcpy each). The
 * addon binds only ArrayBuffer-backed columns (Node-API refuses a SharedArrayBuffer's), and a plain
 * FlowBatch keeps the stage's code monomorphic.
 */
export function copySlot(from: FlowBatch, to: FlowBatch, count: number): void {
  const src = from as unknown as Record<string, Uint8Array>;
  const dst = to as unknown as Record<string, Uint8Array>;
  for (const c of COLUMNS) dst[c.name]!.set(src[c.name]!.subarray(0, count * c.per));
  to.count = count;
}

/** The columns copyRow copies, and those it leaves out on purpose. */
export const COPIED_COLUMNS = [
  'family', 'src', 'dst', 'proto', 'srcPort', 'dstPort', 'tcpFlags', 'icmpType', 'icmpCode', 'flags', 'fragmentId', 'innerSrc',
  'innerDst', 'innerProto', 'innerSrcPort', 'innerDstPort', 'sctpChunk', 'wireLength', 'tsSec', 'tsNsec', 'recordIndex',
];
export const LEFT_COLUMNS = ['linkType', 'dataOffset', 'capturedLength', 'ctState', 'verdict', 'cost', 'decidedBy'];
export const SHARED_COLUMNS = COLUMNS.map((c) => c.name);
