/**
 * Where a manifest object came from, and the one way the loader refuses it: an `InputError` whose
 * message names the file (and document), the object, the field path and the reason, e.g.
 * `bad.yaml document 2: NetworkPolicy default/db: spec.ingress[0].ports[1].endPort: ...`.
 */
import { InputError } from '../errors.js';
import type { SourceRef } from '../model/types.js';

/** One object as read from disk: its untyped value and where it sits (`file[ document N][ items[i]]`). */
export interface RawObject {
  readonly value: Record<string, unknown>;
  readonly file: string;
  readonly where: string;
}

/** The object being converted: everything a message needs to point at it. */
export interface ObjectContext {
  readonly where: string;
  readonly source: SourceRef;
}

/** `Kind namespace/name`, or `Kind name` for cluster-scoped kinds. */
export function describeObject(source: SourceRef): string {
  const id = source.namespace === null ? source.name : `${source.namespace}/${source.name}`;
  return `${source.kind} ${id}`;
}

export function objectMessage(ctx: ObjectContext, path: string, reason: string): string {
  return `${ctx.where}: ${describeObject(ctx.source)}: ${path}: ${reason}`;
}

/** Stops the load: the object is invalid as the API server would judge it. */
export function fail(ctx: ObjectContext, path: string, reason: string): never {
  throw new InputError(objectMessage(ctx, path, reason));
}

/** A value as a message shows it: strings quoted, the rest as JSON. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

/** Collects non-fatal findings (host bits in a CIDR, duplicates) for the CLI to print. */
export class Warnings {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
  forObject(ctx: ObjectContext, path: string, reason: string): void {
    this.list.push(objectMessage(ctx, path, reason));
  }
}
