/**
 * One reusable buffer over a file: records are parsed where they lie, and a record cut by the end of the
 * buffer is moved to its front before the next read. Memory stays at one chunk whatever the file size,
 * so a capture larger than RAM streams through. Works on pipes too (process substitution, /dev/stdin):
 * regular files are read at explicit positions, anything else sequentially.
 */
import { closeSync, readSync } from 'node:fs';
import { InputError } from '../../errors.js';

export class ChunkFile {
  readonly buf: Buffer;
  /**
   * The same bytes as a DataView, for record headers: V8 compiles getUint32(o, littleEndian) to one
   * load, where a helper assembling four bytes was not always inlined and then boxed every uint32
   * above 2^31 into a new heap number (measured: pcapng read at half the speed of classic pcap).
   */
  readonly view: DataView;
  /** Next unparsed byte, and the end of valid bytes, in `buf`. */
  pos = 0;
  end = 0;
  /** File offset of `buf[0]`. */
  base = 0;
  /** The last read returned nothing. */
  eof = false;
  private filePos = 0;
  private closed = false;

  constructor(readonly path: string, private readonly fd: number, size: number, private readonly seekable: boolean) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** File offset of buffer index `p`. */
  offset(p: number): number {
    return this.base + p;
  }

  /** Moves the unparsed tail to the front and reads more after it. False when nothing more came. */
  refill(): boolean {
    const keep = this.end - this.pos;
    if (keep > 0 && this.pos > 0) this.buf.copyWithin(0, this.pos, this.end);
    this.base += this.pos;
    this.pos = 0;
    this.end = keep;
    if (keep === this.buf.length) return false;
    const n = this.read(this.end, this.buf.length - this.end);
    this.end += n;
    this.eof = n === 0;
    return n > 0;
  }

  /**
   * Drops everything buffered and continues at `count` bytes after buffer index `pos` (for blocks too
   * large to buffer, which we read past without keeping). False when the file ended first.
   */
  skip(count: number): boolean {
    const buffered = this.end - this.pos;
    if (count <= buffered) {
      this.pos += count;
      return true;
    }
    let left = count - buffered;
    const target = this.base + this.pos + count;
    while (left > 0) {
      const n = this.read(0, Math.min(left, this.buf.length));
      if (n === 0) return false;
      left -= n;
    }
    this.base = target;
    this.pos = 0;
    this.end = 0;
    return true;
  }

  /** Closes the file; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private read(at: number, length: number): number {
    try {
      const n = readSync(this.fd, this.buf, at, length, this.seekable ? this.filePos : null);
      this.filePos += n;
      return n;
    } catch (e) {
      throw new InputError(`${this.path}: cannot read at byte ${this.filePos}: ${(e as Error).message}`);
    }
  }
}
