/**
 * Golden files: each named scenario's compiled output, byte for byte. `UPDATE_GOLDEN=1` rewrites them;
 * review the diff like code.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileIptables, renderIpsets, renderRules } from '../../../src/compile/iptables/index.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../../src/model/evaluate.js';
import { NAMED_SCENARIOS } from './scenarios.js';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '../../golden/iptables');
const update = process.env['UPDATE_GOLDEN'] === '1';

describe('iptables golden files', () => {
  for (const [name, make] of Object.entries(NAMED_SCENARIOS)) {
    it(`${name} compiles to its golden ipsets.restore, rules.v4 and rules.v6`, () => {
      const program = compileIptables(indexCluster(make()), DEFAULT_EVAL_OPTIONS);
      const outputs = { 'ipsets.restore': renderIpsets(program), 'rules.v4': renderRules(program, 4), 'rules.v6': renderRules(program, 6) };
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
