/**
 * Whole numbers with thousands separators, as `toLocaleString('en-US')` writes them (1,234,567). By hand
 * because the first toLocaleString call of a process loads ICU's locale data: 26-36 ms on this project's
 * machine, paid by every replay that reports a count, for a comma every three digits.
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) out = (end > 3 ? ',' : '') + digits.slice(Math.max(0, end - 3), end) + out;
  return n < 0 || Object.is(n, -0) ? `-${out}` : out;
}
