/**
 * NetworkPolicy (`networking.k8s.io/v1`): defaulting exactly as the API server does it
 * (SetDefaults_NetworkPolicySpec, SetDefaults_NetworkPolicyPort), then its validation
 * (ValidateNetworkPolicySpec), then the model's normal form: absent or empty `from`/`to`/`ports` are
 * null, rules of a direction missing from policyTypes are dropped.
 */
import { cidrContainsCidr, formatCidr, parseCidr, type Cidr } from '../model/ip.js';
import type { L4Protocol, NetworkPolicy, Peer, PolicyPort, PolicyRule } from '../model/types.js';
import { fail, show, type ObjectContext, type Warnings } from './context.js';
import { list, object, optInt, optIntOrString, optObject, optString, type Json } from './fields.js';
import { checkMeta } from './meta.js';
import { dns1123Subdomain, portName, portNumber } from './names.js';
import { convertSelector } from './selector.js';

export const PROTOCOLS: readonly L4Protocol[] = ['TCP', 'UDP', 'SCTP'];

export function convertNetworkPolicy(ctx: ObjectContext, value: Json, warnings: Warnings): NetworkPolicy {
  checkMeta(ctx, value, dns1123Subdomain);
  const spec = object(ctx, value['spec'], 'spec');
  const podSelector = convertSelector(ctx, spec['podSelector'], 'spec.podSelector');
  const ingressRaw = list(ctx, spec['ingress'], 'spec.ingress');
  const egressRaw = list(ctx, spec['egress'], 'spec.egress');
  const ingress = ingressRaw.map((r, i) => convertRule(ctx, r, `spec.ingress[${i}]`, 'from', warnings));
  const egress = egressRaw.map((r, i) => convertRule(ctx, r, `spec.egress[${i}]`, 'to', warnings));
  const policyTypes = effectivePolicyTypes(ctx, spec['policyTypes'], egressRaw.length > 0);
  return {
    namespace: ctx.source.namespace!,
    name: ctx.source.name,
    podSelector,
    policyTypes,
    // "policyTypes: [Egress]" with ingress rules present: the ingress rules have no effect.
    ingress: policyTypes.ingress ? ingress : [],
    egress: policyTypes.egress ? egress : [],
    source: ctx.source,
  };
}

/**
 * The API default: with no policyTypes, Ingress always, plus Egress when `spec.egress` has at least
 * one rule. So `egress: []` alone leaves egress open, and egress rules alone also isolate ingress.
 */
export function effectivePolicyTypes(ctx: ObjectContext, value: unknown, hasEgressRules: boolean): { ingress: boolean; egress: boolean } {
  const types = list(ctx, value, 'spec.policyTypes');
  if (types.length === 0) return { ingress: true, egress: hasEgressRules };
  if (types.length > 2) fail(ctx, 'spec.policyTypes', `may not specify more than two policyTypes, got ${show(types)}`);
  const out = { ingress: false, egress: false };
  types.forEach((t, i) => {
    if (t === 'Ingress') out.ingress = true;
    else if (t === 'Egress') out.egress = true;
    else fail(ctx, `spec.policyTypes[${i}]`, `Unsupported value ${show(t)}: supported values: "Ingress", "Egress"`);
  });
  return out;
}

function convertRule(ctx: ObjectContext, value: unknown, path: string, peersField: 'from' | 'to', warnings: Warnings): PolicyRule {
  const raw = object(ctx, value, path);
  // The API server validates a rule's ports before its peers; keep that order for the first message.
  const portsRaw = list(ctx, raw['ports'], `${path}.ports`);
  const ports = portsRaw.map((p, i) => convertPort(ctx, p, `${path}.ports[${i}]`));
  const peersRaw = list(ctx, raw[peersField], `${path}.${peersField}`);
  const peers = peersRaw.map((p, i) => convertPeer(ctx, p, `${path}.${peersField}[${i}]`, warnings));
  return { peers: peers.length === 0 ? null : peers, ports: ports.length === 0 ? null : ports };
}

export function convertPort(ctx: ObjectContext, value: unknown, path: string): PolicyPort {
  const raw = object(ctx, value, path);
  const protocol = protocolOf(ctx, raw['protocol'], `${path}.protocol`);
  const port = optIntOrString(ctx, raw['port'], `${path}.port`) ?? null;
  const endPort = optInt(ctx, raw['endPort'], `${path}.endPort`) ?? null;
  if (typeof port === 'number') {
    const bad = portNumber(port);
    if (bad !== null) fail(ctx, `${path}.port`, `${bad}, got ${port}`);
  } else if (typeof port === 'string') {
    const bad = portName(port);
    if (bad !== null) fail(ctx, `${path}.port`, `invalid port name ${show(port)}: ${bad}`);
  }
  if (endPort !== null) checkEndPort(ctx, port, endPort, `${path}.endPort`);
  return { protocol, port, endPort };
}

function checkEndPort(ctx: ObjectContext, port: number | string | null, endPort: number, path: string): void {
  if (port === null) fail(ctx, path, `may not be specified when \`port\` is not specified, got ${endPort}`);
  if (typeof port === 'string') fail(ctx, path, `may not be specified when \`port\` is non-numeric (${show(port)}), got ${endPort}`);
  if (endPort < port) fail(ctx, path, `must be greater than or equal to port (${port}), got ${endPort}`);
  const bad = portNumber(endPort);
  if (bad !== null) fail(ctx, path, `${bad}, got ${endPort}`);
}

/** Protocol defaults to TCP, even when `port` is omitted; the values are case-sensitive. */
export function protocolOf(ctx: ObjectContext, value: unknown, path: string): L4Protocol {
  const protocol = optString(ctx, value, path);
  if (protocol === undefined) return 'TCP';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    fail(ctx, path, `Unsupported value ${show(protocol)}: supported values: "TCP", "UDP", "SCTP"`);
  }
  return protocol as L4Protocol;
}

function convertPeer(ctx: ObjectContext, value: unknown, path: string, warnings: Warnings): Peer {
  const raw = object(ctx, value, path);
  const podSel = raw['podSelector'] == null ? null : convertSelector(ctx, raw['podSelector'], `${path}.podSelector`);
  const nsSel = raw['namespaceSelector'] == null ? null : convertSelector(ctx, raw['namespaceSelector'], `${path}.namespaceSelector`);
  const ipBlock = optObject(ctx, raw['ipBlock'], `${path}.ipBlock`);
  if (ipBlock === undefined) {
    if (podSel === null && nsSel === null) {
      fail(ctx, path, 'Required value: must specify a peer (podSelector, namespaceSelector or ipBlock)');
    }
    return { kind: 'pods', podSelector: podSel, namespaceSelector: nsSel };
  }
  if (podSel !== null || nsSel !== null) fail(ctx, path, 'Forbidden: may not specify both ipBlock and another peer');
  return convertIpBlock(ctx, ipBlock, `${path}.ipBlock`, warnings);
}

function convertIpBlock(ctx: ObjectContext, raw: Json, path: string, warnings: Warnings): Peer {
  const cidrText = optString(ctx, raw['cidr'], `${path}.cidr`) ?? '';
  if (cidrText === '') fail(ctx, `${path}.cidr`, 'Required value: an ipBlock needs a cidr');
  const cidr = parseCidrField(ctx, cidrText, `${path}.cidr`, warnings);
  const except = list(ctx, raw['except'], `${path}.except`).map((e, i) => {
    const p = `${path}.except[${i}]`;
    const text = optString(ctx, e, p) ?? '';
    const inner = parseCidrField(ctx, text, p, warnings);
    // "must be a strict subset of `cidr`": same family, longer prefix, inside it.
    if (!cidrContainsCidr(cidr, inner) || inner.prefix <= cidr.prefix) {
      fail(ctx, p, `must be a strict subset of cidr ${formatCidr(cidr)}, got ${show(text)}`);
    }
    return inner;
  });
  return { kind: 'ipBlock', cidr, except };
}

function parseCidrField(ctx: ObjectContext, text: string, path: string, warnings: Warnings): Cidr {
  const parsed = parseCidr(text);
  if (!parsed) fail(ctx, path, `must be a valid CIDR (for example 10.0.0.0/16 or fd00::/64), got ${show(text)}`);
  if (parsed.hostBitsSet) {
    warnings.forObject(ctx, path, `${show(text)} has host bits set; it is treated as ${formatCidr(parsed.cidr)}`);
  }
  return parsed.cidr;
}
