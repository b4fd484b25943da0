/**
 * Services (core/v1): cluster IPs, selector and ports, defaulted and validated as the API server does
 * (protocol TCP, targetPort = port; ports named when there are several, names unique).
 */
import { parseIp, type IpAddr } from '../model/ip.js';
import type { Service, ServicePort } from '../model/types.js';
import { fail, show, type ObjectContext } from './context.js';
import { list, object, optInt, optIntOrString, optString, type Json } from './fields.js';
import { checkMeta, labels } from './meta.js';
import { dns1035Label, dns1123Label, portName, portNumber } from './names.js';
import { protocolOf } from './policy.js';

/** A Service, and whether the API server would allocate it a cluster IP (none given, not headless). */
export interface ServiceDraft {
  readonly service: Service;
  readonly needsClusterIp: boolean;
}

export function convertService(ctx: ObjectContext, value: Json): ServiceDraft {
  checkMeta(ctx, value, dns1035Label);
  const spec = object(ctx, value['spec'], 'spec');
  const selector = labels(ctx, spec['selector'], 'spec.selector');
  const rawPorts = list(ctx, spec['ports'], 'spec.ports');
  const ports = rawPorts.map((p, i) => servicePort(ctx, p, `spec.ports[${i}]`, rawPorts.length > 1));
  checkUnique(ctx, ports);
  const type = optString(ctx, spec['type'], 'spec.type') ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(type)) {
    fail(ctx, 'spec.type', `Unsupported value ${show(type)}: supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`);
  }
  const ips = type === 'ExternalName' ? [] : clusterIps(ctx, spec);
  const headless = spec['clusterIP'] === 'None' || (Array.isArray(spec['clusterIPs']) && spec['clusterIPs'][0] === 'None');
  const service: Service = {
    namespace: ctx.source.namespace!,
    name: ctx.source.name,
    clusterIPs: ips,
    // "If empty or not present, the service is assumed to have an external process managing its
    // endpoints": an empty selector selects nothing, unlike a NetworkPolicy's.
    selector: Object.keys(selector).length === 0 ? null : selector,
    ports,
    source: ctx.source,
  };
  return { service, needsClusterIp: type !== 'ExternalName' && !headless && ips.length === 0 };
}

function servicePort(ctx: ObjectContext, value: unknown, path: string, requireName: boolean): ServicePort {
  const raw = object(ctx, value, path);
  const name = optString(ctx, raw['name'], `${path}.name`) ?? '';
  if (name === '' && requireName) fail(ctx, `${path}.name`, 'Required value: ports must be named when a Service has more than one');
  if (name !== '') {
    const bad = dns1123Label(name);
    if (bad !== null) fail(ctx, `${path}.name`, `${bad}, got ${show(name)}`);
  }
  const port = optInt(ctx, raw['port'], `${path}.port`);
  if (port === undefined) fail(ctx, `${path}.port`, 'Required value: a Service port needs a number');
  const badPort = portNumber(port);
  if (badPort !== null) fail(ctx, `${path}.port`, `${badPort}, got ${port}`);
  const protocol = protocolOf(ctx, raw['protocol'], `${path}.protocol`);
  return { name: name === '' ? null : name, port, protocol, targetPort: targetPort(ctx, raw['targetPort'], `${path}.targetPort`, port) };
}

/** targetPort defaults to `port`; a number must be a valid port, a string a valid port name. */
function targetPort(ctx: ObjectContext, value: unknown, path: string, port: number): number | string {
  const target = optIntOrString(ctx, value, path);
  if (target === undefined || target === 0 || target === '') return port;
  const bad = typeof target === 'number' ? portNumber(target) : portName(target);
  if (bad !== null) fail(ctx, path, `${bad}, got ${show(target)}`);
  return target;
}

function checkUnique(ctx: ObjectContext, ports: readonly ServicePort[]): void {
  const names = new Set<string>();
  const numbers = new Set<string>();
  ports.forEach((p, i) => {
    if (p.name !== null && names.has(p.name)) fail(ctx, `spec.ports[${i}].name`, `Duplicate value ${show(p.name)}`);
    if (p.name !== null) names.add(p.name);
    const key = `${p.port}/${p.protocol}`;
    if (numbers.has(key)) fail(ctx, `spec.ports[${i}]`, `Duplicate value: port ${p.port} ${p.protocol} is listed twice`);
    numbers.add(key);
  });
}

/** `clusterIP: None` is a headless Service: no virtual IP, no DNAT. `clusterIPs` wins over `clusterIP`. */
function clusterIps(ctx: ObjectContext, spec: Json): IpAddr[] {
  const single = optString(ctx, spec['clusterIP'], 'spec.clusterIP') ?? '';
  const texts = list(ctx, spec['clusterIPs'], 'spec.clusterIPs').map((v, i) => optString(ctx, v, `spec.clusterIPs[${i}]`) ?? '');
  if (texts.length === 0 && single !== '') texts.push(single);
  if (single !== '' && texts[0] !== single) fail(ctx, 'spec.clusterIPs[0]', `must match spec.clusterIP (${show(single)}), got ${show(texts[0])}`);
  if (texts[0] === 'None') return [];
  const ips: IpAddr[] = [];
  texts.forEach((text, i) => {
    const path = texts.length === 1 && single !== '' ? 'spec.clusterIP' : `spec.clusterIPs[${i}]`;
    const ip = parseIp(text);
    if (!ip) fail(ctx, path, `must be a valid IP address or "None", got ${show(text)}`);
    if (ips.some((o) => o.family === ip.family)) fail(ctx, path, `may specify no more than one IP for each IP family, got ${show(text)}`);
    ips.push(ip);
  });
  return ips;
}
