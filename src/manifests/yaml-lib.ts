/**
 * The `yaml` package, loaded on first use: it takes 66 ms to load here, which a command that reads only
 * JSON manifests (`kubectl get -o json` dumps, cluster-gen's JSON clusters) need not pay at start-up.
 * Loaded through require (the package ships CommonJS for Node) so that callers stay synchronous.
 */
import { createRequire } from 'node:module';

type YamlLib = typeof import('yaml');
let lib: YamlLib | null = null;

export function yamlLib(): YamlLib {
  lib ??= createRequire(import.meta.url)('yaml') as YamlLib;
  return lib;
}
