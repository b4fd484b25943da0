/**
 * Golden files: each scenario's identities, ipcache and policy map dump, byte for byte.
 * `UPDATE_GOLDEN=1` rewrites them; review the diff like code.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../../src/compile/ebpf/compile.js';
import { renderIdentities, renderIpcache, renderPolicyTable } from '../../../src/compile/ebpf/dump.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../../src/model/evaluate.js';
import { EBPF_SCENARIOS } from './scenarios.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '../../golden/ebpf');
const update = process.env['UPDATE_GOLDEN'] === '1';

describe('eBPF golden files', () => {
  for (const [name, make] of Object.entries(EBPF_SCENARIOS)) {
    it(`${name} compiles to its golden identities, ipcache and policy maps`, () => {
      const program = compileEbpf(indexCluster(make()), DEFAULT_EVAL_OPTIONS);
      const outputs = { 'identities.txt': renderIdentities(program), 'ipcache.txt': renderIpcache(program), 'policy.txt': renderPolicyTable(program) };
      for (const [file, text] of Object.entries(outputs)) {
        const path = join(GOLDEN, name, file);
        if (update) {
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, text);
        }
        expect(existsSync(path), `${path} missing: run with UPDATE_GOLDEN=1`).toBe(true);
        expect(text, `${name}/${file}`).toBe(readFileSync(path, 'utf8'));
      }
    });
  }
});
