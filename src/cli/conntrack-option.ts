/**
 * `--conntrack-max N`, shared by the commands that track connections (replay, compare): the entries each
 * model's conntrack table holds, as a node's nf_conntrack_max.
 */
import type { Command } from 'commander';
import { DEFAULT_CONNTRACK_CAPACITY, MAX_CONNTRACK_CAPACITY } from '../conntrack/index.js';
import { wholeNumber } from './whole-number.js';

export function addConntrackOption(cmd: Command): Command {
  return cmd.option('--conntrack-max <n>', 'entries each model\'s conntrack table holds, as the node\'s nf_conntrack_max', String(DEFAULT_CONNTRACK_CAPACITY));
}

export function parseConntrackMax(text: string): number {
  return wholeNumber(text, '--conntrack-max', { min: 1, max: MAX_CONNTRACK_CAPACITY });
}
