/**
 * `compare --sweep`: policy sets of growing size (cluster-gen shapes: same pods and namespaces, more
 * policies), each compiled by both models and run on its own seeded synthetic traffic, so that the cost
 * per packet of each model can be plotted against the policy count: the crossover chart.
 */
import { generateCluster } from '../clustergen/generate.js';
import { loadClusterFromText } from '../manifests/load.js';
import { indexCluster } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { NativeAddon } from '../native/load.js';
import { compileModel, countDisagreements, nsPerPacket, timeClassify, timePasses, type CompareModel } from './models.js';
import { synthTraffic } from './traffic.js';

export const DEFAULT_SWEEP_SIZES: readonly number[] = [10, 30, 100, 300, 1000, 3000];

export interface SweepOptions {
  readonly sizes: readonly number[];
  readonly pods: number;
  readonly namespaces: number;
  readonly packets: number;
  readonly seed: number;
  /** Request/response exchanges per allowed TCP connection of each size's traffic (default 1). */
  readonly exchanges?: number;
  readonly minSeconds?: number;
  /** When loaded, each size's replay loop is timed on the native engine too (`native` of each model). */
  readonly addon?: NativeAddon | null;
  /** Called after each size (progress on stderr). */
  readonly onPoint?: (point: SweepPoint) => void;
}

export interface SweepModelPoint {
  /** Time per packet of the replay loop (conntrack and model; most packets belong to known connections). */
  readonly nsPerPacket: number;
  /** Time per packet of the policy decision alone (every packet a connection opening). */
  readonly classifyNsPerPacket: number;
  readonly pps: number;
  /** Rules walked or probes, per connection-opening packet and per packet. */
  readonly costPerNewPacket: number;
  readonly costPerPacket: number;
  readonly compileSeconds: number;
  readonly size: number;
  /**
   * The same replay loop on the native engine, and the records on which its verdict differs from the
   * TypeScript engine's (must be none); null without the addon.
   */
  readonly native: { readonly nsPerPacket: number; readonly pps: number; readonly engineDisagreements: number } | null;
}

export interface SweepPoint {
  readonly policies: number;
  readonly packets: number;
  readonly disagreements: number;
  readonly models: Readonly<Record<CompareModel, SweepModelPoint>>;
}

export function sweep(options: EvalOptions, opts: SweepOptions): SweepPoint[] {
  return opts.sizes.map((policies) => {
    const list = generateCluster({ pods: opts.pods, namespaces: opts.namespaces, policies, seed: opts.seed });
    const index = indexCluster(loadClusterFromText(JSON.stringify(list), {}, `sweep-${policies}.json`).cluster);
    const traffic = synthTraffic(index, opts.packets, opts.seed, { kind: 'fixed', bytes: 64 }, options, opts.exchanges);
    const point = (name: CompareModel): { p: SweepModelPoint; verdicts: Uint8Array } => {
      const minSeconds = opts.minSeconds ?? 0.2;
      const model = compileModel(name, index, options, opts.addon ?? null);
      const s = timePasses(model, traffic, { engine: 'js', minSeconds });
      const n = opts.addon ? timePasses(model, traffic, { engine: 'native', addon: opts.addon, minSeconds }) : null;
      const size = name === 'iptables' ? model.size['rules']! : model.size['mapEntries']!;
      const classifyNsPerPacket = timeClassify(model, traffic, minSeconds);
      const native = n && { nsPerPacket: nsPerPacket(n.pps), pps: n.pps, engineDisagreements: countDisagreements(s.verdicts, n.verdicts) };
      return {
        p: { nsPerPacket: nsPerPacket(s.pps), classifyNsPerPacket, pps: s.pps, costPerNewPacket: s.costPerNewPacket, costPerPacket: s.costPerPacket, compileSeconds: model.compileSeconds, size, native },
        verdicts: s.verdicts,
      };
    };
    const ipt = point('iptables');
    const ebpf = point('ebpf');
    const disagreements = countDisagreements(ipt.verdicts, ebpf.verdicts);
    const result: SweepPoint = { policies, packets: traffic.ipPackets, disagreements, models: { iptables: ipt.p, ebpf: ebpf.p } };
    opts.onPoint?.(result);
    return result;
  });
}
