/**
 * `netsieve compile --model iptables` past V8's longest string (the stress tier's ipset text is about
 * 3.5 GB): simulated by making the one-string renderers throw as V8 does, so that only the streamed
 * writers can produce the files. -o and the text form must still write every file in full; JSON, which
 * needs the files as strings, must refuse with a clear message rather than an internal error.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { runCompile as run } from './cli-support.js';

const tooLong = { on: false };
vi.mock('../../../src/compile/iptables/index.js', async (original) => {
  const real = await original<typeof import('../../../src/compile/iptables/index.js')>();
  const guard = <A extends unknown[]>(render: (...a: A) => string) => (...a: A): string => {
    if (tooLong.on) throw new RangeError('Invalid string length');
    return render(...a);
  };
  return { ...real, renderIpsets: guard(real.renderIpsets), renderRules: guard(real.renderRules) };
});

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const SEED = join(ROOT, 'captures/seed/cluster.yaml');
const GOLDEN = join(ROOT, 'test/golden/iptables/seed');
const FILES = ['ipsets.restore', 'rules.v4', 'rules.v6'];
const dir = mkdtempSync(join(tmpdir(), 'netsieve-compile-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  tooLong.on = false;
});

describe('netsieve compile --model iptables when the files cannot be one string', () => {
  it('the simulation holds: the one-string renderers refuse', async () => {
    tooLong.on = true;
    const { renderRules } = await import('../../../src/compile/iptables/index.js');
    expect(() => renderRules({} as never, 4)).toThrow(/Invalid string length/);
  });

  it('-o DIR streams every file in full', async () => {
    tooLong.on = true;
    const out = join(dir, 'streamed');
    const { stderr } = await run('--cluster', SEED, '--model', 'iptables', '-o', out);
    for (const f of FILES) expect(readFileSync(join(out, f), 'utf8')).toBe(readFileSync(join(GOLDEN, f), 'utf8'));
    expect(stderr).toMatch(/16 rules \(IPv4\).*wrote /);
  });

  it('-o DIR --output json streams the files and prints the summary', async () => {
    tooLong.on = true;
    const out = join(dir, 'streamed-json');
    const doc = JSON.parse((await run('--cluster', SEED, '--model', 'iptables', '-o', out, '--output', 'json')).stdout);
    expect(doc).toMatchObject({ model: 'iptables', rules: { v4: 16, v6: 4 }, out });
    expect(readFileSync(join(out, 'rules.v4'), 'utf8')).toBe(readFileSync(join(GOLDEN, 'rules.v4'), 'utf8'));
  });

  it('the text form on stdout streams every file', async () => {
    tooLong.on = true;
    const { stdout } = await run('--cluster', SEED, '--model', 'iptables');
    const expected = FILES.map((f) => `# ---- ${f}\n${readFileSync(join(GOLDEN, f), 'utf8')}`).join('');
    expect(stdout).toBe(expected);
  });

  it('JSON on stdout refuses with what to do instead', async () => {
    tooLong.on = true;
    const refused = run('--cluster', SEED, '--model', 'iptables', '--output', 'json');
    await expect(refused).rejects.toThrow(InputError);
    await expect(refused).rejects.toThrow(/\(20 rules, 2 set members\) are longer than the longest string Node\.js can hold.*-o DIR/);
  });
});
