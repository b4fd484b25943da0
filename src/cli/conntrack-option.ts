/**
 * `--conntrack-max N`, shared by the commands that track connections (replay, compare): the entries each
 * model's conntrack table holds, as a node's nf_conntrack_max.
 */
import type { Command } from 'commander';
import { DEFAULT_CONNTRACK_CAPACITY, MAX_CONNTRACK_CAPACITY } from '../conntrack/index.js';
import { InputError } from '../errors.js';

export function addConntrackOption(cmd: Command): Command {
  return cmd.option('--conntrack-max <n>', 'entries each model\'s conntrack table holds, as the node\'s nf_conntrack_max', String(DEFAULT_CONNTRACK_CAPACITY));
}

export function parseConntrackMax(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_CONNTRACK_CAPACITY) {
    throw new InputError(`--conntrack-max: ${JSON.stringify(text)} is not a whole number from 1 to ${MAX_CONNTRACK_CAPACITY}`);
  }
  return Number(text);
}
