/**
 * The eBPF model behind the per-flow Dataplane interface, for probe, explain and the differential tests:
 * the same decision as the batch matcher, with the probes made and the entry and identity that decided
 * written out as text.
 */
import { policyEntryAt } from '../compile/ebpf/columns.js';
import { compileEbpf } from '../compile/ebpf/compile.js';
import { DIR_INGRESS } from '../compile/ebpf/layout.js';
import type { EbpfProgram, PolicyEntry } from '../compile/ebpf/program.js';
import type { ClusterIndex } from '../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions, type Flow } from '../model/evaluate.js';
import { ipToWords } from '../model/ip.js';
import { Verdict } from '../wire/flow-batch.js';
import type { Dataplane, OpeningVerdict } from './dataplane.js';
import { DirState, Trace, decideOpening, loadEbpf, probesSoFar, type LoadedEbpf } from './ebpf.js';

export class EbpfDataplane implements Dataplane {
  readonly model = 'ebpf' as const;
  readonly program: EbpfProgram;
  readonly loaded: LoadedEbpf;
  private readonly src = new Uint32Array(4);
  private readonly dst = new Uint32Array(4);

  constructor(index: ClusterIndex, options: EvalOptions = DEFAULT_EVAL_OPTIONS, program?: EbpfProgram) {
    this.program = program ?? compileEbpf(index, options);
    this.loaded = loadEbpf(this.program);
  }

  decideOpening(flow: Flow): OpeningVerdict {
    const p = this.loaded;
    ipToWords(flow.src, this.src, 0);
    ipToWords(flow.dst, this.dst, 0);
    const isL4 = flow.protocol === 6 || flow.protocol === 17 || flow.protocol === 132;
    const log: number[] = [];
    p.probeLog = log;
    const before = probesSoFar(p);
    const verdict = decideOpening(p, flow.src.family, this.src, 0, this.dst, 0, flow.protocol, isL4 ? flow.dstPort : 0);
    const cost = probesSoFar(p) - before;
    p.probeLog = null;
    const t = p.trace;
    const decided = t[Trace.DECIDED_BY]!;
    return {
      allowed: verdict === Verdict.ACCEPT,
      cost,
      decidedBy: decided >= 0 ? describeEntry(this.program, policyEntryAt(this.program.policyMap, decided)) : describeDefault(this.program, t),
      path: describePath(this.program, t, log),
    };
  }
}

export function identityText(program: EbpfProgram, id: number): string {
  if (id === 0) return 'identity 0 (any)';
  const found = program.identities.find((x) => x.id === id);
  return `identity ${id} (${found ? found.labels.join(' ') : 'unknown'})`;
}

export function describeEntry(program: EbpfProgram, e: PolicyEntry): string {
  const ep = program.endpoints[e.endpoint]!;
  const from = e.origins.map((o) => (o.rule < 0 ? o.policy : `${o.policy} ${o.direction} rule ${o.rule}`)).join(', ');
  return `${e.direction} map of ${ep.pod} entry #${e.index}: ${identityText(program, e.identity)} ` +
    `${portText(e.protocol, e.port, e.prefixLength)} ${e.deny ? 'deny' : 'allow'} (from ${from})`;
}

export function portText(protocol: number, port: number, plen: number): string {
  const proto = protocol === 6 ? 'TCP' : protocol === 17 ? 'UDP' : protocol === 132 ? 'SCTP' : protocol === 0 ? 'ANY' : String(protocol);
  if (plen === 0) return 'ANY/ANY';
  if (plen <= 8) return `${proto}/ANY`;
  if (plen === 24) return `${proto}/${port}`;
  return `${proto}/${port}-${port + (1 << (24 - plen)) - 1}`;
}

function describeDefault(program: EbpfProgram, t: Int32Array): string | null {
  for (const [state, ep, dir] of [[Trace.EGRESS_STATE, Trace.SRC_ENDPOINT, 'egress'], [Trace.INGRESS_STATE, Trace.DST_ENDPOINT, 'ingress']] as const) {
    if (t[state] === DirState.DENIED) return `${dir} of ${program.endpoints[t[ep]!]!.pod}: no policy map entry matches (default deny)`;
  }
  return null;
}

const STATE_TEXT = ['not a local endpoint: not enforced', 'not isolated: policy enforcement "default" allows', 'allowed by entry', 'no entry: dropped', 'its own address: loopback, never reaches the datapath', 'not reached: dropped at egress'];

function describePath(program: EbpfProgram, t: Int32Array, log: readonly number[]): string[] {
  const ep = (i: number): string => (i >= 0 ? ` endpoint ${program.endpoints[i]!.pod}` : '');
  const lines = [
    `ipcache: source -> ${identityText(program, t[Trace.SRC_IDENTITY]!)}${ep(t[Trace.SRC_ENDPOINT]!)}`,
    `ipcache: destination -> ${identityText(program, t[Trace.DST_IDENTITY]!)}${ep(t[Trace.DST_ENDPOINT]!)}`,
  ];
  if (t[Trace.NODE_TRAFFIC] === 1) lines.push('an address of the endpoint\'s own node: remote identity is host (1)');
  for (let i = 0; i < log.length; i += 4) {
    const w1 = log[i + 1]!;
    const dir = (w1 >>> 5) & 1;
    const plen = w1 & 31;
    const w2 = log[i + 2]!;
    const hit = log[i + 3]!;
    lines.push(`probe ${dir === DIR_INGRESS ? 'ingress' : 'egress'} map of ${program.endpoints[w1 >>> 6]!.pod}: ` +
      `{${identityText(program, log[i]!)}, ${portText(w2 >>> 16, w2 & 0xffff, plen)}} -> ${hit >= 0 ? `entry #${hit}` : 'miss'}`);
  }
  lines.push(`egress: ${STATE_TEXT[t[Trace.EGRESS_STATE]!]}${t[Trace.EGRESS_ENTRY]! >= 0 ? ` #${t[Trace.EGRESS_ENTRY]}` : ''}`);
  lines.push(`ingress: ${STATE_TEXT[t[Trace.INGRESS_STATE]!]}${t[Trace.INGRESS_ENTRY]! >= 0 ? ` #${t[Trace.INGRESS_ENTRY]}` : ''}`);
  return lines;
}
