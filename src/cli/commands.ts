import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every command, in the order `--help` lists them, each loaded only when needed: a command's modules
 * (and those of the others: compare's charts, cluster-gen, synth) took 60-100 ms of every start-up.
 */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  ['probe', async () => (await import('./probe.js')).registerProbe],
  ['explain', async () => (await import('./explain.js')).registerExplain],
  ['cluster-gen', async () => (await import('./cluster-gen.js')).registerClusterGen],
  ['compile', async () => (await import('./compile.js')).registerCompile],
  ['replay', async () => (await import('./replay.js')).registerReplay],
  ['synth', async () => (await import('./synth.js')).registerSynth],
  ['compare', async () => (await import('./compare.js')).registerCompare],
];

/**
 * Registers the command `args` names (the arguments after the script: the first that is no option), or
 * every command when it names none of them (`--help`, `help <command>`, a mistyped name), so that the
 * help and commander's suggestions list them all.
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const name = args.find((a) => !a.startsWith('-'));
  const invoked = COMMANDS.find(([n]) => n === name);
  for (const [, load] of invoked ? [invoked] : COMMANDS) (await load())(program);
}
