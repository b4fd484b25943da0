/**
 * The restore text is built in chunks of lines (text.ts): whatever the line count, the text is the lines
 * each followed by a newline, and the streamed chunks (for output longer than one string can hold)
 * concatenate to exactly the rendered text.
 */
import { describe, expect, it } from 'vitest';
import { compileIptables, renderIpsets, renderRules, streamIpsets, streamRules } from '../../../src/compile/iptables/index.js';
import { LineText } from '../../../src/compile/text.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../../src/model/evaluate.js';
import { cluster, netpol, pod } from '../../support/builders.js';
import { randomScenario } from '../../support/random-cluster.js';

function collect(write: (sink: (chunk: string) => void) => void): string[] {
  const chunks: string[] = [];
  write((chunk) => chunks.push(chunk));
  return chunks;
}

describe('LineText', () => {
  it('is every line followed by a newline, across chunk boundaries, and empty for no line', () => {
    for (const count of [0, 1, 2, 1023, 1024, 1025, 2048, 3000]) {
      const lines = Array.from({ length: count }, (_, i) => `line ${i}`);
      const kept = new LineText();
      for (const line of lines) kept.push(line);
      const expected = count === 0 ? '' : `${lines.join('\n')}\n`;
      expect(kept.text()).toBe(expected);
      const chunks = collect((sink) => {
        const streamed = new LineText(sink);
        for (const line of lines) streamed.push(line);
        streamed.end();
      });
      expect(chunks.join('')).toBe(expected);
      expect(chunks.every((c) => c.endsWith('\n'))).toBe(true);
      expect(chunks.length).toBe(Math.ceil(count / 1024));
    }
  });
});

describe('LineText blocks', () => {
  it('take several lines at once, kept or handed on whole between the lines around them', () => {
    const block = Array.from({ length: 30000 }, (_, i) => `add SET 10.0.${i >> 8}.${i & 255}`).join('\n');
    const kept = new LineText();
    kept.push('create SET');
    kept.pushBlock(block);
    kept.push('create OTHER');
    kept.pushBlock(block);
    const expected = `create SET\n${block}\ncreate OTHER\n${block}\n`;
    expect(kept.text()).toBe(expected);
    const chunks = collect((sink) => {
      const streamed = new LineText(sink);
      streamed.push('create SET');
      streamed.pushBlock(block);
      streamed.push('create OTHER');
      streamed.pushBlock(block);
      streamed.end();
    });
    expect(chunks.join('')).toBe(expected);
    expect(chunks.filter((c) => c === block)).toHaveLength(2);
  });
});

describe('streamed restore files', () => {
  it('concatenate to the rendered text (random clusters, and one with a set of more than 1024 members)', () => {
    const pods = Array.from({ length: 1500 }, (_, i) => pod(`big/p${i}`, { labels: { app: 'x' }, ips: [`10.1.${i >> 8}.${i & 255}`] }));
    const big = cluster({ pods, policies: [netpol('big/web', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'x' } } }] }] })] });
    const clusters = [big, ...Array.from({ length: 20 }, (_, i) => randomScenario(i + 1, { flowsPerScenario: 0 }).cluster)];
    for (const c of clusters) {
      const p = compileIptables(indexCluster(c), DEFAULT_EVAL_OPTIONS);
      expect(collect((sink) => streamIpsets(p, sink)).join('')).toBe(renderIpsets(p));
      for (const family of [4, 6] as const) expect(collect((sink) => streamRules(p, family, sink)).join('')).toBe(renderRules(p, family));
    }
    const p = compileIptables(indexCluster(big), DEFAULT_EVAL_OPTIONS);
    // 1500 isolated pods: more than 1024 rule lines, so the rules stream in several chunks
    expect(collect((sink) => streamRules(p, 4, sink)).length).toBeGreaterThan(1);
    expect(renderIpsets(p).split('\n').filter((l) => l.startsWith('add NS4-P-')).length).toBe(1500);
  });
});
