/**
 * The report's one pass over the replay's connection table, on integers only: verdict counts, the
 * denied connections to list, every distinct address with the packets of the connections it is an end
 * of, and every distinct opening flow (the input of the reference evaluator) with the connections it
 * opened. Strings, addresses as IpAddr and Decisions are made afterwards, once per distinct address or
 * flow or per printed row, never per connection.
 *
 * Flows are keyed on addresses, not on pods: the reference evaluator's answer depends on the address
 * itself (ipBlock peers, node traffic, loopback, ends that are no pod), so two addresses of one pod may
 * be decided differently. The key is exactly what `evaluate` reads, so one Decision per key is exact.
 */
import { evaluate, type Decision, type EvalOptions } from '../model/evaluate.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import { ipFromWords, type IpAddr } from '../model/ip.js';
import { Count, COUNT_WORDS, type ConnectionTable } from '../replay/connections.js';
import { CtState, Verdict } from '../wire/flow-batch.js';
import { TupleInterner } from './tuple-interner.js';

/** An address tuple: family (4 or 6), then the four words of ipToWords (an IPv4 address in the first). */
const ADDRESS_WIDTH = 5;
/** A flow tuple: source address id, destination address id, protocol << 16 | destination port. */
const FLOW_WIDTH = 3;

export interface Census {
  allowed: number;
  denied: number;
  /** The first denied connections (table order, at most the report's limit), by index in the table. */
  readonly listedDenied: Int32Array;
  /** Addresses at either end of a connection; value: packets of the connections they are an end of. */
  readonly addresses: TupleInterner;
  /** Distinct opening flows; value: connections they opened (conntrack NEW). */
  readonly flows: TupleInterner;
}

export function takeCensus(t: ConnectionTable, limit: number): Census {
  const addresses = new TupleInterner(ADDRESS_WIDTH);
  const flows = new TupleInterner(FLOW_WIDTH);
  const listed = new Int32Array(Math.min(limit, t.count));
  let allowed = 0;
  let denied = 0;
  for (let c = 0; c < t.count; c++) {
    const verdict = t.verdict[c];
    if (verdict === Verdict.ACCEPT) allowed++;
    else if (verdict === Verdict.DROP) {
      if (denied < listed.length) listed[denied] = c;
      denied++;
    }
    const family = t.family[c] === 6 ? 6 : 4;
    const packets = t.counts[c * COUNT_WORDS + Count.PACKETS]!;
    const src = addressId(addresses, family, t.src, c * 4, packets);
    const dst = addressId(addresses, family, t.dst, c * 4, packets);
    if (t.ctState[c] === CtState.NEW) flowId(flows, t, c, src, dst, 1);
  }
  return { allowed, denied, listedDenied: listed.subarray(0, Math.min(denied, listed.length)), addresses, flows };
}

/** The id of the address at `words[o]`, with `packets` added to its count. */
function addressId(addresses: TupleInterner, family: 4 | 6, words: Uint32Array, o: number, packets: number): number {
  const p = addresses.probe;
  p[0] = family;
  p[1] = words[o]!;
  // An IPv4 address is its first word alone (all that ipFromWords reads), whatever the others hold.
  p[2] = family === 6 ? words[o + 1]! : 0;
  p[3] = family === 6 ? words[o + 2]! : 0;
  p[4] = family === 6 ? words[o + 3]! : 0;
  return addresses.intern(packets);
}

/** The id of connection c's opening flow, with `opened` added to its count of connections opened. */
function flowId(flows: TupleInterner, t: ConnectionTable, c: number, src: number, dst: number, opened: number): number {
  const proto = t.proto[c]!;
  // The evaluator reads a destination port for TCP, UDP and SCTP only ("ignored (0) for other protocols").
  const port = proto === 6 || proto === 17 || proto === 132 ? t.dstPort[c]! : 0;
  const p = flows.probe;
  p[0] = src;
  p[1] = dst;
  p[2] = ((proto << 16) | port) >>> 0;
  return flows.intern(opened);
}

/** The flow id of connection c (interned now if it did not open: an INVALID first packet, say). */
export function flowOfConnection(census: Census, t: ConnectionTable, c: number): number {
  const family = t.family[c] === 6 ? 6 : 4;
  const src = addressId(census.addresses, family, t.src, c * 4, 0);
  const dst = addressId(census.addresses, family, t.dst, c * 4, 0);
  return flowId(census.flows, t, c, src, dst, 0);
}

export function addressAt(census: Census, id: number): IpAddr {
  const keys = census.addresses.keys;
  const at = id * ADDRESS_WIDTH;
  return ipFromWords(keys[at] === 6 ? 6 : 4, keys, at + 1);
}

/** The reference evaluator's Decision per distinct flow, made the first time a flow is asked for. */
export class DecisionsByFlow {
  private readonly decisions: (Decision | undefined)[] = [];

  constructor(private readonly census: Census, private readonly index: ClusterIndex, private readonly options: EvalOptions) {}

  of(flow: number): Decision {
    return this.decisions[flow] ??= this.decide(flow);
  }

  private decide(flow: number): Decision {
    const keys = this.census.flows.keys;
    const at = flow * FLOW_WIDTH;
    const protoPort = keys[at + 2]!;
    return evaluate(this.index, {
      src: addressAt(this.census, keys[at]!), dst: addressAt(this.census, keys[at + 1]!),
      protocol: protoPort >>> 16, dstPort: protoPort & 0xffff,
    }, this.options);
  }
}
