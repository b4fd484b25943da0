/**
 * Endpoints as users name them on the command line: `namespace/pod`, an IP address, or (as a
 * destination) `svc/namespace/name`.
 */
import { InputError } from '../errors.js';
import { podAt, type ClusterIndex } from './cluster-index.js';
import { formatIp, parseIp, type IpAddr } from './ip.js';
import { qualifiedName, type Pod, type Service } from './types.js';

export type EndpointSpec =
  | { readonly kind: 'pod'; readonly pod: Pod }
  | { readonly kind: 'ip'; readonly ip: IpAddr; readonly pod: Pod | null }
  | { readonly kind: 'service'; readonly service: Service };

export function parseEndpoint(index: ClusterIndex, text: string, flag: string, allowService: boolean): EndpointSpec {
  const ip = parseIp(text);
  if (ip) return { kind: 'ip', ip, pod: podAt(index, ip) ?? null };
  if (text.startsWith('svc/')) {
    if (!allowService) throw new InputError(`${flag}: a Service can only be a destination (${text})`);
    const name = text.slice(4);
    const service = index.cluster.services.find((s) => qualifiedName(s) === name);
    if (!service) throw new InputError(`${flag}: no Service ${name} in the cluster`);
    return { kind: 'service', service };
  }
  if (!/^[^/]+\/[^/]+$/.test(text)) {
    throw new InputError(`${flag}: ${JSON.stringify(text)} is neither namespace/pod, an IP address${allowService ? ', nor svc/namespace/name' : ''}`);
  }
  const pod = index.podByName.get(text);
  if (!pod) throw new InputError(`${flag}: no pod ${text} in the cluster`);
  return { kind: 'pod', pod };
}

/** The address an endpoint sends from or receives on, in `family` when given. */
export function endpointAddress(spec: EndpointSpec, family: 4 | 6 | null, flag: string): IpAddr {
  if (spec.kind === 'ip') return spec.ip;
  if (spec.kind === 'service') throw new Error('a Service has no single address');
  const ip = family === null ? spec.pod.ips[0] : spec.pod.ips.find((a) => a.family === family);
  if (!ip) {
    const want = family === null ? 'an address' : `an IPv${family} address`;
    throw new InputError(`${flag}: pod ${qualifiedName(spec.pod)} has no ${want}`);
  }
  return ip;
}

export function describeEndpoint(ip: IpAddr, pod: Pod | null): string {
  return pod ? `${qualifiedName(pod)} (${formatIp(ip)})` : formatIp(ip);
}
