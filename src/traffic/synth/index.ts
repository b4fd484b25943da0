/**
 * `synth` as one call: plan the flows of a cluster and write N packets of seeded traffic to a pcap.
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions } from '../../model/evaluate.js';
import { InputError } from '../../errors.js';
import { LinkType, PcapWriter, type ByteSink } from '../pcap/writer.js';
import { synthesize, type SizeMode } from './generate.js';
import { planFlows, type FlowPlan } from './plan.js';

export type { SizeMode } from './generate.js';
export { planFlows } from './plan.js';
export { MAX_EXCHANGES } from './generate.js';

export interface SynthRequest {
  readonly packets: number;
  readonly seed: number;
  readonly size: SizeMode;
  readonly options?: EvalOptions;
  /** Request/response exchanges per allowed TCP connection (generate.ts SynthOptions), default 1. */
  readonly exchanges?: number;
}

export interface SynthResult {
  readonly plan: FlowPlan;
  readonly packets: number;
  readonly bytes: number;
  readonly seconds: number;
  /** CPU time (user + system) the generation took: the fair figure on a shared machine. */
  readonly cpuSeconds: number;
}

export function synthToSink(index: ClusterIndex, request: SynthRequest, sink: ByteSink): SynthResult {
  const plan = planFlows(index, request.seed, request.options ?? DEFAULT_EVAL_OPTIONS);
  if (plan.count === 0) throw new InputError('synth: the cluster has no pod with an address: nothing to send traffic between');
  const writer = new PcapWriter(sink, { linkType: LinkType.ETHERNET, snapLength: 65535 });
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  synthesize(plan, { packets: request.packets, seed: request.seed, size: request.size, exchanges: request.exchanges }, writer);
  writer.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  return { plan, packets: writer.records, bytes: writer.bytes, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Parses `--size`: 64, imix, or a frame length in bytes (60..9000, captured length without FCS). */
export function parseSize(text: string): SizeMode {
  if (text.toLowerCase() === 'imix') return { kind: 'imix' };
  if (/^\d+$/.test(text) && Number(text) >= 60 && Number(text) <= 9000) return { kind: 'fixed', bytes: Number(text) };
  throw new InputError(`--size: ${JSON.stringify(text)} is not 64, imix or a frame length in bytes from 60 to 9000`);
}
