/**
 * What one rule adds to a policy map: the (remote identity, port key) pairs, in the order the rule
 * produces them (ports in order; per port its keys, per key its remotes). Every pod a policy selects
 * gets the same pairs from a rule, except that an ingress rule's named ports resolve against the local
 * pod: such rules are remembered per distinct resolution, the others once. Port keys are small integer
 * ids (PortKeyTable) so that the policy map builder can key on integers.
 *
 * The pairs are kept as segments, "these remotes, each with this port key", whose remote lists are
 * shared with RemoteIndex: at the stress tier rules name 10,000 identities each and flat pair arrays
 * per rule were most of the memory allocated and of the garbage collector's work.
 */
import { L4_PROTOCOL_NUMBER, type Direction, type NetworkPolicy, type Pod, type PolicyPort, type PolicyRule } from '../../model/types.js';
import { ReservedIdentity } from './layout.js';
import { ANY_PORT, protocolOnly, rangeToPortKeys, singlePort, type PortKey } from './ports.js';
import type { RemoteIndex, Remotes } from './remotes.js';

/** Port keys numbered from 0 in the order first met. */
export class PortKeyTable {
  readonly keys: PortKey[] = [];
  private readonly byCode = new Map<number, number>();

  id(pk: PortKey): number {
    const code = (pk.protocol * 65536 + pk.port) * 32 + pk.prefixLength;
    let id = this.byCode.get(code);
    if (id === undefined) {
      id = this.keys.length;
      this.keys.push(pk);
      this.byCode.set(code, id);
    }
    return id;
  }
}

/** The identities of `ids`, each with port key `portKey`; or, with portKey -1, `ids` holds (identity, port key) pairs. */
export interface Segment {
  readonly ids: Int32Array;
  readonly portKey: number;
}

/** A rule's pairs; remembered per rule (and resolution), so the same object means the same rule. */
export interface Emission {
  readonly segments: readonly Segment[];
  readonly pairCount: number;
}

type Memo = Emission | Map<string, Emission>;

const ANY_IDENTITY = Int32Array.of(ReservedIdentity.ANY);

export class RuleEmissions {
  private readonly memo = new Map<NetworkPolicy, { ingress: Memo[]; egress: Memo[] }>();

  constructor(private readonly remotes: RemoteIndex, private readonly portKeys: PortKeyTable) {}

  /** What rule `i` adds for `local`. */
  of(policy: NetworkPolicy, direction: Direction, i: number, local: Pod): Emission {
    let perPolicy = this.memo.get(policy);
    if (!perPolicy) this.memo.set(policy, perPolicy = { ingress: [], egress: [] });
    const rule = (direction === 'ingress' ? policy.ingress : policy.egress)[i]!;
    const memo = perPolicy[direction];
    const found = memo[i];
    if (found !== undefined && !(found instanceof Map)) return found;
    if (direction === 'egress' || !rule.ports?.some((p) => typeof p.port === 'string')) {
      return memo[i] = this.build(policy, rule, direction, local);
    }
    const byLocal = found ?? (memo[i] = new Map<string, Emission>());
    const signature = localSignature(rule, local);
    let pairs = byLocal.get(signature);
    if (!pairs) byLocal.set(signature, pairs = this.build(policy, rule, direction, local));
    return pairs;
  }

  private build(policy: NetworkPolicy, rule: PolicyRule, direction: Direction, local: Pod): Emission {
    const remotes = this.remotes.ofRule(policy, rule) ?? ANY_IDENTITY;
    const segments: Segment[] = [];
    for (const port of rule.ports ?? [null]) {
      if (port !== null && typeof port.port === 'string') {
        this.addNamedPort(port, remotes, local, direction, segments);
        continue;
      }
      for (const pk of port === null ? [ANY_PORT] : numericPortKeys(port)) segments.push({ ids: remotes, portKey: this.portKeys.id(pk) });
    }
    const pairCount = segments.reduce((n, g) => n + (g.portKey < 0 ? g.ids.length / 2 : g.ids.length), 0);
    return { segments, pairCount };
  }

  /**
   * "A named port resolves against the destination pod": on ingress that is the local endpoint; on egress
   * it is each remote endpoint identity (which carries its named ports, see identities.ts). A name never
   * matches a destination that is no pod, so CIDR and world identities get nothing.
   */
  private addNamedPort(port: PolicyPort, remotes: Remotes, local: Pod, direction: Direction, segments: Segment[]): void {
    const proto = L4_PROTOCOL_NUMBER[port.protocol];
    if (direction === 'ingress') {
      for (const n of resolveNamedPort(port, local)) segments.push({ ids: remotes, portKey: this.portKeys.id(singlePort(proto, n)) });
      return;
    }
    const pairs: number[] = [];
    for (const id of remotes === ANY_IDENTITY ? this.remotes.allEndpoints() : remotes) {
      const endpoint = this.remotes.endpointOf(id);
      if (endpoint) for (const n of resolveNamedPort(port, endpoint.pod)) pairs.push(id, this.portKeys.id(singlePort(proto, n)));
    }
    segments.push({ ids: Int32Array.from(pairs), portKey: -1 });
  }
}

function numericPortKeys(port: PolicyPort): PortKey[] {
  const proto = L4_PROTOCOL_NUMBER[port.protocol];
  if (port.port === null) return [protocolOnly(proto)];
  const lo = port.port as number;
  return port.endPort === null ? [singlePort(proto, lo)] : rangeToPortKeys(proto, lo, port.endPort);
}

/** The distinct numbers the pod gives the port's name (for its protocol), in container port order. */
function resolveNamedPort(port: PolicyPort, pod: Pod): number[] {
  return [...new Set(pod.ports.filter((cp) => cp.name === port.port && cp.protocol === port.protocol).map((cp) => cp.port))];
}

/** What an ingress rule's named ports resolve to on the local pod: equal signatures, equal pairs. */
function localSignature(rule: PolicyRule, local: Pod): string {
  let out = '';
  for (const port of rule.ports ?? []) if (typeof port.port === 'string') out += `${resolveNamedPort(port, local).join(',')};`;
  return out;
}
