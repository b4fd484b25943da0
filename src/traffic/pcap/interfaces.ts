/**
 * The interfaces of one pcapng section (Interface Description Blocks, numbered from 0 in the order they
 * appear; a new Section Header Block starts the numbering again), and their clocks.
 *
 * A pcapng timestamp is a 64-bit count of units since 1970, where `if_tsresol` sets the unit: 10^-n
 * seconds when its top bit is clear, 2^-n when it is set; absent, microseconds. `if_tsoffset` adds whole
 * seconds. Nanosecond counts (~1.7e18) exceed 2^53, so they are split into seconds by long division over
 * 16-bit (or 8-bit) digits, exact and allocation-free (BigInt would allocate per packet).
 */
import type { FlowBatch } from '../../wire/flow-batch.js';

/** Interfaces one section may describe before we call the file damaged (a bound on memory). */
export const MAX_INTERFACES = 65536;
const TWO32 = 4294967296;
/** Values below 2^53 are exact doubles: hi below 2^21. */
const EXACT_HI = 0x200000;
/** Long division over d-bit digits stays exact while units * 2^d < 2^53. */
const EXACT_UNITS_16 = 2 ** 37;
const EXACT_UNITS_8 = 2 ** 45;

export class Interfaces {
  count = 0;
  readonly linkType: number[] = [];
  readonly snapLength: number[] = [];
  /** Timestamp units per second. */
  private readonly units: number[] = [];
  /** Nanoseconds per unit when whole (units divide 1e9), else 0. */
  private readonly nsMul: number[] = [];
  /** Units per nanosecond when whole (1e9 divides units), else 0. */
  private readonly nsDiv: number[] = [];
  private readonly offsetSec: number[] = [];

  reset(): void {
    this.count = 0;
  }

  /** Adds the next interface. `tsresol` is the raw option byte (6 when absent). Returns an error or null. */
  add(linkType: number, snapLength: number, tsresol: number, offsetSec: number): string | null {
    if (this.count === MAX_INTERFACES) return `more than ${MAX_INTERFACES} interfaces in one section`;
    const exp = tsresol & 0x7f;
    const units = tsresol & 0x80 ? 2 ** exp : 10 ** exp;
    if (exp > 63 || units > 2 ** 64) return `if_tsresol 0x${tsresol.toString(16)} is out of range`;
    const i = this.count++;
    this.linkType[i] = linkType;
    this.snapLength[i] = snapLength;
    this.units[i] = units;
    this.nsMul[i] = units <= 1e9 && 1e9 % units === 0 ? 1e9 / units : 0;
    this.nsDiv[i] = units >= 1e9 && units % 1e9 === 0 ? units / 1e9 : 0;
    this.offsetSec[i] = offsetSec;
    return null;
  }

  /**
   * Writes the timestamp of interface `i` stored at `view[o]` (high 32 bits, then low, each in the
   * section's byte order) into the row as seconds and nanoseconds. The halves are read here rather than
   * passed in, as a uint32 above 2^30 passed to a call V8 does not inline would be boxed (see bytes.ts).
   */
  stamp(i: number, view: DataView, o: number, le: boolean, batch: FlowBatch, row: number): void {
    const u = this.units[i]!;
    const hi = view.getUint32(o, le), lo = view.getUint32(o + 4, le);
    let sec: number, rem: number;
    if (hi < EXACT_HI || u >= EXACT_UNITS_8) {
      // Exact below 2^53; for units finer than 2^-45 s the split is approximate (a documented limit).
      const v = hi * TWO32 + lo;
      sec = Math.floor(v / u);
      rem = v - sec * u;
      if (rem < 0) { sec--; rem += u; } else if (rem >= u) { sec++; rem -= u; }
    } else {
      divide(view, o, le, u, u < EXACT_UNITS_16 ? 16 : 8);
      sec = quotient[0]!;
      rem = quotient[1]!;
    }
    const mul = this.nsMul[i]!, div = this.nsDiv[i]!;
    batch.tsNsec[row] = mul > 0 ? rem * mul : div > 0 ? Math.floor(rem / div) : Math.floor((rem * 1e9) / u);
    batch.tsSec[row] = sec + this.offsetSec[i]!;
  }
}

/**
 * Quotient and remainder of the last `divide`. A typed array, not module variables or a return value:
 * V8 boxes a double stored in a module variable or returned from a call into a new HeapNumber, which
 * would be an allocation per packet (the no-allocation test caught exactly that).
 */
const quotient = new Float64Array(2);

/** The 64-bit count at `view[o]` divided by units, by long division over `bits`-bit digits, most significant first. */
function divide(view: DataView, o: number, le: boolean, units: number, bits: 8 | 16): void {
  const hi = view.getUint32(o, le), lo = view.getUint32(o + 4, le);
  const base = 2 ** bits, mask = base - 1;
  let q = 0, r = 0;
  for (let shift = 32 - bits; shift >= 0; shift -= bits) {
    r = r * base + ((hi >>> shift) & mask);
    const d = Math.floor(r / units);
    q = q * base + d;
    r -= d * units;
  }
  for (let shift = 32 - bits; shift >= 0; shift -= bits) {
    r = r * base + ((lo >>> shift) & mask);
    const d = Math.floor(r / units);
    q = q * base + d;
    r -= d * units;
  }
  quotient[0] = q;
  quotient[1] = r;
}
