/**
 * `metadata` of any object: the context messages need, name syntax, labels, owner references.
 */
import type { SourceRef } from '../model/types.js';
import { fail, show, type ObjectContext, type RawObject } from './context.js';
import { list, object, optString, stringMap, type Json } from './fields.js';
import { labelKey, labelValue, type NameCheck } from './names.js';

/** Kinds without a namespace. Everything else the loader reads is namespaced. */
const CLUSTER_SCOPED = new Set(['Namespace', 'Node']);

export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
}

/**
 * The object's identity, for messages and duplicates. A namespaced object without
 * `metadata.namespace` goes to `default`, as `kubectl apply` without `-n` would put it.
 */
export function contextOf(raw: RawObject, kind: string): ObjectContext {
  const meta = raw.value['metadata'];
  const m = meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Json) : {};
  const name = typeof m['name'] === 'string' && m['name'] !== '' ? m['name'] : '(unnamed)';
  const ns = typeof m['namespace'] === 'string' && m['namespace'] !== '' ? m['namespace'] : 'default';
  const source: SourceRef = { file: raw.file, kind, namespace: CLUSTER_SCOPED.has(kind) ? null : ns, name };
  return { where: raw.where, source };
}

/** Checks `metadata.name` (required, then `check`) and `metadata.namespace` (a DNS-1123 label). */
export function checkMeta(ctx: ObjectContext, value: Json, check: NameCheck): void {
  const meta = object(ctx, value['metadata'], 'metadata');
  const name = optString(ctx, meta['name'], 'metadata.name');
  if (name === undefined || name === '') fail(ctx, 'metadata.name', 'Required value: every object needs a name');
  const bad = check(name);
  if (bad !== null) fail(ctx, 'metadata.name', `${bad}, got ${show(name)}`);
  const ns = optString(ctx, meta['namespace'], 'metadata.namespace');
  if (ns !== undefined && ns !== '' && ctx.source.namespace !== null) checkNamespaceName(ctx, ns, 'metadata.namespace');
}

export function checkNamespaceName(ctx: ObjectContext, ns: string, path: string): void {
  // Namespace names are DNS-1123 labels (apimachinery ValidateNamespaceName).
  if (ns.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) {
    fail(ctx, path, `a namespace name must be a lowercase RFC 1123 label of at most 63 characters, got ${show(ns)}`);
  }
}

/** A label map (`metadata.labels`, `matchLabels`): keys and values checked as the API server does. */
export function labels(ctx: ObjectContext, value: unknown, path: string): Record<string, string> {
  const map = stringMap(ctx, value, path);
  for (const key of Object.keys(map)) {
    const badKey = labelKey(key);
    if (badKey !== null) fail(ctx, path, `invalid label key ${show(key)}: ${badKey}`);
    const badValue = labelValue(map[key]!);
    if (badValue !== null) fail(ctx, `${path}.${key}`, `invalid label value ${show(map[key])}: ${badValue}`);
  }
  return map;
}

export function metadataLabels(ctx: ObjectContext, value: Json): Record<string, string> {
  return labels(ctx, object(ctx, value['metadata'], 'metadata')['labels'], 'metadata.labels');
}

/** `metadata.ownerReferences`: which workload created this object (kind and name, same namespace). */
export function ownerRefs(ctx: ObjectContext, value: Json): OwnerRef[] {
  const meta = object(ctx, value['metadata'], 'metadata');
  return list(ctx, meta['ownerReferences'], 'metadata.ownerReferences').map((r, i) => {
    const ref = object(ctx, r, `metadata.ownerReferences[${i}]`);
    const kind = optString(ctx, ref['kind'], `metadata.ownerReferences[${i}].kind`) ?? '';
    const name = optString(ctx, ref['name'], `metadata.ownerReferences[${i}].name`) ?? '';
    return { kind, name };
  });
}
