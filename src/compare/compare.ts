/**
 * `compare`: both dataplane models on the same traffic. Verdicts packet by packet (they must agree),
 * throughput, cost per packet (rules walked against probes), compile time, output size and memory.
 * The CLI, the HTML report and the benchmarks all call `compareModels`.
 */
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { NativeAddon } from '../native/load.js';
import { compileModel, countDisagreements, timePasses, type CompareModel, type CompiledModel, type PassStats } from './models.js';
import type { DecodedTraffic } from './traffic.js';

export const MODELS: readonly CompareModel[] = ['iptables', 'ebpf'];

export interface ModelComparison {
  readonly model: CompiledModel;
  readonly js: PassStats;
  readonly native: PassStats | null;
}

export interface Comparison {
  readonly packets: number;
  readonly ipPackets: number;
  /** Records on which the two models' verdicts differ (TypeScript engine). */
  readonly disagreements: number;
  /** Records on which an engine's verdict differs from the TypeScript engine's, per model; null without the addon. */
  readonly engineDisagreements: Readonly<Record<CompareModel, number>> | null;
  readonly models: Readonly<Record<CompareModel, ModelComparison>>;
  /** Why the native engine was not measured, or null when it was. */
  readonly nativeNote: string | null;
}

export interface CompareOptions {
  readonly addon: NativeAddon | null;
  readonly nativeNote?: string | null;
  readonly minSeconds?: number;
  /** Entries each model's conntrack table holds (the node's nf_conntrack_max); absent: the default. */
  readonly conntrackCapacity?: number;
}

export function compareModels(index: ClusterIndex, options: EvalOptions, traffic: DecodedTraffic, opts: CompareOptions): Comparison {
  const run = (name: CompareModel): ModelComparison => {
    const model = compileModel(name, index, options, opts.addon);
    const timing = { minSeconds: opts.minSeconds ?? 0.25, conntrackCapacity: opts.conntrackCapacity };
    const js = timePasses(model, traffic, { engine: 'js', ...timing });
    const native = opts.addon ? timePasses(model, traffic, { engine: 'native', addon: opts.addon, ...timing }) : null;
    return { model, js, native };
  };
  const iptables = run('iptables');
  const ebpf = run('ebpf');
  const engineDiff = (m: ModelComparison): number => (m.native ? countDisagreements(m.js.verdicts, m.native.verdicts) : 0);
  return {
    packets: traffic.packets, ipPackets: traffic.ipPackets,
    disagreements: countDisagreements(iptables.js.verdicts, ebpf.js.verdicts),
    engineDisagreements: opts.addon ? { iptables: engineDiff(iptables), ebpf: engineDiff(ebpf) } : null,
    models: { iptables, ebpf },
    nativeNote: opts.addon ? null : (opts.nativeNote ?? 'native addon not loaded'),
  };
}
