/**
 * The report's one pass over the replay's connection table, on integers only: verdict counts, the
 * denied connections to list, and every distinct flow (family, protocol, destination port, the two
 * addresses: what the reference evaluator decides on) with the packets of its connections and the
 * connections it opened. Everything else is made from the flows afterwards, once per distinct flow or
 * address or per printed row, never per connection: the addresses with their packets, the Decisions,
 * the strings.
 *
 * Flows are keyed on addresses, not on pods: the reference evaluator's answer depends on the address
 * itself (ipBlock peers, node traffic, loopback, ends that are no pod), so two addresses of one pod may
 * be decided differently. The key is exactly what `evaluate` reads, so one Decision per flow is exact.
 */
import { hasPolicyPort } from '../model/evaluate.js';
import { ipFromWords, type IpAddr } from '../model/ip.js';
import { Count, RECORD_DOUBLES, type ConnectionTable } from '../replay/connections.js';
import { CtState, Verdict } from '../wire/flow-batch.js';
import { TupleInterner } from './tuple-interner.js';

/** A flow: family << 8 | protocol, destination port (0 unless TCP, UDP, SCTP), source words, destination words. */
export const FLOW_WIDTH = 10;
/** Sums per flow: packets of its connections, and connections it opened (conntrack NEW). */
export const FlowSum = { PACKETS: 0, OPENED: 1 } as const;
/** An address: family, then the four words of ipToWords (an IPv4 address in the first, the rest 0). */
const ADDRESS_WIDTH = 5;

export interface Census {
  allowed: number;
  denied: number;
  /** The first denied connections (table order, at most the report's limit): table index, and flow. */
  readonly listedDenied: Int32Array;
  readonly listedDeniedFlow: Int32Array;
  /** Distinct flows in the order they first appear, with their FlowSum sums. */
  readonly flows: TupleInterner;
}

export function takeCensus(t: ConnectionTable, limit: number): Census {
  const flows = new TupleInterner(FLOW_WIDTH, 2);
  const listed = new Int32Array(Math.min(limit, t.count));
  const listedFlow = new Int32Array(listed.length);
  let allowed = 0;
  let denied = 0;
  for (let c = 0; c < t.count; c++) {
    const flow = flowOf(flows, t, c);
    flows.addTo(flow, FlowSum.PACKETS, t.counts[c * RECORD_DOUBLES + Count.PACKETS]!);
    if (t.ctState[c] === CtState.NEW) flows.addTo(flow, FlowSum.OPENED, 1);
    const verdict = t.verdict[c];
    if (verdict === Verdict.ACCEPT) allowed++;
    else if (verdict === Verdict.DROP) {
      if (denied < listed.length) {
        listed[denied] = c;
        listedFlow[denied] = flow;
      }
      denied++;
    }
  }
  const n = Math.min(denied, listed.length);
  return { allowed, denied, listedDenied: listed.subarray(0, n), listedDeniedFlow: listedFlow.subarray(0, n), flows };
}

function flowOf(flows: TupleInterner, t: ConnectionTable, c: number): number {
  const p = flows.probe;
  const v6 = t.familyOf(c) === 6;
  const proto = t.protoOf(c);
  p[0] = ((v6 ? 6 : 4) << 8) | proto;
  p[1] = hasPolicyPort(proto) ? t.dstPortOf(c) : 0;
  const k = t.key;
  const s = t.srcAt(c);
  const d = t.dstAt(c);
  // An IPv4 address is its first word alone (all that ipFromWords reads), whatever the others hold.
  p[2] = k[s]!;
  p[3] = v6 ? k[s + 1]! : 0;
  p[4] = v6 ? k[s + 2]! : 0;
  p[5] = v6 ? k[s + 3]! : 0;
  p[6] = k[d]!;
  p[7] = v6 ? k[d + 1]! : 0;
  p[8] = v6 ? k[d + 2]! : 0;
  p[9] = v6 ? k[d + 3]! : 0;
  return flows.intern();
}

/** The source (end 0) or destination (end 1) address of a flow. */
export function flowAddress(flows: TupleInterner, flow: number, end: 0 | 1): IpAddr {
  const at = flow * FLOW_WIDTH;
  return ipFromWords(flows.keys[at]! >>> 8 === 6 ? 6 : 4, flows.keys, at + 2 + end * 4);
}

/**
 * Every address at either end of a flow, in the order they first appear in the table (a flow's
 * addresses first appear with its first connection, and flows are in that order), with the packets of
 * the connections it is an end of (twice when it is both ends). The id's one sum is those packets.
 */
export function flowAddresses(flows: TupleInterner): TupleInterner {
  const addresses = new TupleInterner(ADDRESS_WIDTH, 1);
  const p = addresses.probe;
  for (let f = 0; f < flows.size; f++) {
    const at = f * FLOW_WIDTH;
    for (let end = 0; end < 2; end++) {
      p[0] = flows.keys[at]! >>> 8;
      p.set(flows.keys.subarray(at + 2 + end * 4, at + 6 + end * 4), 1);
      addresses.addTo(addresses.intern(), 0, flows.sum(f, FlowSum.PACKETS));
    }
  }
  return addresses;
}

export function addressAt(addresses: TupleInterner, id: number): IpAddr {
  const at = id * ADDRESS_WIDTH;
  return ipFromWords(addresses.keys[at] === 6 ? 6 : 4, addresses.keys, at + 1);
}
