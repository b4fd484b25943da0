/**
 * The `netsieve` command as the kernel starts it, through its shebang: Node with V8's background thread
 * pool sized to the machine (`--v8-pool-size=0`, src/cli/netsieve.ts says why), where `node <bin>`
 * gets Node's default of four threads whatever the cores.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../support/cli.js';

/** A preload that prints how many threads the process has once Node is up, and exits before the command runs. */
function threadProbe(): string {
  const probe = join(mkdtempSync(join(tmpdir(), 'netsieve-launch-')), 'threads.cjs');
  writeFileSync(probe, "process.stdout.write(String(require('node:fs').readdirSync('/proc/self/task').length)); process.exit(0);\n");
  return probe;
}

/** `netsieve help` run as the file itself, the kernel reading its shebang (this Node first on the PATH). */
function runThroughShebang(env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  // npm marks a package's bin executable when it links it; the build leaves it as tsc wrote it.
  chmodSync(BIN, statSync(BIN).mode | 0o111);
  const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  return spawnSync(BIN, ['help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: path, ...env } });
}

describe('the netsieve command', () => {
  it('runs through its shebang, env -S splitting it', () => {
    expect(readFileSync(BIN, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env -S node --v8-pool-size=0');
    const r = runThroughShebang();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: netsieve');
  });

  // With more than four cores Node's default pool is the smaller or the same: nothing to compare there.
  it.runIf(availableParallelism() <= 4)('starts Node with fewer background threads than `node <bin>` (four cores or fewer)', () => {
    const probe = { NODE_OPTIONS: `--require ${threadProbe()}` };
    const viaShebang = Number(runThroughShebang(probe).stdout);
    const plain = Number(spawnSync(process.execPath, [BIN, 'help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...probe } }).stdout);
    expect(viaShebang).toBeGreaterThan(0);
    expect(plain).toBeGreaterThan(0);
    expect(viaShebang).toBeLessThan(plain);
  });

  it('prints its version, the package\'s, and exits 0', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = spawnSync(process.execPath, [BIN, flag], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, flag).toBe(0);
      expect(r.stdout.trim(), flag).toBe(pkg.version);
    }
  });
});
