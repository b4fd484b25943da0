/**
 * Runs the built `netsieve` command as users do (`node <bin>`), for end-to-end CLI tests.
 * `npm test` builds first; running vitest alone needs `npm run build` beforehand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { netsieve: string } };
export const BIN = join(ROOT, pkg.bin.netsieve);

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does it)`);
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', input: options.input, env: { ...process.env, ...options.env }, maxBuffer: 1 << 28,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
