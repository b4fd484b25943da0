/**
 * `netsieve synth`: seeded synthetic traffic between a cluster's pods and some external addresses,
 * written as a pcap. The same cluster and seed give the same bytes.
 */
import { Command } from 'commander';
import { InputError } from '../errors.js';
import { indexCluster } from '../model/cluster-index.js';
import { fileSink } from '../traffic/pcap/writer.js';
import { MAX_EXCHANGES, parseSize, synthToSink } from '../traffic/synth/index.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { addSemanticsOptions, semanticsFromOptions } from './semantics-options.js';

export function registerSynth(program: Command): void {
  const cmd = program.command('synth')
    .description('write seeded synthetic traffic (TCP, UDP, SCTP, ICMP; allowed and denied flows) as a pcap')
    .requiredOption('--packets <n>', 'number of packets')
    .option('--seed <n>', 'seed (same seed, same bytes)', '1')
    .option('--size <size>', '64, imix (frames of 64, 576 and 1500 bytes, 7:4:1) or a frame length in bytes', '64')
    .option('--exchanges <n>', 'request/response exchanges per allowed TCP connection (6 + 2n packets each)', '1')
    .requiredOption('-o, --out <file>', 'output pcap');
  addClusterOptions(cmd);
  addSemanticsOptions(cmd);
  cmd.action((opts: Record<string, string>) => runSynth(opts));
}

function runSynth(opts: Record<string, string>): void {
  const packets = wholeNumber(opts['packets']!, '--packets', 1);
  const seed = wholeNumber(opts['seed']!, '--seed', 0);
  const size = parseSize(opts['size']!);
  const exchanges = wholeNumber(opts['exchanges']!, '--exchanges', 1, MAX_EXCHANGES);
  const { cluster } = loadClusterFromOptions(opts);
  const result = synthToSink(indexCluster(cluster), { packets, seed, size, exchanges, options: semanticsFromOptions(opts) }, fileSink(opts['out']!));
  const mpps = (seconds: number) => (seconds > 0 ? (result.packets / seconds / 1e6).toFixed(2) : '-');
  process.stderr.write(`netsieve: wrote ${opts['out']}: ${result.packets} packets, ${result.bytes} bytes, ` +
    `${result.plan.count} flows (${result.plan.allowedIdx.length} allowed by policy), ${mpps(result.seconds)} Mpps ` +
    `(${mpps(result.cpuSeconds)} Mpps per CPU second)\n`);
}

function wholeNumber(text: string, flag: string, min: number, max = 0xffffffff): number {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text)) || Number(text) > max) {
    const range = max === 0xffffffff ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InputError(`${flag}: ${JSON.stringify(text)} is not a whole number ${range}`);
  }
  return Number(text);
}
