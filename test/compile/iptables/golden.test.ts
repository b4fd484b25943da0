/**
 * Golden files: each named scenario's compiled output, byte for byte. `UPDATE_GOLDEN=1` rewrites them;
 * review the diff like code.
 */
import { describe, it } from 'vitest';
import { compileIptables, renderIpsets, renderRules } from '../../../src/compile/iptables/index.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../../src/model/evaluate.js';
import { NAMED_SCENARIOS } from './scenarios.js';
import { expectGolden } from '../../support/golden.js';


describe('iptables golden files', () => {
  for (const [name, make] of Object.entries(NAMED_SCENARIOS)) {
    it(`${name} compiles to its golden ipsets.restore, rules.v4 and rules.v6`, () => {
      const program = compileIptables(indexCluster(make()), DEFAULT_EVAL_OPTIONS);
      const outputs = { 'ipsets.restore': renderIpsets(program), 'rules.v4': renderRules(program, 4), 'rules.v6': renderRules(program, 6) };
      expectGolden('iptables', name, outputs);
    });
  }
});
