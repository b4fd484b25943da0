/**
 * Typed reads of untyped manifest fields. A field of the wrong JSON type is refused the way the API
 * server's decoder refuses it (before any validation), naming the field path.
 */
import { fail, show, type ObjectContext } from './context.js';

export type Json = Record<string, unknown>;

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

function wrongType(ctx: ObjectContext, path: string, wanted: string, value: unknown): never {
  return fail(ctx, path, `must be ${wanted}, got ${typeName(value)} ${show(value)}`);
}

/** An object field; absent or null reads as undefined. */
export function optObject(ctx: ObjectContext, value: unknown, path: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return wrongType(ctx, path, 'an object', value);
  return value as Json;
}

export function object(ctx: ObjectContext, value: unknown, path: string): Json {
  return optObject(ctx, value, path) ?? {};
}

/** A list field; absent or null reads as `[]` (the API does not tell them apart either). */
export function list(ctx: ObjectContext, value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return wrongType(ctx, path, 'a list', value);
  return value;
}

export function optString(ctx: ObjectContext, value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return wrongType(ctx, path, 'a string', value);
  return value;
}

export function optInt(ctx: ObjectContext, value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) return wrongType(ctx, path, 'an integer', value);
  return value;
}

export function optBool(ctx: ObjectContext, value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') return wrongType(ctx, path, 'true or false', value);
  return value;
}

/** An IntOrString field (ports, targetPort): a number must be an integer; anything else is refused. */
export function optIntOrString(ctx: ObjectContext, value: unknown, path: string): number | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  return wrongType(ctx, path, 'an integer or a string', value);
}

/** A `map[string]string` (labels, matchLabels, selectors): every value must be a string. */
export function stringMap(ctx: ObjectContext, value: unknown, path: string): Record<string, string> {
  const raw = optObject(ctx, value, path);
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const key of Object.keys(raw)) {
    const v = raw[key];
    if (typeof v !== 'string') wrongType(ctx, `${path}.${key}`, 'a string (quote it in YAML)', v);
    out[key] = v;
  }
  return out;
}
