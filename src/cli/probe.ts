/**
 * `netsieve probe`: the reachability truth table over every ordered pair of pods.
 */
import { Command } from 'commander';
import { indexCluster } from '../model/cluster-index.js';
import { probeAll } from '../match/probe.js';
import { buildDataplane, parseModelName } from '../match/registry.js';
import { renderTruthTable } from '../report/truth-table.js';
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
  const { cluster } = loadClusterFromOptions(opts);
  const index = indexCluster(cluster);
  const dataplane = buildDataplane(model, index, semanticsFromOptions(opts));
  const table = probeAll(index, dataplane, protocol.number, port, family === undefined ? undefined : (Number(family) as 4 | 6));
  if (output === 'json') {
    const results = table.cells.filter((c) => c.allowed !== null);
    process.stdout.write(JSON.stringify({ model, port, protocol: protocol.name, results }) + '\n');
    return;
  }
  process.stdout.write(renderTruthTable(table, `${protocol.name}/${port}`));
}
