/**
 * Golden files: each scenario's identities, ipcache and policy map dump, byte for byte.
 * `UPDATE_GOLDEN=1` rewrites them; review the diff like code.
 */
import { describe, it } from 'vitest';
import { compileEbpf } from '../../../src/compile/ebpf/compile.js';
import { renderIdentities, renderIpcache, renderPolicyTable } from '../../../src/compile/ebpf/dump.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../../src/model/evaluate.js';
import { EBPF_SCENARIOS } from './scenarios.js';
import { expectGolden } from '../../support/golden.js';


describe('eBPF golden files', () => {
  for (const [name, make] of Object.entries(EBPF_SCENARIOS)) {
    it(`${name} compiles to its golden identities, ipcache and policy maps`, () => {
      const program = compileEbpf(indexCluster(make()), DEFAULT_EVAL_OPTIONS);
      const outputs = { 'identities.txt': renderIdentities(program), 'ipcache.txt': renderIpcache(program), 'policy.txt': renderPolicyTable(program) };
      expectGolden('ebpf', name, outputs);
    });
  }
});
