/**
 * The iptables model behind the per-flow Dataplane interface, for probe, explain and the differential
 * tests: the opening packet (conntrack NEW) of a flow through the compiled table, with the path walked.
 */
import { compileIptables, renderRule } from '../compile/iptables/index.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions, type Flow } from '../model/evaluate.js';
import { ipToWords } from '../model/ip.js';
import { CtState, FlowBatch, Verdict } from '../wire/flow-batch.js';
import type { Dataplane, OpeningVerdict } from './dataplane.js';
import { classifyRow, familyOf, loadIptables, type IptablesMatcher } from './iptables.js';

/** An ephemeral source port, as a client would pick; policies never look at it. */
const CLIENT_PORT = 40000;
const TRACE_LIMIT = 4096;

export class IptablesDataplane implements Dataplane {
  readonly model = 'iptables' as const;
  readonly matcher: IptablesMatcher;
  private readonly batch = new FlowBatch(1);
  private readonly trace = new Int32Array(TRACE_LIMIT);

  constructor(readonly index: ClusterIndex, readonly options: EvalOptions = DEFAULT_EVAL_OPTIONS) {
    this.matcher = loadIptables(compileIptables(index, options));
  }

  decideOpening(flow: Flow): OpeningVerdict {
    if (flow.src.family !== flow.dst.family) throw new Error('a flow cannot mix IPv4 and IPv6 addresses');
    fillOpeningRow(this.batch, flow);
    this.matcher.trace = this.trace;
    this.matcher.traceLength = 0;
    classifyRow(this.matcher, this.batch, 0);
    this.matcher.trace = null;
    const { program } = familyOf(this.matcher, flow.src.family);
    const describe = (r: number): string => `${program.chains[program.rules[r]!.chain]!.name} #${r - program.chains[program.rules[r]!.chain]!.start + 1}`;
    const path: string[] = [];
    for (let k = 0; k < this.matcher.traceLength; k++) {
      const r = this.trace[k]! >> 1;
      const hit = (this.trace[k]! & 1) === 1;
      path.push(`${describe(r)} ${hit ? 'MATCH   ' : 'no match'} ${renderRule(this.matcher.program, program, r)}`);
    }
    const decided = this.batch.decidedBy[0]!;
    return {
      allowed: this.batch.verdict[0] === Verdict.ACCEPT,
      cost: this.batch.cost[0]!,
      decidedBy: decided < 0 ? 'FORWARD policy ACCEPT' : program.rules[decided]!.comment,
      path,
    };
  }
}

/** Row 0 of `batch` as the opening packet of `flow`. */
export function fillOpeningRow(batch: FlowBatch, flow: Flow): void {
  batch.count = 1;
  batch.family[0] = flow.src.family;
  ipToWords(flow.src, batch.src, 0);
  ipToWords(flow.dst, batch.dst, 0);
  batch.proto[0] = flow.protocol;
  batch.srcPort[0] = CLIENT_PORT;
  batch.dstPort[0] = flow.dstPort;
  batch.ctState[0] = CtState.NEW;
  batch.wireLength[0] = 64;
  batch.flags[0] = 0;
}
