/**
 * cluster-gen's List written in chunks (src/clustergen/write.ts) is, byte for byte, what stringifying the
 * whole list writes, over several chunks (a chunk is 500 items) and with none.
 */
import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { streamList } from '../../src/clustergen/write.js';
import { yamlLib } from '../../src/manifests/yaml-lib.js';

function streamed(list: Record<string, unknown>, format: 'json' | 'yaml'): { text: string; chunks: number } {
  const parts: string[] = [];
  streamList(list, format, (chunk) => parts.push(chunk));
  return { text: parts.join(''), chunks: parts.length };
}

describe('cluster-gen output in chunks', () => {
  const list = generateCluster({ pods: 1200, namespaces: 30, policies: 80, seed: 5, services: 20 });
  const items = list['items'] as unknown[];

  it('JSON: the same text as JSON.stringify of the whole list', () => {
    expect(items.length).toBeGreaterThan(1000);
    const { text, chunks } = streamed(list, 'json');
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(JSON.stringify(list));
  });

  it('YAML: the same text as the yaml package writes for the whole list', () => {
    const { text, chunks } = streamed(list, 'yaml');
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(yamlLib().stringify(list));
  });

  it('an empty List, and a value that is not a List, as the writer expects them', () => {
    const empty = { apiVersion: 'v1', kind: 'List', items: [] };
    expect(streamed(empty, 'json').text).toBe(JSON.stringify(empty));
    expect(streamed(empty, 'yaml').text).toBe(yamlLib().stringify(empty));
    expect(() => streamList({ items: [], kind: 'List' }, 'json', () => {})).toThrow(/last field/);
  });
});
