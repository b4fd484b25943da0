/**
 * Big-endian reads over a byte array. Plain functions over `Uint8Array` rather than a DataView per
 * packet: the decoder allocates nothing and the caller checks bounds before reading.
 *
 * 32-bit values are never returned on the hot path, only stored (`copyU32be`): a uint32 above 2^30 is
 * not a small integer in V8, and returning it from (or passing it to) a call V8 chose not to inline boxes
 * it into a new heap number: an allocation per packet. `u32be`/`u32le` are for cold code (file headers).
 */

export function u16be(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Stores the big-endian uint32 at `b[o]` into `dst[i]` without the value ever leaving this function. */
export function copyU32be(b: Uint8Array, o: number, dst: Uint32Array, i: number): void {
  dst[i] = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function u16le(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
