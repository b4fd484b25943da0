/**
 * A count given on the command line: digits only, a safe integer, within a range. The message names the
 * range's top only when `max` is given; `unstatedMax` bounds it silently (synth writes its counts into
 * 32-bit fields).
 */
import { InputError } from '../errors.js';

export interface CountRange {
  readonly min: number;
  readonly max?: number;
  readonly unstatedMax?: number;
}

export function wholeNumber(text: string, flag: string, range: CountRange): number {
  const top = range.max ?? range.unstatedMax ?? Number.MAX_SAFE_INTEGER;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < range.min || n > top) {
    const wanted = range.max === undefined ? `>= ${range.min}` : `from ${range.min} to ${range.max}`;
    throw new InputError(`${flag}: ${JSON.stringify(text)} is not a whole number ${wanted}`);
  }
  return n;
}
