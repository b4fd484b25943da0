/**
 * Capture reading with the record walk in C: `openNativeCapture(addon, path)` is a CaptureReader (same
 * rows, damage, offsets and errors as `openCapture`) whose classic pcap records are walked, and decoded,
 * by one addon call per batch, and which can also run each batch whole in C:
 *
 *   const reader = openNativeCapture(addon, 'x.pcap');
 *   while (reader.fillRun(nm, conntrack, batch) > 0) { ... verdicts of rows 0..batch.count-1 ... }
 *   reader.orphans   // later fragments dropped for want of a first (runNative's return, summed)
 *
 * `fillRun` equals `fill` then `runNative` (walk, decode, conntrack track, the model, confirm per row) but
 * finishes each row while its bytes are in cache, in one call per batch. The chunk's refills, file
 * offsets and the damage reasons stay here, in TypeScript, exactly as src/traffic/pcap/classic.ts has
 * them. pcapng stays on the TypeScript block walk (its blocks, options and interfaces are not per-packet
 * hot enough to pay for a second implementation); its rows are then decoded and run natively.
 */
import type { Conntrack } from '../conntrack/state.js';
import { openCapture, MAX_CAPLEN, type CaptureOptions, type CaptureReader, type Damage } from '../traffic/pcap/reader.js';
import { ClassicReader, MAGIC_MICRO, MAGIC_NANO } from '../traffic/pcap/classic.js';
import { ChunkFile } from '../traffic/pcap/chunk.js';
import type { FlowBatch } from '../wire/flow-batch.js';
import { batchHandle, conntrackHandle, decodeNative, runNative, settleProbes, type NativeModelHandle } from './engine.js';
import { WalkSlot } from './layout.js';
import { replayRowsNative, type NativeReplay } from './replay.js';
import type { NativeAddon } from './load.js';

const RECORD_HEADER = 16;
/**
 * Rows ahead whose conntrack home slot fillRun prefetches (its entry half as far ahead); 0, the default,
 * walks, decodes and runs each record in one pass. Prefetching (4, 8 or 16 rows ahead) measured no gain
 * beyond noise on the project machine (native/README.md), so it stays an option, tested but off.
 */
export const WALK_PREFETCH_DEFAULT = 0;

export interface NativeCaptureReader extends CaptureReader {
  /** `fill`, then every row through conntrack and the model as `runNative` does; returns rows (0 at the end). */
  fillRun(nm: NativeModelHandle, ct: Conntrack, batch: FlowBatch): number;
  /** Later fragments dropped for want of a first, summed over `fillRun` calls. */
  readonly orphans: number;
  /**
   * `fill`, then every row through the native replay `r` (DNAT, conntrack, the model, connections; see
   * ./replay.ts) in the same call; `batch` must be the batch `r` was bound with. Returns rows (0 at the end).
   */
  fillReplay(r: NativeReplay, batch: FlowBatch, fileIndex: number): number;
}

/**
 * What the next native walk call does with the rows: nothing more (fill), run them (fillRun), or replay
 * them (fillReplay). One per reader, set in place by each call: a fill allocates nothing
 * (test/native/walk-no-allocation.test.ts; an object per call made 3 collections in 790,000 calls).
 */
interface WalkCall {
  kind: 'fill' | 'run' | 'replay';
  nm: NativeModelHandle | null;
  ct: Conntrack | null;
  replay: NativeReplay | null;
  fileIndex: number;
}

/** Opens `path` as `openCapture` does (same refusals), with the record walk in the addon for classic pcap. */
export function openNativeCapture(
  addon: NativeAddon, path: string, options: CaptureOptions & { prefetch?: number } = {},
): NativeCaptureReader {
  const reader = openCapture(path, { chunkSize: options.chunkSize, decode: false });
  const decode = options.decode ?? true;
  if (!(reader instanceof ClassicReader)) return new TsWalkReader(addon, reader, decode);
  // The header was parsed and checked by ClassicReader (one place for its refusals); its chunk is ours now.
  const chunk = (reader as unknown as { c: unknown }).c;
  if (!(chunk instanceof ChunkFile)) {
    reader.close();
    throw new Error('native walk: ClassicReader changed shape (no chunk); src/native/walk.ts must follow');
  }
  return new NativeClassicReader(addon, reader, chunk, decode, options.prefetch ?? WALK_PREFETCH_DEFAULT);
}

class NativeClassicReader implements NativeCaptureReader {
  readonly format = 'pcap';
  readonly path: string;
  damage: Damage | null = null;
  recordsRead = 0;
  orphans = 0;
  private done = false;
  private readonly call: WalkCall = { kind: 'fill', nm: null, ct: null, replay: null, fileIndex: 0 };
  private readonly le: boolean;
  private readonly snapLength: number;
  private readonly state = new Float64Array(WalkSlot.COUNT);

  constructor(private readonly addon: NativeAddon, header: ClassicReader, private readonly c: ChunkFile, decode: boolean, prefetch: number) {
    this.path = header.path;
    const magic = c.view.getUint32(0, true); // the file header is still at the front: nothing was refilled yet
    this.le = magic === MAGIC_MICRO || magic === MAGIC_NANO;
    this.snapLength = header.snapLength;
    const s = this.state;
    s[WalkSlot.LE] = this.le ? 1 : 0;
    s[WalkSlot.NANO] = header.nanosecond ? 1 : 0;
    s[WalkSlot.LINK_TYPE] = header.linkType;
    s[WalkSlot.LIMIT] = this.snapLength === 0 || this.snapLength > MAX_CAPLEN ? MAX_CAPLEN : this.snapLength;
    s[WalkSlot.DECODE] = decode ? 1 : 0;
    s[WalkSlot.PREFETCH] = prefetch;
  }

  get chunk(): Uint8Array {
    return this.c.buf;
  }

  get bytesRead(): number {
    return this.c.offset(this.c.pos);
  }

  fill(batch: FlowBatch): number {
    this.call.kind = 'fill';
    return this.next(batch);
  }

  fillRun(nm: NativeModelHandle, ct: Conntrack, batch: FlowBatch): number {
    this.call.kind = 'run';
    this.call.nm = nm;
    this.call.ct = ct;
    return this.next(batch);
  }

  fillReplay(r: NativeReplay, batch: FlowBatch, fileIndex: number): number {
    this.call.kind = 'replay';
    this.call.replay = r;
    this.call.fileIndex = fileIndex;
    return this.next(batch);
  }

  close(): void {
    this.done = true;
    this.c.close();
  }

  /** classic.ts fill: walk what the chunk holds; when no whole record is left, refill; at the end, end(). */
  private next(batch: FlowBatch): number {
    batch.count = 0;
    while (!this.done) {
      const n = this.walk(batch);
      if (n > 0 || this.done) return n;
      if (!this.c.refill()) this.end();
    }
    return 0;
  }

  /** One addon call over the chunk from c.pos. */
  private walk(batch: FlowBatch): number {
    const c = this.c, s = this.state, a = this.addon, call = this.call;
    s[WalkSlot.POS] = c.pos;
    s[WalkSlot.END] = c.end;
    s[WalkSlot.FIRST] = this.recordsRead;
    let n: number;
    if (call.kind === 'fill') {
      n = a.walk(c.buf, batchHandle(a, batch), s);
    } else if (call.kind === 'replay') {
      const r = call.replay!;
      n = r.lanes !== null ? a.walkLanes(r.handle, c.buf, s, call.fileIndex) : a.walkReplay(r.handle, c.buf, s, call.fileIndex);
    } else {
      n = a.walkRun(call.nm!.model, call.nm!.handle, conntrackHandle(a, call.ct!, batch.capacity), c.buf, batchHandle(a, batch), s);
      this.orphans += s[WalkSlot.ORPHANS]!;
      settleProbes(call.nm!);
    }
    c.pos = s[WalkSlot.POS]!;
    batch.count = n;
    this.recordsRead += n;
    if (s[WalkSlot.BAD_CAPLEN]! >= 0) this.fail(s[WalkSlot.BAD_CAPLEN]!);
    return n;
  }

  /** A record header's captured length above the limit, at c.pos (the same reasons as classic.ts). */
  private fail(caplen: number): void {
    const reason = caplen > MAX_CAPLEN
      ? `captured length ${caplen} is absurd (more than ${MAX_CAPLEN} bytes): corrupt record header`
      : `captured length ${caplen} exceeds the snapshot length ${this.snapLength}`;
    this.damage = { offset: this.c.offset(this.c.pos), reason };
    this.done = true;
  }

  /** The file ended: anything left over is a record cut short. */
  private end(): void {
    this.done = true;
    const c = this.c, left = c.end - c.pos;
    if (left === 0) return;
    const reason = left < RECORD_HEADER
      ? `file ends inside a record header (${left} of ${RECORD_HEADER} bytes)`
      : `file ends inside a record (${left - RECORD_HEADER} of ${c.view.getUint32(c.pos + 8, this.le)} captured bytes)`;
    this.damage = { offset: c.offset(c.pos), reason };
  }
}

/** pcapng: the TypeScript block walk, rows decoded (and run) by the addon one call per batch. */
class TsWalkReader implements NativeCaptureReader {
  orphans = 0;

  constructor(private readonly addon: NativeAddon, private readonly r: CaptureReader, private readonly decode: boolean) {}

  get path(): string { return this.r.path; }
  get format(): 'pcap' | 'pcapng' { return this.r.format; }
  get chunk(): Uint8Array { return this.r.chunk; }
  get damage(): Damage | null { return this.r.damage; }
  get recordsRead(): number { return this.r.recordsRead; }
  get bytesRead(): number { return this.r.bytesRead; }

  fill(batch: FlowBatch): number {
    const n = this.r.fill(batch);
    if (n > 0 && this.decode) decodeNative(this.addon, this.r.chunk, batch);
    return n;
  }

  fillRun(nm: NativeModelHandle, ct: Conntrack, batch: FlowBatch): number {
    const n = this.r.fill(batch);
    if (n === 0) return 0;
    decodeNative(this.addon, this.r.chunk, batch);
    this.orphans += runNative(nm, ct, batch);
    return n;
  }

  fillReplay(r: NativeReplay, batch: FlowBatch, fileIndex: number): number {
    const n = this.r.fill(batch);
    if (n === 0) return 0;
    decodeNative(this.addon, this.r.chunk, batch);
    replayRowsNative(r, batch, fileIndex);
    return n;
  }

  close(): void {
    this.r.close();
  }
}
