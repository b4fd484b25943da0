import type { Command } from 'commander';

/** Every command, in the order `--help` lists them. One line per command file. */
export function registerCommands(program: Command): void {
  void program;
}
