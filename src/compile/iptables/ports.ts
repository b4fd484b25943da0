/**
 * NetworkPolicy ports to iptables port matches. Per protocol: a port-less entry (`port` omitted) means
 * every port of that protocol and covers the rest; numeric ports and `endPort` ranges go into
 * `-m multiport --dports`, at most 15 slots per rule where a range takes two (xt_multiport's
 * XT_MULTI_PORTS); a named port becomes a `hash:ip,port` set lookup on the destination (`dst,dst`),
 * so it resolves against each destination pod's own container ports.
 */
import type { Family } from '../../model/ip.js';
import { L4_PROTOCOL_NUMBER, type L4Protocol, type PolicyPort } from '../../model/types.js';
import type { PortRange, SetEntry, SetMatch } from './ir.js';
import type { EndpointIndex } from './selection.js';
import type { SetRegistry } from './sets.js';

export const MULTIPORT_SLOTS = 15;

/** One way a packet can satisfy a rule's `ports`: a protocol, and optionally ranges or a named-port set. */
export interface PortAlternative {
  readonly proto: number;
  readonly dports: readonly PortRange[];
  readonly sets: readonly SetMatch[];
}

/** `ports` absent or empty: every port of every protocol, so no `-p` at all (ICMP and GRE included). */
const ANY_PROTOCOL: readonly PortAlternative[] = [{ proto: 0, dports: [], sets: [] }];

export function portAlternatives(
  ports: readonly PolicyPort[] | null, family: Family, endpoints: EndpointIndex, sets: SetRegistry,
): readonly PortAlternative[] {
  if (ports === null) return ANY_PROTOCOL;
  const protocols = [...new Set(ports.map((p) => p.protocol))];
  return protocols.flatMap((protocol) => protocolAlternatives(ports.filter((p) => p.protocol === protocol), protocol, family, endpoints, sets));
}

function protocolAlternatives(
  ports: readonly PolicyPort[], protocol: L4Protocol, family: Family, endpoints: EndpointIndex, sets: SetRegistry,
): PortAlternative[] {
  const proto = L4_PROTOCOL_NUMBER[protocol];
  if (ports.some((p) => p.port === null)) return [{ proto, dports: [], sets: [] }];
  const ranges = numericRanges(ports);
  const out: PortAlternative[] = multiportChunks(ranges).map((dports) => ({ proto, dports, sets: [] }));
  const names = [...new Set(ports.flatMap((p) => (typeof p.port === 'string' ? [p.port] : [])))];
  for (const name of names) {
    const set = namedPortSet(name, protocol, family, endpoints, sets);
    out.push({ proto, dports: [], sets: [{ set, dir: 'dst,dst', negate: false }] });
  }
  return out;
}

function numericRanges(ports: readonly PolicyPort[]): PortRange[] {
  const seen = new Set<string>();
  const ranges: PortRange[] = [];
  for (const p of ports) {
    if (typeof p.port !== 'number') continue;
    const range = { lo: p.port, hi: p.endPort ?? p.port };
    const key = `${range.lo}:${range.hi}`;
    if (!seen.has(key)) ranges.push(range);
    seen.add(key);
  }
  return ranges;
}

/** Splits ranges into groups of at most 15 multiport slots (a range counts as two). */
export function multiportChunks(ranges: readonly PortRange[]): PortRange[][] {
  const chunks: PortRange[][] = [];
  let current: PortRange[] = [];
  let slots = 0;
  for (const r of ranges) {
    const need = r.lo === r.hi ? 1 : 2;
    if (slots + need > MULTIPORT_SLOTS) {
      chunks.push(current);
      current = [];
      slots = 0;
    }
    current.push(r);
    slots += need;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Every (pod address, protocol:port) pair where a pod names `name` for `protocol`. "A named port
 * resolves against the destination pod's container ports and must agree in protocol"; an address that
 * is no pod's is never in the set, so a named port never matches an external destination.
 */
function namedPortSet(name: string, protocol: L4Protocol, family: Family, endpoints: EndpointIndex, sets: SetRegistry): number {
  return sets.intern(family, 'N', 'hash:ip,port', `named|${protocol}|${name}`, `named port ${protocol}/${name}`, () => {
    const entries: SetEntry[] = [];
    endpoints.pods.forEach((pod, position) => {
      const cp = pod.ports.find((c) => c.name === name && c.protocol === protocol);
      // the pod's shared host route, so the renderer formats its address once
      if (cp) entries.push({ kind: 'ipport', cidr: endpoints.cidrs[position]!, proto: L4_PROTOCOL_NUMBER[protocol], port: cp.port });
    });
    return entries;
  });
}
