/**
 * A reader that stops early (`netsieve ... | head`) closes the pipe under a command still writing: the
 * command stops quietly with exit 0, as Unix tools do, and prints no stack trace.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli } from '../support/cli.js';

function tierCluster(): string {
  const cluster = join(mkdtempSync(join(tmpdir(), 'netsieve-pipe-')), 'cluster.json');
  expect(runCli(['cluster-gen', '--pods', '400', '--namespaces', '8', '--policies', '20', '--seed', '2', '-o', cluster]).status).toBe(0);
  return cluster;
}

/** O_NONBLOCK of the open file that is process `pid`'s stdout (Linux fdinfo flags, octal). */
const nonBlocking = (pid: number): boolean => (Number.parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/1`, 'utf8'))![1]!, 8) & 0o4000) !== 0;

/**
 * Runs the CLI with stdout piped; the reader starts `wait` ms late, or closes the pipe at the first data.
 * `blocking`: whether the command's stdout was blocking when its first bytes arrived.
 */
async function piped(args: string[], reader: { wait: number } | 'close'): Promise<{ status: number | null; stdout: string; stderr: string; blocking: boolean }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let blocking = false;
  const chunks: Buffer[] = [];
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout.once('readable', () => {
    try {
      blocking = !nonBlocking(child.pid!);
    } catch {
      // The command has exited already (its fdinfo is gone): `blocking` stays false, and says so.
    }
  });
  if (reader === 'close') child.stdout.once('data', () => child.stdout.destroy());
  else {
    child.stdout.pause();
    setTimeout(() => child.stdout.on('data', (d: Buffer) => chunks.push(d)).resume(), reader.wait);
  }
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { status, stdout: Buffer.concat(chunks).toString(), stderr, blocking };
}

describe('netsieve writing into a closed pipe', () => {
  it('stops with exit 0 and nothing on stderr when the reader goes away', async () => {
    const cluster = tierCluster();
    // probe's truth table for 400 pods is 160,000 cells: far more than a pipe holds.
    const child = spawn(process.execPath, [BIN, 'probe', '--cluster', cluster], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(stderr).toBe('');
    expect(status).toBe(0);
  }, 60_000);

  it('a streamed output waits for a slow reader (stdout blocking) and arrives whole; stops quietly when the reader goes away', async () => {
    const cluster = tierCluster();
    const args = ['compile', '--cluster', cluster, '--model', 'ebpf', '--output', 'json'];
    const slow = await piped(args, { wait: 500 });
    expect(slow.stderr).toBe('');
    expect(slow.status).toBe(0);
    // Non-blocking, Node queues what the pipe cannot take: behind a slow reader, the whole output in memory.
    expect(slow.blocking).toBe(true);
    expect(slow.stdout.length).toBeGreaterThan(1 << 17); // more than a pipe holds while the reader waits
    expect((JSON.parse(slow.stdout) as { model: string }).model).toBe('ebpf');
    const closed = await piped(args, 'close');
    expect(closed.stderr).toBe('');
    expect(closed.status).toBe(0);
  }, 60_000);
});
