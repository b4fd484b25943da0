import { describe, expect, test } from 'vitest';
import { barChartSvg, escapeXml, formatNumber, inlineSvg, lineChartSvg } from '../../src/report/svg.js';
import { sweepCharts } from '../../src/report/compare-html.js';

describe('svg charts', () => {
  test('a line chart draws one polyline per series with one vertex per point, and escapes text', () => {
    const svg = lineChartSvg({
      title: 'a <b> & c', xLabel: 'x', yLabel: 'y', logX: true,
      series: [{ name: 's1', points: [[10, 1], [100, 2], [1000, 3]] }, { name: 's2', points: [[10, 5], [1000, 4]] }],
    });
    const lines = [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
    expect(lines).toEqual([3, 2]);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg).not.toContain('<b>');
    // Log x axis: 10, 100, 1000 are evenly spaced.
    const xs = [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)][0]![1]!.split(' ').map((p) => Number(p.split(',')[0]));
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[2]! - xs[1]!, 0);
  });

  test('bars are as long as their values, relative to the largest', () => {
    const svg = barChartSvg('t', 'pps', [{ label: 'a', value: 50 }, { label: 'b', value: 100 }]);
    const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths[0]! * 2).toBeCloseTo(widths[1]!, 0);
  });

  test('inline SVG for HTML carries no namespace URL; numbers are compact', () => {
    expect(inlineSvg(barChartSvg('t', 'u', []))).not.toContain('http');
    expect([formatNumber(1234567), formatNumber(25000), formatNumber(0.5)]).toEqual(['1.23M', '25k', '0.5']);
    expect(escapeXml(`"'`)).toBe('&quot;&#39;');
  });

  test('the sweep section holds the crossover chart and the cost chart', () => {
    const m = { nsPerPacket: 100, classifyNsPerPacket: 50, pps: 1e7, costPerNewPacket: 5, costPerPacket: 2, compileSeconds: 0.1, size: 10, native: null };
    const html = sweepCharts({ sweep: [10, 100].map((policies) => ({ policies, packets: 1, disagreements: 0, models: { iptables: m, ebpf: m } })) });
    expect(html.match(/<svg/g)).toHaveLength(2);
    expect(html).toContain('Policy decision time per packet against policy count');
    // Without the native engine its columns say so; with it, they give its time per packet.
    expect(html).toContain('<td>100</td><td>100</td><td>-</td><td>-</td>');
    const native = { ...m, native: { nsPerPacket: 37, pps: 2.7e7, engineDisagreements: 0 } };
    expect(sweepCharts({ sweep: [{ policies: 10, packets: 1, disagreements: 0, models: { iptables: native, ebpf: m } }] })).toContain('<td>100</td><td>100</td><td>37</td><td>-</td>');
  });
});
