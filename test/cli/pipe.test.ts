/**
 * A reader that stops early (`netsieve ... | head`) closes the pipe under a command still writing: the
 * command stops quietly with exit 0, as Unix tools do, and prints no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli } from '../support/cli.js';

describe('netsieve writing into a closed pipe', () => {
  it('stops with exit 0 and nothing on stderr when the reader goes away', async () => {
    const cluster = join(mkdtempSync(join(tmpdir(), 'netsieve-pipe-')), 'cluster.json');
    expect(runCli(['cluster-gen', '--pods', '400', '--namespaces', '8', '--policies', '20', '--seed', '2', '-o', cluster]).status).toBe(0);
    // probe's truth table for 400 pods is 160,000 cells: far more than a pipe holds.
    const child = spawn(process.execPath, [BIN, 'probe', '--cluster', cluster], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(stderr).toBe('');
    expect(status).toBe(0);
  }, 60_000);
});
