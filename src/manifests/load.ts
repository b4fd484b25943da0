/**
 * The loader's entry point: Kubernetes manifests (files or directories of YAML or JSON, as written by
 * hand or by `kubectl get -A -o yaml|json`) to the defaulted, validated, sorted Cluster model.
 *
 * It never prints: warnings come back in the result for the CLI to show. An invalid object stops the
 * load with an InputError naming the file, the object, the field path and the reason.
 */
import { InputError } from '../errors.js';
import type { Cluster } from '../model/types.js';
import { assemble } from './assemble.js';
import { collect } from './collect.js';
import { Warnings, type RawObject } from './context.js';
import { resolveOptions, type LoadOptions, type ResolvedOptions } from './options.js';
import { objectsOfText, readObjects } from './read.js';

export { DEFAULT_LOAD_OPTIONS, type LoadOptions } from './options.js';

export interface LoadResult {
  readonly cluster: Cluster;
  readonly warnings: string[];
  /** Kinds read but not modelled (ConfigMap, Ingress, ...), and how many of each. */
  readonly skipped: Record<string, number>;
  /** Objects read, List items counted one by one, skipped kinds included. */
  readonly objects: number;
}

export function loadCluster(paths: readonly string[], options: Partial<LoadOptions> = {}): LoadResult {
  const warnings = new Warnings();
  const resolved = resolveOptions(options, warnings.list);
  if (paths.length === 0) throw new InputError('no cluster manifests given: pass --cluster <file or directory>');
  const objects = readObjects(paths);
  if (objects.length === 0) {
    throw new InputError(`${paths.join(', ')}: no Kubernetes objects found (read *.yaml, *.yml and *.json files)`);
  }
  return build(objects, resolved, warnings);
}

/**
 * The same from text in memory (tests, generators): `name` stands for the file in messages and
 * sources; a name ending in `.json` is parsed as JSON, anything else as YAML.
 */
export function loadClusterFromText(text: string, options: Partial<LoadOptions> = {}, name = 'cluster.yaml'): LoadResult {
  const warnings = new Warnings();
  const resolved = resolveOptions(options, warnings.list);
  const objects = objectsOfText(name, text);
  if (objects.length === 0) throw new InputError(`${name}: no Kubernetes objects found`);
  return build(objects, resolved, warnings);
}

function build(objects: readonly RawObject[], resolved: ResolvedOptions, warnings: Warnings): LoadResult {
  const collected = collect(objects, warnings);
  const cluster = assemble(collected, resolved, warnings);
  return { cluster, warnings: warnings.list, skipped: collected.skipped, objects: objects.length };
}
