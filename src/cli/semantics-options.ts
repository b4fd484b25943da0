/**
 * The implementation-defined corners of NetworkPolicy as flags (see EvalOptions and the README's
 * "Semantics" section). Every model honours the same switches.
 */
import type { Command } from 'commander';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions } from '../model/evaluate.js';
import { InputError } from '../errors.js';
import { L4_PROTOCOL_NUMBER, IPPROTO, type L4Protocol } from '../model/types.js';

export function addSemanticsOptions(cmd: Command): Command {
  return cmd
    .option('--no-ipblock-matches-pods', 'an ipBlock never matches pod addresses (Cilium, np-guard); default: it does (upstream e2e, Calico)')
    .option('--no-allow-loopback', 'apply policy to a pod talking to itself by its own IP')
    .option('--no-allow-node-traffic', 'apply policy to traffic between a pod and its own node');
}

export function semanticsFromOptions(opts: Record<string, unknown>): EvalOptions {
  return {
    ipBlockMatchesPods: opts['ipblockMatchesPods'] !== false && DEFAULT_EVAL_OPTIONS.ipBlockMatchesPods,
    allowLoopback: opts['allowLoopback'] !== false && DEFAULT_EVAL_OPTIONS.allowLoopback,
    allowNodeTraffic: opts['allowNodeTraffic'] !== false && DEFAULT_EVAL_OPTIONS.allowNodeTraffic,
  };
}

/** Protocols a flow can name on the command line; ICMP is outside the v1 API but can be probed. */
const PROTOCOLS: Readonly<Record<string, number>> = { ...L4_PROTOCOL_NUMBER, ICMP: IPPROTO.ICMP };

export function parseProtocol(text: string): { name: L4Protocol | 'ICMP'; number: number } {
  const name = text.toUpperCase();
  const number = PROTOCOLS[name];
  if (number === undefined) throw new InputError(`--protocol: ${JSON.stringify(text)} is not one of TCP, UDP, SCTP, ICMP`);
  return { name: name as L4Protocol | 'ICMP', number };
}

export function parsePort(text: string, flag = '--port'): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new InputError(`${flag}: ${JSON.stringify(text)} is not a port number in 1..65535`);
  }
  return Number(text);
}

export function parseChoice<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new InputError(`${flag}: ${JSON.stringify(text)} is not one of ${choices.join(', ')}`);
}
