#!/usr/bin/env -S node --v8-pool-size=0
/**
 * The `netsieve` command. Wiring only: each command lives in its own file and registers itself here
 * (only the one invoked is loaded: ./commands.ts).
 * Exit codes: 0 success; 2 invalid input or usage; 3 a capture read only up to damage.
 *
 * `--v8-pool-size=0` (the line above; `env -S` splits it): V8's background threads are one fewer than
 * the cores, where Node's default is four whatever the machine. On two vCPUs four threads of V8's
 * collector, marking the heap the compile left, took the core a replay runs on: a one-shot replay of the
 * stress tier's 1M packets took 0.47-0.52 s with the default and 0.24-0.32 s with this, the small tier's
 * wall time 1.10x (bench/NOTES.md). Node reads the option only at its start, so it cannot be set here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { InputError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { registerCommands } from './commands.js';
import { readerWentAway } from './stdout.js';

/*
 * Writes to a piped stdout block until the reader takes them. Node leaves a pipe non-blocking: a write
 * it cannot finish at once is queued in memory and returns, so behind a slower reader a streamed output
 * piled up whole (`compile --model ebpf --output json | ...` at the real tier, 1.2 GB, died after 3 MB
 * with ENOBUFS and a stack trace: Node hands no more than 2 GiB to one writev). `setBlocking` is the
 * pipe handle's own (libuv uv_stream_set_blocking); files and terminals are written synchronously already.
 */
(process.stdout as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle?.setBlocking?.(true);

// A reader that stops early (`| head`) closes the pipe: stop quietly, as Unix tools do, not with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (readerWentAway(err)) process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('netsieve')
  .description('Kubernetes NetworkPolicy dataplane simulator: iptables and eBPF models, capture replay')
  .version(packageVersion(), '-V, --version', 'print the version of netsieve')
  .addHelpText('after', `
Exit codes:
  0  success
  2  invalid input or usage (the message names the file, the object and the reason)
  3  a capture was read only up to damage (the report says where)`)
  .exitOverride()
  .showHelpAfterError();
await registerCommands(program, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeFor(err);
}
exitWhenWritten();

/*
 * Every command's work is synchronous and done by now, its output written (pipes blocking, above; files
 * and terminals are written synchronously). Left to itself, Node would still wait for V8's background
 * tasks before exiting: after a replay, a garbage collection of its tables started by their external
 * memory, 25-48 ms with no handle open of a 0.5 s run (bench/NOTES.md: 1.04x wall over 30 rounds). Exiting
 * now skips that wait; with a write still queued (a pipe Node could not make blocking) the loop drains it first.
 */
function exitWhenWritten(): void {
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit();
}

/** The version in the package's package.json. */
function packageVersion(): string {
  const root = packageRoot();
  if (root === null) return 'unknown';
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version arrive here with exit code 0; usage errors were already printed.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof InputError) {
    process.stderr.write(`netsieve: ${err.message}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`netsieve: internal error: ${message}\n(please report this with the command that caused it)\n`);
  return 1;
}
