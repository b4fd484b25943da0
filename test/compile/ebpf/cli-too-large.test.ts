/**
 * `compile --model ebpf` past what Node.js can hold (the stress tier: 141M policy map entries, more than
 * V8's longest array): simulated by making the dumps throw as V8 does. The refusal must be a clear
 * InputError naming the entry count, for stdout and for -o alike, and must not blame the directory.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runEbpfCompile } from '../../../src/cli/compile-ebpf.js';
import { InputError } from '../../../src/errors.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { EBPF_SCENARIOS } from './scenarios.js';

const tooLarge = { on: false };
vi.mock('../../../src/compile/ebpf/dump.js', async (original) => {
  const real = await original<typeof import('../../../src/compile/ebpf/dump.js')>();
  const guard = <A extends unknown[], R>(dump: (...a: A) => R) => (...a: A): R => {
    if (tooLarge.on) throw new RangeError('Invalid array length');
    return dump(...a);
  };
  return { ...real, toJson: guard(real.toJson), renderAllTables: guard(real.renderAllTables), renderPolicyTable: guard(real.renderPolicyTable) };
});

const index = indexCluster(EBPF_SCENARIOS['seed']!());
const dir = mkdtempSync(join(tmpdir(), 'netsieve-ebpf-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runEbpfCompile when the maps are too large to dump', () => {
  beforeEach(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    tooLarge.on = false;
  });

  it('dumps normally when it fits (the simulation is off)', () => {
    expect(() => runEbpfCompile(index, { output: 'json' })).not.toThrow();
  });

  for (const output of ['json', 'table'] as const) {
    it(`--output ${output} on stdout: an InputError naming the entry count`, () => {
      tooLarge.on = true;
      expect(() => runEbpfCompile(index, { output })).toThrow(InputError);
      expect(() => runEbpfCompile(index, { output })).toThrow(/the eBPF program has 2 policy map entries, more than can be dumped/);
    });
  }

  it('-o DIR: the same refusal, nothing written, no "cannot write"', () => {
    tooLarge.on = true;
    const out = join(dir, 'maps');
    expect(() => runEbpfCompile(index, { output: 'json', out })).toThrow(/more than can be dumped as JSON or text tables/);
    expect(() => readdirSync(out)).toThrow(/ENOENT/);
  });
});
