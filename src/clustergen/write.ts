/**
 * A generated cluster's `kind: List` as text, handed to a sink a few hundred items at a time, never as one
 * string: from about 1.2 million pods the whole list is longer than the longest string V8 can hold
 * (2^29 - 24 characters), and `cluster-gen` stopped there with "Invalid string length". JSON comes out as
 * `JSON.stringify` writes the list, YAML as the `yaml` package writes it (each checked by a test).
 */
import type { ChunkSink } from '../compile/text.js';
import { yamlLib } from '../manifests/yaml-lib.js';

type Manifest = Record<string, unknown>;

/** Items per chunk: a chunk of the stress tier's pods is about 200 KB. */
const CHUNK_ITEMS = 500;

export function streamList(list: Manifest, format: 'json' | 'yaml', sink: ChunkSink): void {
  const items = list['items'];
  const keys = Object.keys(list);
  if (!Array.isArray(items) || keys[keys.length - 1] !== 'items') throw new Error('streamList: a List whose last field is its items');
  const head = { ...list, items: [] };
  if (format === 'json') {
    sink(JSON.stringify(head).slice(0, -2)); // up to and with `"items":[`
    for (let at = 0; at < items.length; at += CHUNK_ITEMS) {
      const chunk = JSON.stringify(items.slice(at, at + CHUNK_ITEMS));
      sink(`${at === 0 ? '' : ','}${chunk.slice(1, -1)}`);
    }
    sink(']}');
    return;
  }
  const yaml = yamlLib();
  if (items.length === 0) {
    sink(yaml.stringify(head));
    return;
  }
  sink(yaml.stringify(head).replace(/items: \[\]\n$/, 'items:\n'));
  // The yaml package indents a nested sequence by two spaces ("items:\n  - ..."): each chunk is written
  // as a sequence of its own, then indented.
  for (let at = 0; at < items.length; at += CHUNK_ITEMS) {
    sink(yaml.stringify(items.slice(at, at + CHUNK_ITEMS)).replace(/^(?=.)/gm, '  '));
  }
}
