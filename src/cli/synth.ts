/**
 * `netsieve synth`: seeded synthetic traffic between a cluster's pods and some external addresses,
 * written as a pcap. The same cluster and seed give the same bytes.
 */
import { Command } from 'commander';
import { indexCluster } from '../model/cluster-index.js';
import { fileSink } from '../traffic/pcap/writer.js';
import { MAX_EXCHANGES, parseSize, synthToSink } from '../traffic/synth/index.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { addSemanticsOptions, semanticsFromOptions } from './semantics-options.js';
import { wholeNumber } from './whole-number.js';

/** The packet count and seed go into 32-bit fields (the generator's and the pcap's). */
const UINT32_MAX = 0xffffffff;

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
  const packets = wholeNumber(opts['packets']!, '--packets', { min: 1, unstatedMax: UINT32_MAX });
  const seed = wholeNumber(opts['seed']!, '--seed', { min: 0, unstatedMax: UINT32_MAX });
  const size = parseSize(opts['size']!);
  const exchanges = wholeNumber(opts['exchanges']!, '--exchanges', { min: 1, max: MAX_EXCHANGES });
  const { cluster } = loadClusterFromOptions(opts);
  const result = synthToSink(indexCluster(cluster), { packets, seed, size, exchanges, options: semanticsFromOptions(opts) }, fileSink(opts['out']!));
  const mpps = (seconds: number) => (seconds > 0 ? (result.packets / seconds / 1e6).toFixed(2) : '-');
  process.stderr.write(`netsieve: wrote ${opts['out']}: ${result.packets} packets, ${result.bytes} bytes, ` +
    `${result.plan.count} flows (${result.plan.allowedIdx.length} allowed by policy), ${mpps(result.seconds)} Mpps ` +
    `(${mpps(result.cpuSeconds)} Mpps per CPU second)\n`);
}
