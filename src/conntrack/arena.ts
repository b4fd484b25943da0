/**
 * The tracker's typed arrays carved out of one buffer, so that a caller can supply that buffer's memory:
 * the native engine gives one in huge pages (`hugeBuffer`), as the tables are megabytes that every new
 * connection touches somewhere fresh, and on this project's VM a 4 KiB page fault costs about 16 us
 * (native/src/huge.h). Without an allocator the buffer is an ordinary ArrayBuffer.
 */
export type BufferAllocator = (bytes: number) => ArrayBuffer;

type ArrayKind = typeof Float64Array | typeof Int32Array | typeof Uint32Array | typeof Uint8Array;

/** A typed array's constructor and length. */
export type ArraySpec = readonly [ArrayKind, number];

/** The arrays `specs` asks for (name -> [kind, length]), each 64-byte aligned, over one allocated buffer. */
export function carveArrays<T extends Record<string, ArraySpec>>(
  specs: T, allocate: BufferAllocator = (n) => new ArrayBuffer(n),
): { [P in keyof T]: InstanceType<T[P][0]> } {
  const names = Object.keys(specs) as (keyof T & string)[];
  const offsets = new Map<string, number>();
  let bytes = 0;
  for (const name of names) {
    const [Kind, length] = specs[name]!;
    offsets.set(name, bytes);
    bytes += Math.ceil((Kind.BYTES_PER_ELEMENT * length) / 64) * 64;
  }
  const buffer = allocate(bytes);
  if (buffer.byteLength < bytes) throw new RangeError(`the allocator gave ${buffer.byteLength} bytes for ${bytes}`);
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const [Kind, length] = specs[name]!;
    out[name] = new Kind(buffer, offsets.get(name)!, length);
  }
  return out as { [P in keyof T]: InstanceType<T[P][0]> };
}
