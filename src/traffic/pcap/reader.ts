/**
 * `openCapture(path)`: a streaming reader for classic pcap and pcapng, chosen by the file's first bytes.
 *
 *   const reader = openCapture('x.pcapng');
 *   const batch = new FlowBatch(1024);
 *   try {
 *     while (reader.fill(batch) > 0) { ... rows 0..batch.count-1, bytes in reader.chunk ... }
 *     if (reader.damage) ... // read up to damage: every row before it was returned
 *   } finally { reader.close(); }
 *
 * A missing, unreadable or empty file, or one that is no capture, is refused here with an InputError
 * naming it. Damage found later (a record that cannot be read whole) ends the read and is reported in
 * `reader.damage` instead, so that callers keep everything before it.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { u32le } from '../../wire/bytes.js';
import { DEFAULT_CHUNK, MIN_CHUNK, type CaptureOptions, type CaptureReader } from './capture.js';
import { ChunkFile } from './chunk.js';
import { ClassicReader, isClassicMagic } from './classic.js';
import { PcapngReader, SHB } from './pcapng.js';

export type { CaptureOptions, CaptureReader, Damage } from './capture.js';
export { MAX_CAPLEN } from './capture.js';

export function openCapture(path: string, options: CaptureOptions = {}): CaptureReader {
  const size = Math.max(options.chunkSize ?? DEFAULT_CHUNK, MIN_CHUNK);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new InputError(`${path}: cannot open capture: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputError(`${path}: is a directory, not a capture`);
    const chunk = new ChunkFile(path, fd, size, st.isFile());
    while (chunk.end < 24 && chunk.refill());
    return detect(path, chunk, options.decode ?? true);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function detect(path: string, chunk: ChunkFile, decode: boolean): CaptureReader {
  if (chunk.end === 0) throw new InputError(`${path}: empty file, not a capture`);
  const magic = chunk.end >= 4 ? u32le(chunk.buf, 0) : -1;
  if (magic === SHB) return new PcapngReader(path, chunk, decode);
  if (isClassicMagic(magic)) return new ClassicReader(path, chunk, decode);
  const head = chunk.buf.subarray(0, Math.min(4, chunk.end)).toString('hex');
  throw new InputError(`${path}: not a pcap or pcapng capture (starts with 0x${head})`);
}
