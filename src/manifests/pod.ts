/**
 * Pods and pod templates: labels, container ports (for named ports), hostNetwork, nodeName, and a
 * Pod's reported addresses (`status.podIP(s)`, `status.hostIP(s)`).
 */
import { ipEquals, parseIp, type IpAddr } from '../model/ip.js';
import type { ContainerPort } from '../model/types.js';
import { fail, show, type ObjectContext, type Warnings } from './context.js';
import { list, object, optBool, optInt, optString, type Json } from './fields.js';
import { checkMeta, labels as readLabels, ownerRefs, type OwnerRef } from './meta.js';
import { dns1123Subdomain, portName, portNumber } from './names.js';
import { protocolOf } from './policy.js';

/** What a pod spec contributes to the model, whether it comes from a Pod or a workload's template. */
export interface PodShape {
  readonly labels: Record<string, string>;
  readonly ports: readonly ContainerPort[];
  readonly hostNetwork: boolean;
  readonly nodeName: string | null;
}

/**
 * A Pod (or a workload's future pod) before nodes and addresses are settled. Drafts are written field
 * by field in this order, never by a spread (`{ ...shape, name }`): V8 (11.3, Node 20) gave each object a
 * spread makes a hidden class of its own, so a cluster of 50k pods had 50k classes, every later read of
 * a draft's field (the sort by name, placing, addressing) went through V8's megamorphic lookup, and
 * loading the large tier's cluster took twice as long (bench/NOTES.md, 2026-11-28 10:09-).
 * test/manifests/hidden-classes.test.ts counts the classes.
 */
export interface PodDraft extends PodShape {
  readonly namespace: string;
  readonly name: string;
  readonly ips: readonly IpAddr[];
  readonly hostIps: readonly IpAddr[];
  readonly owners: readonly OwnerRef[];
  /** `status.phase` Succeeded or Failed: the pod has stopped and holds no address any more. */
  readonly terminated: boolean;
  readonly ctx: ObjectContext;
}

/** A `PodTemplateSpec`-shaped value at `path` (`spec.template`), or the Pod object itself (`''`). */
export function convertPodShape(ctx: ObjectContext, value: Json, path: string, warnings: Warnings): PodShape {
  const at = (field: string): string => (path === '' ? field : `${path}.${field}`);
  const meta = object(ctx, value['metadata'], at('metadata'));
  const labels = readLabels(ctx, meta['labels'], at('metadata.labels'));
  const spec = object(ctx, value['spec'], at('spec'));
  const ports = containerPorts(ctx, spec, at('spec'), warnings);
  const hostNetwork = optBool(ctx, spec['hostNetwork'], at('spec.hostNetwork')) ?? false;
  const nodeName = optString(ctx, spec['nodeName'], at('spec.nodeName')) ?? null;
  if (nodeName !== null && nodeName !== '') {
    const bad = dns1123Subdomain(nodeName);
    if (bad !== null) fail(ctx, at('spec.nodeName'), `${bad}, got ${show(nodeName)}`);
  }
  return { labels, ports, hostNetwork, nodeName: nodeName === '' ? null : nodeName };
}

/**
 * `containers[].ports[]` only: named-port resolution looks at regular containers, as the API does
 * (initContainers' ports are not endpoints). The API refuses a port name used twice in one container
 * (validateContainerPorts); it accepts the same name in two containers, and a named policy port then
 * matches either number, which is worth a warning.
 */
function containerPorts(ctx: ObjectContext, spec: Json, path: string, warnings: Warnings): ContainerPort[] {
  const out: ContainerPort[] = [];
  const seen = new Map<string, string>();
  list(ctx, spec['containers'], `${path}.containers`).forEach((c, ci) => {
    const container = object(ctx, c, `${path}.containers[${ci}]`);
    const inContainer = new Map<string, string>();
    list(ctx, container['ports'], `${path}.containers[${ci}].ports`).forEach((p, pi) => {
      const at = `${path}.containers[${ci}].ports[${pi}]`;
      const port = containerPort(ctx, object(ctx, p, at), at);
      if (port.name !== null) {
        const first = inContainer.get(port.name);
        if (first !== undefined) fail(ctx, `${at}.name`, `Duplicate value ${show(port.name)}: already used by ${first}`);
        const other = seen.get(port.name);
        if (other !== undefined) warnings.forObject(ctx, `${at}.name`, `port name ${show(port.name)} is also used by ${other}; a policy naming it matches both ports`);
        inContainer.set(port.name, at);
        seen.set(port.name, at);
      }
      out.push(port);
    });
  });
  return out;
}

function containerPort(ctx: ObjectContext, raw: Json, at: string): ContainerPort {
  const name = optString(ctx, raw['name'], `${at}.name`) ?? '';
  if (name !== '') {
    const bad = portName(name);
    if (bad !== null) fail(ctx, `${at}.name`, `invalid port name ${show(name)}: ${bad}`);
  }
  const port = optInt(ctx, raw['containerPort'], `${at}.containerPort`);
  if (port === undefined || port === 0) fail(ctx, `${at}.containerPort`, 'Required value: a container port needs a number');
  const bad = portNumber(port);
  if (bad !== null) fail(ctx, `${at}.containerPort`, `${bad}, got ${port}`);
  const protocol = protocolOf(ctx, raw['protocol'], `${at}.protocol`);
  return { name: name === '' ? null : name, port, protocol };
}

export function convertPod(ctx: ObjectContext, value: Json, warnings: Warnings): PodDraft {
  checkMeta(ctx, value, dns1123Subdomain);
  const shape = convertPodShape(ctx, value, '', warnings);
  const status = object(ctx, value['status'], 'status');
  const phase = optString(ctx, status['phase'], 'status.phase');
  return {
    labels: shape.labels,
    ports: shape.ports,
    hostNetwork: shape.hostNetwork,
    nodeName: shape.nodeName,
    namespace: ctx.source.namespace!,
    name: ctx.source.name,
    ips: statusIps(ctx, status, 'podIP'),
    hostIps: statusIps(ctx, status, 'hostIP'),
    owners: ownerRefs(ctx, value),
    terminated: phase === 'Succeeded' || phase === 'Failed',
    ctx,
  };
}

/**
 * `status.podIP` + `status.podIPs[].ip` (and the hostIP pair likewise): the list wins, its first entry
 * must equal the singular field, and there is at most one address per family (the API's dual-stack
 * rule). Returned IPv4 first.
 */
export function statusIps(ctx: ObjectContext, status: Json, field: 'podIP' | 'hostIP'): IpAddr[] {
  const single = optString(ctx, status[field], `status.${field}`) ?? '';
  const entries = list(ctx, status[`${field}s`], `status.${field}s`).map((e, i) => {
    const path = `status.${field}s[${i}].ip`;
    return { text: optString(ctx, object(ctx, e, `status.${field}s[${i}]`)['ip'], path) ?? '', path };
  });
  if (entries.length === 0 && single !== '') entries.push({ text: single, path: `status.${field}` });
  const ips: IpAddr[] = [];
  for (const { text, path } of entries) {
    const ip = parseIp(text);
    if (!ip) fail(ctx, path, `must be a valid IP address, got ${show(text)}`);
    if (ips.some((other) => other.family === ip.family)) {
      fail(ctx, path, `may specify no more than one IP for each IP family, got a second IPv${ip.family} address ${show(text)}`);
    }
    ips.push(ip);
  }
  const first = parseIp(single);
  if (single !== '' && ips.length > 0 && (!first || !ipEquals(first, ips[0]!))) {
    fail(ctx, `status.${field}s[0].ip`, `must match status.${field} (${show(single)}), got ${show(entries[0]!.text)}`);
  }
  return ips.sort((a, b) => a.family - b.family);
}
