/**
 * `netsieve compile`: files, summary, stdout forms, and clear errors, driven in-process through
 * commander exactly as the CLI registers the command.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { runCompile as run } from './cli-support.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const SEED = join(ROOT, 'captures/seed/cluster.yaml');
const GOLDEN = join(ROOT, 'test/golden/iptables/seed');
const dir = mkdtempSync(join(tmpdir(), 'netsieve-compile-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe('netsieve compile --model iptables', () => {
  it('-o DIR writes ipsets.restore, rules.v4 and rules.v6 and prints a summary on stderr', async () => {
    const out = join(dir, 'seed');
    const { stdout, stderr } = await run('--cluster', SEED, '--model', 'iptables', '-o', out);
    for (const f of ['ipsets.restore', 'rules.v4', 'rules.v6']) expect(readFileSync(join(out, f), 'utf8')).toBe(readFileSync(join(GOLDEN, f), 'utf8'));
    expect(stdout).toBe('');
    expect(stderr).toMatch(/7 chains \/ 16 rules \(IPv4\), 4 chains \/ 4 rules \(IPv6\), 2 ipsets with 2 members, compiled in [\d.]+ ms/);
  });

  it('without -o prints the three files on stdout', async () => {
    const { stdout } = await run('--cluster', SEED, '--model', 'iptables');
    expect(stdout).toContain(`# ---- rules.v4\n${readFileSync(join(GOLDEN, 'rules.v4'), 'utf8')}`);
    expect(stdout).toContain(`# ---- ipsets.restore\n${readFileSync(join(GOLDEN, 'ipsets.restore'), 'utf8')}`);
  });

  it('--output json prints one JSON document with the summary and the files', async () => {
    const doc = JSON.parse((await run('--cluster', SEED, '--model', 'iptables', '--output', 'json')).stdout);
    expect(doc).toMatchObject({ model: 'iptables', chains: { v4: 7, v6: 4 }, rules: { v4: 16, v6: 4 }, sets: 2, members: 2 });
    expect(doc.files['rules.v6']).toBe(readFileSync(join(GOLDEN, 'rules.v6'), 'utf8'));
    expect(typeof doc.compileSeconds).toBe('number');
  });

  it('honours the semantic switches (no loopback or node shortcuts without them)', async () => {
    const { stdout } = await run('--cluster', SEED, '--model', 'iptables', '--no-allow-loopback', '--no-allow-node-traffic');
    expect(stdout).not.toContain('loopback');
    expect(stdout).toContain('-A INPUT -m comment --comment "netsieve: pod to its node is policed (allowNodeTraffic off)" -j NS-FORWARD');
  });

  it('--model ebpf hands over to the eBPF compiler', async () => {
    const { stdout } = await run('--cluster', SEED, '--model', 'ebpf', '--output', 'json');
    expect(() => JSON.parse(stdout)).not.toThrow();
  });

  it('rejects an unknown model and an unwritable directory with an InputError', async () => {
    await expect(run('--cluster', SEED, '--model', 'nft')).rejects.toThrow(InputError);
    await expect(run('--cluster', SEED, '--model', 'iptables', '-o', join(SEED, 'inside-a-file'))).rejects.toThrow(/-o .*cannot write the iptables files/);
  });
});
