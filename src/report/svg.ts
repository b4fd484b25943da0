/**
 * Small self-contained SVG charts (no fonts, scripts or links to fetch): a line chart with optional
 * log-scaled axes (cost per packet against policy count) and a horizontal bar chart (throughputs side by
 * side). Text is escaped; numbers are rounded so the output is stable for tests and diffs.
 */

export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly logX?: boolean;
  readonly logY?: boolean;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
}

const W = 640;
const H = 360;
const M = { left: 70, right: 150, top: 40, bottom: 50 };
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function r(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/** A compact label: 1.2k, 3.4M, 0.52. */
export function formatNumber(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${+(n / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toPrecision(3)}k`;
  return `${+n.toPrecision(3)}`;
}

interface Axis { lo: number; hi: number; log: boolean }

function axis(values: number[], log: boolean): Axis {
  const usable = log ? values.filter((v) => v > 0) : values;
  let lo = usable.length ? Math.min(...usable) : 0;
  let hi = usable.length ? Math.max(...usable) : 1;
  if (!log) lo = Math.min(0, lo);
  if (hi === lo) hi = lo + (log ? lo || 1 : 1);
  return { lo, hi, log };
}

function scale(a: Axis, v: number, from: number, to: number): number {
  const t = a.log ? (Math.log10(Math.max(v, a.lo)) - Math.log10(a.lo)) / (Math.log10(a.hi) - Math.log10(a.lo)) : (v - a.lo) / (a.hi - a.lo);
  return from + t * (to - from);
}

function ticks(a: Axis): number[] {
  if (a.log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(a.lo)); e <= Math.ceil(Math.log10(a.hi)); e++) {
      const v = 10 ** e;
      if (v >= a.lo * 0.999 && v <= a.hi * 1.001) out.push(v);
    }
    return out.length >= 2 ? out : [a.lo, a.hi];
  }
  return [0, 1, 2, 3, 4].map((k) => a.lo + ((a.hi - a.lo) * k) / 4);
}

export function lineChartSvg(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const ax = axis(xs, chart.logX ?? false);
  const ay = axis(ys, chart.logY ?? false);
  const px = (v: number): number => scale(ax, v, M.left, W - M.right);
  const py = (v: number): number => scale(ay, v, H - M.bottom, M.top);
  const parts = [frame(chart.title, chart.xLabel, chart.yLabel)];
  for (const t of ticks(ax)) parts.push(`<text x="${r(px(t))}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${formatNumber(t)}</text>`);
  for (const t of ticks(ay)) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${r(py(t))}" y2="${r(py(t))}" stroke="#ddd"/>`);
    parts.push(`<text x="${M.left - 6}" y="${r(py(t) + 4)}" text-anchor="end" font-size="11">${formatNumber(t)}</text>`);
  }
  chart.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length]!;
    const pts = s.points.map(([x, y]) => `${r(px(x))},${r(py(y))}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts}"/>`);
    for (const [x, y] of s.points) parts.push(`<circle cx="${r(px(x))}" cy="${r(py(y))}" r="3" fill="${color}"><title>${escapeXml(s.name)}: ${formatNumber(x)}, ${formatNumber(y)}</title></circle>`);
    parts.push(legend(k, s.name, color));
  });
  return wrap(parts);
}

export function barChartSvg(title: string, unit: string, bars: readonly Bar[]): string {
  const height = M.top + bars.length * 28 + 30;
  const max = Math.max(1e-12, ...bars.map((b) => b.value));
  const left = 230;
  const width = W - left - 90;
  const parts = [`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`];
  bars.forEach((b, k) => {
    const y = M.top + k * 28;
    const w = (Math.max(0, b.value) / max) * width;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeXml(b.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y}" width="${r(w)}" height="20" fill="${COLORS[k % COLORS.length]}"/>`);
    parts.push(`<text x="${r(left + w + 6)}" y="${y + 15}" font-size="12">${formatNumber(b.value)} ${escapeXml(unit)}</text>`);
  });
  return wrap(parts, height);
}

function frame(title: string, xLabel: string, yLabel: string): string {
  return [
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`,
    `<text x="16" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${(M.top + H - M.bottom) / 2})">${escapeXml(yLabel)}</text>`,
  ].join('');
}

function legend(k: number, name: string, color: string): string {
  const y = M.top + 10 + k * 18;
  return `<rect x="${W - M.right + 12}" y="${y - 9}" width="12" height="12" fill="${color}"/><text x="${W - M.right + 30}" y="${y + 1}" font-size="12">${escapeXml(name)}</text>`;
}

/**
 * The namespace attribute is needed by a standalone .svg file; inline in HTML5 the parser implies it,
 * and leaving it out keeps an HTML report free of any URL at all.
 */
export function inlineSvg(svg: string): string {
  return svg.replace(' xmlns="http://www.w3.org/2000/svg"', '');
}

function wrap(parts: string[], height = H): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}
