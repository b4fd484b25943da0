/**
 * Files and directories in, Kubernetes objects out: multi-document YAML, JSON, and `kind: List` (or any
 * `*List` kind with `items`) as `kubectl get -A -o yaml|json` writes them. Directories are walked
 * recursively for *.yaml, *.yml and *.json, in sorted order so the same tree always loads the same way.
 */
import { constants } from 'node:buffer';
import { readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { yamlLib } from './yaml-lib.js';
import { InputError } from '../errors.js';
import type { RawObject } from './context.js';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Every manifest file under `paths`, in argument order, each directory's files sorted. */
export function manifestFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    const stats = statOrThrow(p);
    return stats.isDirectory() ? walk(p) : [p];
  });
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new InputError(`${path}: cannot read cluster manifests: ${reason}`);
  }
}

function walk(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    throw new InputError(`${dir}: cannot list directory: ${(err as NodeJS.ErrnoException).code}`);
  }
  return names.flatMap((name) => {
    if (name.startsWith('.')) return [];
    const path = join(dir, name);
    const stats = statOrThrow(path);
    if (stats.isDirectory()) return walk(path);
    return MANIFEST_FILE.test(name) ? [path] : [];
  });
}

export function readFileText(path: string): string {
  try {
    // A byte-order mark (editors on Windows write one) is no part of the YAML or JSON.
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_STRING_TOO_LONG') {
      throw new InputError(`${path}: cannot read file: ${statSync(path).size} bytes, more text than Node.js holds in one string ` +
        `(${constants.MAX_STRING_LENGTH} characters); give the manifests as several files (every command takes several cluster paths)`);
    }
    throw new InputError(`${path}: cannot read file: ${code === 'EISDIR' ? 'is a directory' : code}`);
  }
}

/** The documents of one file, as plain values; null documents (a stray `---`) are dropped. */
export function parseDocuments(file: string, text: string): { value: unknown; where: string }[] {
  const values = /\.json$/i.test(file) ? [parseJson(file, text)] : parseYaml(file, text);
  const many = values.length > 1;
  return values
    .map((value, i) => ({ value, where: many ? `${file} document ${i + 1}` : file }))
    .filter((d) => d.value !== null && d.value !== undefined);
}

function parseYaml(file: string, text: string): unknown[] {
  // YAML 1.2 core schema: only `true`/`false` are booleans, so namespaces `y` and `n` (the upstream
  // e2e suite's x, y, z) stay strings. kubectl's typed decoding also keeps such scalars as strings.
  const docs = yamlLib().parseAllDocuments(text, { version: '1.2' });
  if (!Array.isArray(docs)) return []; // an empty stream
  return docs.map((doc, i) => {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const at = pos === undefined ? `document ${i + 1}` : `line ${pos.line}, column ${pos.col}`;
      const reason = firstLine(err.message).replace(/ at line \d+, column \d+:?$/, '');
      throw new InputError(`${file}: ${at}: YAML syntax error: ${reason}`);
    }
    return doc.toJS({ maxAliasCount: 1000 }) as unknown;
  });
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const before = pos ? text.slice(0, Number(pos[1])).split('\n') : null;
    const at = before ? `line ${before.length}, column ${before[before.length - 1]!.length + 1}: ` : '';
    throw new InputError(`${file}: ${at}JSON syntax error: ${firstLine(message).replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/** Flattens Lists into their items; every other value must be an object with a `kind`. */
export function objectsOf(file: string, value: unknown, where: string): RawObject[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(`${where}: not a Kubernetes object: expected a mapping with apiVersion and kind`);
  }
  const obj = value as Record<string, unknown>;
  const kind = obj['kind'];
  if (typeof kind !== 'string' || kind === '') {
    throw new InputError(`${where}: not a Kubernetes object: it has no kind`);
  }
  if (kind.endsWith('List') && 'items' in obj) {
    const items = obj['items'] ?? [];
    if (!Array.isArray(items)) throw new InputError(`${where}: ${kind}: items: must be a list of objects`);
    return items.flatMap((item: unknown, i: number) => objectsOf(file, item, `${where} items[${i}]`));
  }
  return [{ value: obj, file, where }];
}

/** Every object of one file's text (`file` names it in messages; `.json` selects the JSON parser). */
export function objectsOfText(file: string, text: string): RawObject[] {
  return parseDocuments(file, text).flatMap((d) => objectsOf(file, d.value, d.where));
}

/** Every object from every path, in order. */
export function readObjects(paths: readonly string[]): RawObject[] {
  return manifestFiles(paths).flatMap((file) => objectsOfText(file, readFileText(file)));
}
