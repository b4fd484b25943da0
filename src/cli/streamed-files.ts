/**
 * Files written from a stream of chunks (src/compile/text.ts ChunkSink), never held whole: the stress
 * tier's ipset text is 3.7 GB and the real tier's eBPF dumps are hundreds of MB, past what one string
 * (2^29 - 24 characters) or the heap holds.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkSink } from '../compile/text.js';

/** Writes each named file into `dir` (made if missing) from its stream, in order; returns the bytes written. */
export function writeStreamedFiles(dir: string, files: readonly (readonly [string, (sink: ChunkSink) => void])[]): number {
  let bytes = 0;
  mkdirSync(dir, { recursive: true });
  for (const [name, stream] of files) bytes += writeStreamedFile(join(dir, name), stream);
  return bytes;
}

/** Writes the file at `path` from its stream; returns the bytes written. */
export function writeStreamedFile(path: string, stream: (sink: ChunkSink) => void): number {
  let bytes = 0;
  const fd = openSync(path, 'w');
  try {
    stream((chunk) => { bytes += writeAll(fd, chunk); });
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** writeSync may write less than asked (a full disk, a signal); the rest follows or the error surfaces. */
function writeAll(fd: number, chunk: string): number {
  const bytes = Buffer.from(chunk, 'utf8');
  for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
  return bytes.length;
}
