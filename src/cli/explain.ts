/**
 * `netsieve explain`: one decision with its reasons, per direction, down to the rule (or map entry).
 */
import { Command } from 'commander';
import { InputError } from '../errors.js';
import { indexCluster, podAt, type ClusterIndex } from '../model/cluster-index.js';
import { describeEndpoint, endpointAddress, parseEndpoint, type EndpointSpec } from '../model/endpoints.js';
import { evaluate, type EvalOptions } from '../model/evaluate.js';
import { formatIp, type IpAddr } from '../model/ip.js';
import { serviceBackends, servicePortFor } from '../model/services.js';
import { qualifiedName, type Service } from '../model/types.js';
import type { Dataplane } from '../match/dataplane.js';
import { buildDataplane, parseModelName } from '../match/registry.js';
import { renderExplanations, type Explanation } from '../report/explain-text.js';
import { addClusterOptions, loadClusterFromOptions } from './cluster-options.js';
import { addSemanticsOptions, parseChoice, parsePort, parseProtocol, semanticsFromOptions } from './semantics-options.js';

export function registerExplain(program: Command): void {
  const cmd = program.command('explain')
    .description('explain one decision: per direction, which policies isolate, which rule allows or that none does')
    .requiredOption('--from <ns/pod|IP>', 'source pod or address')
    .requiredOption('--to <ns/pod|IP|svc/ns/name>', 'destination pod, address or Service (DNAT to each backend)')
    .requiredOption('--port <n>', 'destination port (the Service port when --to names a Service)')
    .option('--protocol <p>', 'TCP, UDP, SCTP or ICMP', 'TCP')
    .option('--model <name>', 'reference, iptables or ebpf', 'reference')
    .option('--output <format>', 'text or json', 'text');
  addClusterOptions(cmd);
  addSemanticsOptions(cmd);
  cmd.action((opts: Record<string, string>) => runExplain(opts));
}

interface Request {
  readonly index: ClusterIndex;
  readonly options: EvalOptions;
  readonly dataplane: Dataplane;
  readonly protocol: { name: string; number: number };
}

function runExplain(opts: Record<string, string>): void {
  const port = parsePort(opts['port']!);
  const protocol = parseProtocol(opts['protocol']!);
  const model = parseModelName(opts['model']!);
  const output = parseChoice(opts['output']!, '--output', ['text', 'json'] as const);
  const index = indexCluster(loadClusterFromOptions(opts).cluster);
  const options = semanticsFromOptions(opts);
  const req: Request = { index, options, dataplane: buildDataplane(model, index, options), protocol };
  const from = parseEndpoint(index, opts['from']!, '--from', false);
  const to = parseEndpoint(index, opts['to']!, '--to', true);
  const result = to.kind === 'service' ? explainService(req, from, to.service, port) : [explainPair(req, from, to, port)];
  const service = to.kind === 'service' ? { service: qualifiedName(to.service), servicePort: port } : {};
  if (output === 'json') {
    const doc = { model, protocol: protocol.name, port, ...service, allowed: result.length > 0 && result.every((e) => e.allowed), explanations: result };
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    return;
  }
  process.stdout.write(renderExplanations(result, model, service.service ?? null));
}

function familyOf(spec: EndpointSpec): 4 | 6 | null {
  return spec.kind === 'ip' ? spec.ip.family : null;
}

function explainPair(req: Request, from: EndpointSpec, to: EndpointSpec, port: number): Explanation {
  const family = familyOf(from) ?? familyOf(to) ?? commonFamily(from, to);
  const src = endpointAddress(from, family, '--from');
  const dst = endpointAddress(to, family, '--to');
  return explainFlow(req, src, dst, port);
}

function commonFamily(from: EndpointSpec, to: EndpointSpec): 4 | 6 | null {
  if (from.kind !== 'pod' || to.kind !== 'pod') return null;
  for (const f of [4, 6] as const) {
    if (from.pod.ips.some((a) => a.family === f) && to.pod.ips.some((a) => a.family === f)) return f;
  }
  throw new InputError(`--from ${qualifiedName(from.pod)} and --to ${qualifiedName(to.pod)} share no address family`);
}

/** Kubernetes DNATs a ClusterIP:port to a backend pod and its target port before any policy sees it. */
function explainService(req: Request, from: EndpointSpec, service: Service, port: number): Explanation[] {
  const sp = servicePortFor(service, port, req.protocol.number);
  if (!sp) throw new InputError(`--to svc/${qualifiedName(service)}: the Service has no ${req.protocol.name} port ${port}`);
  const family = familyOf(from) ?? (from.kind === 'pod' ? from.pod.ips[0]?.family ?? 4 : 4);
  const src = endpointAddress(from, family, '--from');
  const backends = serviceBackends(req.index, service, sp, family);
  if (backends.length === 0) throw new InputError(`--to svc/${qualifiedName(service)}: no backend pod with an IPv${family} address serves port ${port}`);
  return backends.map((b) => explainFlow(req, src, b.pod.ips.find((a) => a.family === family)!, b.port));
}

function explainFlow(req: Request, src: IpAddr, dst: IpAddr, port: number): Explanation {
  if (src.family !== dst.family) throw new InputError(`--from ${formatIp(src)} and --to ${formatIp(dst)} are of different address families`);
  const flow = { src, dst, protocol: req.protocol.number, dstPort: port };
  const decision = evaluate(req.index, flow, req.options);
  const verdict = req.dataplane.decideOpening(flow);
  return {
    from: describeEndpoint(src, podAt(req.index, src) ?? null),
    to: describeEndpoint(dst, podAt(req.index, dst) ?? null),
    protocol: req.protocol.name,
    port,
    allowed: verdict.allowed,
    reference: decision,
    dataplane: req.dataplane.model === 'reference' ? null : verdict,
    agreesWithReference: verdict.allowed === decision.allowed,
  };
}
