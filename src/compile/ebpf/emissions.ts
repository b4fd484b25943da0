/**
 * What one rule adds to a policy map: the (remote identity, port key) pairs, in the order the rule
 * produces them (ports in order; per port its keys, per key its remotes). Every pod a policy selects
 * gets the same pairs from a rule, except that an ingress rule's named ports resolve against the local
 * pod: such rules are remembered per distinct resolution, the others once. Port keys are small integer
 * ids (PortKeyTable) so that a pair is two int32s and the policy map builder can key on integers.
 */
import { L4_PROTOCOL_NUMBER, type Direction, type NetworkPolicy, type Pod, type PolicyPort, type PolicyRule } from '../../model/types.js';
import { ReservedIdentity } from './layout.js';
import { ANY_PORT, protocolOnly, rangeToPortKeys, singlePort, type PortKey } from './ports.js';
import type { Remote, RemoteIndex } from './remotes.js';

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

type Memo = Int32Array | Map<string, Int32Array>;

export class RuleEmissions {
  private readonly memo = new Map<NetworkPolicy, { ingress: Memo[]; egress: Memo[] }>();

  constructor(private readonly remotes: RemoteIndex, private readonly portKeys: PortKeyTable) {}

  /** Pairs [identity, port key id, identity, port key id, ...] that rule `i` adds for `local`. */
  of(policy: NetworkPolicy, direction: Direction, i: number, local: Pod): Int32Array {
    let perPolicy = this.memo.get(policy);
    if (!perPolicy) this.memo.set(policy, perPolicy = { ingress: [], egress: [] });
    const rule = (direction === 'ingress' ? policy.ingress : policy.egress)[i]!;
    const memo = perPolicy[direction];
    const found = memo[i];
    if (found instanceof Int32Array) return found;
    if (direction === 'egress' || !rule.ports?.some((p) => typeof p.port === 'string')) {
      return memo[i] = this.build(policy, rule, direction, local);
    }
    const byLocal = found ?? (memo[i] = new Map<string, Int32Array>());
    const signature = localSignature(rule, local);
    let pairs = byLocal.get(signature);
    if (!pairs) byLocal.set(signature, pairs = this.build(policy, rule, direction, local));
    return pairs;
  }

  private build(policy: NetworkPolicy, rule: PolicyRule, direction: Direction, local: Pod): Int32Array {
    const remotes = this.remotes.ofRule(policy, rule);
    const out: number[] = [];
    const add = (identity: number, pk: number): void => { out.push(identity, pk); };
    for (const port of rule.ports ?? [null]) {
      if (port !== null && typeof port.port === 'string') {
        this.addNamedPort(port, remotes, local, direction, add);
        continue;
      }
      for (const pk of port === null ? [ANY_PORT] : numericPortKeys(port)) addForRemotes(remotes, this.portKeys.id(pk), add);
    }
    return Int32Array.from(out);
  }

  /**
   * "A named port resolves against the destination pod": on ingress that is the local endpoint; on egress
   * it is each remote endpoint identity (which carries its named ports, see identities.ts). A name never
   * matches a destination that is no pod, so CIDR and world identities get nothing.
   */
  private addNamedPort(
    port: PolicyPort, remotes: readonly Remote[] | null, local: Pod, direction: Direction, add: (identity: number, pk: number) => void,
  ): void {
    const proto = L4_PROTOCOL_NUMBER[port.protocol];
    if (direction === 'ingress') {
      for (const n of resolveNamedPort(port, local)) addForRemotes(remotes, this.portKeys.id(singlePort(proto, n)), add);
      return;
    }
    for (const r of remotes ?? this.remotes.allEndpoints()) {
      if (r.endpoint) for (const n of resolveNamedPort(port, r.endpoint.pod)) add(r.id, this.portKeys.id(singlePort(proto, n)));
    }
  }
}

function addForRemotes(remotes: readonly Remote[] | null, pk: number, add: (identity: number, pk: number) => void): void {
  if (remotes === null) add(ReservedIdentity.ANY, pk);
  else for (const r of remotes) add(r.id, pk);
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
