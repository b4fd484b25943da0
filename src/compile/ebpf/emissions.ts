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

type Memo = Int32Array | Map<string, Int32Array>;

export class RuleEmissions {
  private readonly memo = new Map<NetworkPolicy, { ingress: Memo[]; egress: Memo[] }>();
  /** Every rule's pairs are written here first, then copied out at their size. */
  private scratch = new Int32Array(4096);
  private length = 0;

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
    this.length = 0;
    for (const port of rule.ports ?? [null]) {
      if (port !== null && typeof port.port === 'string') {
        this.addNamedPort(port, remotes, local, direction);
        continue;
      }
      for (const pk of port === null ? [ANY_PORT] : numericPortKeys(port)) this.addForRemotes(remotes, this.portKeys.id(pk));
    }
    return this.scratch.slice(0, this.length);
  }

  /**
   * "A named port resolves against the destination pod": on ingress that is the local endpoint; on egress
   * it is each remote endpoint identity (which carries its named ports, see identities.ts). A name never
   * matches a destination that is no pod, so CIDR and world identities get nothing.
   */
  private addNamedPort(port: PolicyPort, remotes: Remotes | null, local: Pod, direction: Direction): void {
    const proto = L4_PROTOCOL_NUMBER[port.protocol];
    if (direction === 'ingress') {
      for (const n of resolveNamedPort(port, local)) this.addForRemotes(remotes, this.portKeys.id(singlePort(proto, n)));
      return;
    }
    for (const id of remotes ?? this.remotes.allEndpoints()) {
      const endpoint = this.remotes.endpointOf(id);
      if (endpoint) for (const n of resolveNamedPort(port, endpoint.pod)) this.add(id, this.portKeys.id(singlePort(proto, n)));
    }
  }

  private addForRemotes(remotes: Remotes | null, pk: number): void {
    if (remotes === null) { this.add(ReservedIdentity.ANY, pk); return; }
    this.reserve(2 * remotes.length);
    const out = this.scratch;
    let n = this.length;
    for (let i = 0; i < remotes.length; i++) { out[n++] = remotes[i]!; out[n++] = pk; }
    this.length = n;
  }

  private add(identity: number, pk: number): void {
    this.reserve(2);
    this.scratch[this.length++] = identity;
    this.scratch[this.length++] = pk;
  }

  /** Room for `n` more values in the scratch buffer every rule's pairs are written to before their copy. */
  private reserve(n: number): void {
    if (this.length + n <= this.scratch.length) return;
    const grown = new Int32Array(Math.max(this.length + n, this.scratch.length * 2));
    grown.set(this.scratch.subarray(0, this.length));
    this.scratch = grown;
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
