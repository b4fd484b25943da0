/**
 * What every capture reader offers, and the limits that decide when a record is damaged.
 */
import type { FlowBatch } from '../../wire/flow-batch.js';

/** Where and why reading stopped early. `offset` is the byte offset of the first record not read whole. */
export interface Damage {
  offset: number;
  reason: string;
}

export interface CaptureReader {
  readonly path: string;
  readonly format: 'pcap' | 'pcapng';
  /**
   * Fills `batch` from row 0 with the next records (decoded unless the reader was opened with
   * `decode: false`) and returns how many; 0 at the end of the capture or after damage. Rows'
   * `dataOffset`/`capturedLength` point into `chunk`, which the next call to `fill` overwrites: copy out
   * any bytes you need to keep (as `--write-allowed` does) before calling `fill` again.
   */
  fill(batch: FlowBatch): number;
  /** The one buffer records are read into; rows of the last `fill` index into it. */
  readonly chunk: Uint8Array;
  /** Null while the capture reads cleanly; set once, when the first unreadable record stops the read. */
  readonly damage: Damage | null;
  /** Records (packets) returned so far. */
  readonly recordsRead: number;
  /** Bytes of the file consumed so far: the offset of the next record (or of the damage). */
  readonly bytesRead: number;
  close(): void;
}

export interface CaptureOptions {
  /** Size of the one reusable buffer, in bytes. Default and least: MIN_CHUNK (512 KiB). */
  chunkSize?: number;
  /** Decode packets into the flow fields (default true); false fills only the record fields. */
  decode?: boolean;
}

/**
 * The largest captured length we accept: 256 KiB, libpcap's MAXIMUM_SNAPLEN (the largest snapshot
 * length tcpdump will use, and what `tcpdump -s 0` means today). A larger length in a record header is
 * not a packet but a corrupted header; reading on would mean trusting garbage, so it is damage.
 */
export const MAX_CAPLEN = 262144;
/** The largest pcapng packet block: its 28-byte header, MAX_CAPLEN of data and 64 KiB of options. */
export const MAX_PACKET_BLOCK = 28 + MAX_CAPLEN + 65536 + 4;
/** A chunk must hold any record we accept whole. */
export const MIN_CHUNK = 512 * 1024;
/**
 * 512 KiB, the least: the copy out of the page cache should still be in the CPU cache when the walk reads
 * it. Reading alone cost the same CPU with 512 KiB and 1 MiB chunks and up to twice as much with 4-16 MiB
 * ones. A whole native replay (1M 64-byte packets, alternating fresh processes, 2026-11-27) took the same
 * time with either on one thread (small and real tiers, medians of 19: 0.157 s and 0.157 s), and less with
 * 512 KiB on two threads, whose split walk copies each chunk's records once more (medians: small tier
 * 0.110 s against 0.129 s over 13 rounds and 0.128 against 0.148 over 19; real tier 0.128 against 0.136
 * over 11).
 */
export const DEFAULT_CHUNK = MIN_CHUNK;
