/** Runs `netsieve compile ...` in-process through commander, as the CLI registers it; its stdout and stderr. */
import { Command } from 'commander';
import { vi } from 'vitest';
import { registerCompile } from '../../../src/cli/compile.js';

export async function runCompile(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => { stdout += String(chunk); return true; });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { stderr += String(chunk); return true; });
  const program = new Command().exitOverride();
  registerCompile(program);
  try {
    await program.parseAsync(['node', 'netsieve', 'compile', ...args]);
  } finally {
    vi.restoreAllMocks();
  }
  return { stdout, stderr };
}
