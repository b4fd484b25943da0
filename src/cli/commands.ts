import type { Command } from 'commander';
import { registerProbe } from './probe.js';
import { registerExplain } from './explain.js';
import { registerClusterGen } from './cluster-gen.js';
import { registerCompile } from './compile.js';
import { registerReplay } from './replay.js';
import { registerSynth } from './synth.js';
import { registerCompare } from './compare.js';

/** Every command, in the order `--help` lists them. One line per command file. */
export function registerCommands(program: Command): void {
  registerProbe(program);
  registerExplain(program);
  registerClusterGen(program);
  registerCompile(program);
  registerReplay(program);
  registerSynth(program);
  registerCompare(program);
}
