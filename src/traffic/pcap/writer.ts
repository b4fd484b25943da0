/**
 * A classic pcap writer over one reusable buffer.
 *
 * Format (the libpcap "savefile" format, as tcpdump writes it): a 24-byte file header (magic, version
 * 2.4, thiszone 0, sigfigs 0, snaplen, link type), then per record a 16-byte header (seconds, micro- or
 * nanoseconds, captured length, original length) followed by the captured bytes. We always write the
 * host's little-endian order, which every reader accepts since the magic says which order it is.
 *
 * Nothing is allocated per record: records are copied (or built in place, see `reserve`) into one
 * buffer that is handed to the sink whenever it is full, and once more on `close`.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { LinkType } from '../../wire/offsets.js';

/** pcap LINKTYPE_* numbers, defined once beside the decoder's offsets; re-exported for writer users. */
export { LinkType };

const MAGIC_MICRO = 0xa1b2c3d4;
const MAGIC_NANO = 0xa1b23c4d;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Where the bytes go: a file descriptor, or memory for tests. */
export interface ByteSink {
  write(bytes: Uint8Array, length: number): void;
  close(): void;
}

export interface PcapWriterOptions {
  linkType?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  snapLength?: number;
  /** Size of the one buffer; records larger than it are refused. */
  bufferSize?: number;
}

export class PcapWriter {
  /** Records written so far. */
  records = 0;
  /** Bytes handed to the sink so far plus those still buffered. */
  bytes = 0;
  readonly nanosecond: boolean;
  readonly snapLength: number;
  readonly linkType: number;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private closed = false;

  constructor(private readonly sink: ByteSink, options: PcapWriterOptions = {}) {
    this.nanosecond = options.nanosecond ?? false;
    this.snapLength = options.snapLength ?? 262144;
    this.linkType = options.linkType ?? LinkType.ETHERNET;
    this.buf = new Uint8Array(Math.max(options.bufferSize ?? 1 << 20, this.snapLength + RECORD_HEADER, FILE_HEADER));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const v = this.view;
    v.setUint32(0, this.nanosecond ? MAGIC_NANO : MAGIC_MICRO, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true);
    v.setUint32(12, 0, true);
    v.setUint32(16, this.snapLength, true);
    v.setUint32(20, this.linkType, true);
    this.used = FILE_HEADER;
    this.bytes = FILE_HEADER;
  }

  /**
   * Makes room for one record of `capturedLength` bytes, writes its header, and returns where in
   * `buffer` the caller writes the frame (valid until the next call). This is how `synth` builds
   * frames in place without a copy.
   */
  reserve(tsSec: number, tsNsec: number, capturedLength: number, wireLength: number): number {
    if (capturedLength > this.snapLength) {
      throw new InputError(`pcap writer: a record of ${capturedLength} bytes exceeds the snapshot length ${this.snapLength}`);
    }
    if (this.used + RECORD_HEADER + capturedLength > this.buf.length) this.flush();
    const v = this.view;
    const at = this.used;
    v.setUint32(at, tsSec >>> 0, true);
    v.setUint32(at + 4, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(at + 8, capturedLength, true);
    v.setUint32(at + 12, Math.max(wireLength, capturedLength), true);
    this.used = at + RECORD_HEADER + capturedLength;
    this.bytes += RECORD_HEADER + capturedLength;
    this.records++;
    return at + RECORD_HEADER;
  }

  /**
   * Makes room for a record of at most `maxLength` bytes whose length is known only once it is built:
   * returns where the frame goes in `buffer`; `commit` then writes the header. Nothing else may be
   * written in between.
   */
  begin(maxLength: number): number {
    if (maxLength > this.snapLength) maxLength = this.snapLength;
    if (this.used + RECORD_HEADER + maxLength > this.buf.length) this.flush();
    return this.used + RECORD_HEADER;
  }

  /** Finishes the record started by `begin`, `capturedLength` bytes long. */
  commit(tsSec: number, tsNsec: number, capturedLength: number, wireLength = capturedLength): void {
    const at = this.reserve(tsSec, tsNsec, capturedLength, wireLength);
    if (at !== this.used - capturedLength) throw new Error('pcap writer: commit without begin');
  }

  /** The buffer `reserve` returns offsets into. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Copies one record from `source` (a reader's chunk or a frame buffer). */
  write(tsSec: number, tsNsec: number, source: Uint8Array, offset: number, capturedLength: number, wireLength = capturedLength): void {
    const at = this.reserve(tsSec, tsNsec, capturedLength, wireLength);
    // A byte loop rather than set(subarray()): a subarray is an object per record.
    const buf = this.buf;
    for (let k = 0; k < capturedLength; k++) buf[at + k] = source[offset + k]!;
  }

  flush(): void {
    if (this.used > 0) this.sink.write(this.buf, this.used);
    this.used = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.sink.close();
  }
}

/** A sink writing to a file, created or truncated. */
export function fileSink(path: string): ByteSink {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new InputError(`${path}: cannot write: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return {
    write(bytes, length) {
      let done = 0;
      while (done < length) done += writeSync(fd, bytes, done, length - done);
    },
    close() {
      closeSync(fd);
    },
  };
}

/** A sink collecting everything in memory (tests, small outputs). */
export function memorySink(): ByteSink & { result(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    write(bytes, length) {
      parts.push(bytes.slice(0, length));
    },
    close() {},
    result() {
      return new Uint8Array(Buffer.concat(parts));
    },
  };
}

export function openPcapWriter(path: string, options: PcapWriterOptions = {}): PcapWriter {
  return new PcapWriter(fileSink(path), options);
}
