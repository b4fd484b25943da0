import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadCluster, type LoadOptions, type LoadResult } from '../../src/manifests/load.js';
import { formatIp } from '../../src/model/ip.js';
import type { Pod } from '../../src/model/types.js';

export const FIXTURES = 'test/fixtures/manifests';

/** Writes `files` (relative path -> text) into a fresh temporary directory and returns it. */
export function tempTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-manifests-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** Loads one YAML text written to `<tmp>/<file>`. */
export function loadText(text: string, options: Partial<LoadOptions> = {}, file = 'in.yaml'): LoadResult {
  return loadCluster([join(tempTree({ [file]: text }), file)], options);
}

/** The InputError message loading `text` produces; fails the test if it loads. */
export function loadError(text: string, options: Partial<LoadOptions> = {}, file = 'bad.yaml'): string {
  try {
    loadText(text, options, file);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).message;
  }
  throw new Error('expected the load to fail, it succeeded');
}

/** `ns/name ip,ip @node` per pod: compact and readable in expectations. */
export function podLines(pods: readonly Pod[]): string[] {
  return pods.map((p) => `${p.namespace}/${p.name} ${p.ips.map(formatIp).join(',')} @${p.nodeName ?? '-'}`);
}

/** A minimal NetworkPolicy document around `spec` (YAML, indented under `spec:`). */
export function policyYaml(spec: string, name = 'np', namespace = 'default'): string {
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${spec.replace(/^/gm, '  ')}
`;
}
