/**
 * `netsieve probe`: the reachability truth table over every ordered pair of pods.
 */
import { Command } from 'commander';
import { indexCluster } from '../model/cluster-index.js';
import { probeRows } from '../match/probe.js';
import { buildDataplane, parseModelName } from '../match/registry.js';
import { truthJsonWriter, truthTableWriter } from '../report/truth-table.js';
import { qualifiedName } from '../model/types.js';
import { withProgressBar, withStatus } from './progress.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { addSemanticsOptions, parseChoice, parsePort, parseProtocol, semanticsFromOptions } from './semantics-options.js';

export function registerProbe(program: Command): void {
  const cmd = program.command('probe')
    .description('reachability truth table over every ordered pair of pods (sources as rows)')
    .option('--port <n>', 'destination port as the pod sees it', '80')
    .option('--protocol <p>', 'TCP, UDP, SCTP or ICMP', 'TCP')
    .option('--family <4|6>', 'address family to probe (default: IPv4 where both pods have it, else IPv6)')
    .option('--model <name>', 'reference, iptables or ebpf', 'reference')
    .option('--output <format>', 'table or json', 'table');
  addClusterOptions(cmd);
  addSemanticsOptions(cmd);
  cmd.action((opts: Record<string, string>) => runProbe(opts));
}

function runProbe(opts: Record<string, string>): void {
  const port = parsePort(opts['port']!);
  const protocol = parseProtocol(opts['protocol']!);
  const model = parseModelName(opts['model']!);
  const output = parseChoice(opts['output']!, '--output', ['table', 'json'] as const);
  const family = opts['family'] === undefined ? undefined : parseChoice(opts['family'], '--family', ['4', '6'] as const);
  const onTerminal = output !== 'json' && process.stderr.isTTY;
  const { index, dataplane } = withStatus(onTerminal, (status) => {
    status.show('loading the cluster manifests');
    const built = indexCluster(loadClusterFromOptions(opts).cluster);
    status.show(`building the ${model} model`);
    return { index: built, dataplane: buildDataplane(model, built, semanticsFromOptions(opts)) };
  });
  const names = index.cluster.pods.map(qualifiedName);
  // Streamed row by row: a table of thousands of pods is more than one string can hold.
  const stdout = (chunk: string): void => { process.stdout.write(chunk); };
  const writer = output === 'json'
    ? truthJsonWriter(names, { model, port, protocol: protocol.name }, stdout)
    : truthTableWriter(names, `${protocol.name}/${port}`, stdout);
  // The bar only when the table goes to a file or pipe: on the terminal itself it would cut into the rows.
  withProgressBar(onTerminal && !process.stdout.isTTY && names.length >= BAR_FROM_PODS, 'source pods', names.length, (progress) => {
    probeRows(index, dataplane, protocol.number, port, family === undefined ? undefined : (Number(family) as 4 | 6), (from, row) => {
      writer.row(from, row);
      progress?.(from + 1);
    });
  });
  writer.end();
}

/** Below this many pods the table is done before a bar would be worth drawing. */
const BAR_FROM_PODS = 500;
