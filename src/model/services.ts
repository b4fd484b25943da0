/**
 * Service DNAT as kube-proxy does it before any policy sees the packet: a ClusterIP:port becomes a
 * backend pod's IP and target port. Policies only ever see the translated destination.
 */
import { ipEquals, type IpAddr } from './ip.js';
import type { ClusterIndex } from './cluster-index.js';
import { L4_PROTOCOL_NUMBER, type Pod, type Service, type ServicePort } from './types.js';

export interface ServiceBackend {
  readonly pod: Pod;
  /** The port the pod sees: `targetPort` by number, or by name resolved against this pod. */
  readonly port: number;
}

export function serviceAt(index: ClusterIndex, ip: IpAddr): Service | undefined {
  return index.cluster.services.find((s) => s.clusterIPs.some((c) => ipEquals(c, ip)));
}

export function servicePortFor(service: Service, port: number, protocol: number): ServicePort | undefined {
  return service.ports.find((p) => p.port === port && L4_PROTOCOL_NUMBER[p.protocol] === protocol);
}

/**
 * Backends of one Service port: pods of the Service's namespace matched by its selector, with an
 * address of `family`, that resolve the target port (a named targetPort a pod lacks leaves it out, as
 * the EndpointSlice controller does).
 */
export function serviceBackends(index: ClusterIndex, service: Service, sp: ServicePort, family: 4 | 6): ServiceBackend[] {
  const selector = service.selector;
  if (selector === null) return [];
  const backends: ServiceBackend[] = [];
  for (const pod of index.cluster.pods) {
    if (pod.namespace !== service.namespace) continue;
    if (!Object.keys(selector).every((k) => pod.labels[k] === selector[k])) continue;
    if (!pod.ips.some((ip) => ip.family === family)) continue;
    const port = resolveTargetPort(pod, sp);
    if (port !== null) backends.push({ pod, port });
  }
  return backends;
}

function resolveTargetPort(pod: Pod, sp: ServicePort): number | null {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  const cp = pod.ports.find((p) => p.name === sp.targetPort && p.protocol === sp.protocol);
  return cp ? cp.port : null;
}

