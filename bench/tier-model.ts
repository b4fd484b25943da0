/**
 * One tier with one model, in its own process (so that its peak RSS is its own): load the tier's cluster,
 * compile (timed, peak memory), output size, then on seeded 64-byte traffic: classification of
 * connection-opening packets (every row NEW: the policy decision alone) and end-to-end replay, one
 * thread (read, decode, DNAT, conntrack, model), in TypeScript and, when the addon loads, native. Prints one JSON document on stdout.
 *
 *   node dist/bench/tier-model.js <tier> <iptables|ebpf> <workdir> <packets>
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileEbpf } from '../src/compile/ebpf/compile.js';
import { compileIptables, renderIpsets, renderRules, summarize } from '../src/compile/iptables/index.js';
import { newConntrack, type Conntrack } from '../src/conntrack/index.js';
import { decodeCaptures, type DecodedTraffic } from '../src/compare/traffic.js';
import { loadCluster } from '../src/manifests/load.js';
import { indexCluster, type ClusterIndex } from '../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../src/model/evaluate.js';
import { classifyBatch as classifyEbpf, classifyRow as classifyEbpfRow, loadEbpf } from '../src/match/ebpf.js';
import { classifyBatch as classifyIptables, classifyRow as classifyIptablesRow, loadIptables } from '../src/match/iptables.js';
import { classifyNative, nativeEbpf, nativeIptables, runNative, type NativeModelHandle } from '../src/native/engine.js';
import { nativeAddon } from '../src/native/load.js';
import { applyNat, buildServiceNat } from '../src/replay/nat.js';
import { runRow, type RowModel } from '../src/replay/models.js';
import { openCapture } from '../src/traffic/pcap/reader.js';
import { fileSink } from '../src/traffic/pcap/writer.js';
import { synthToSink } from '../src/traffic/synth/index.js';
import { CtState, FlowBatch } from '../src/wire/flow-batch.js';
import { measure, seconds, type Measured } from './lib.js';
import { clusterFile, tierByName } from './tiers.js';

const options = DEFAULT_EVAL_OPTIONS;
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

interface Compiled {
  readonly compileSeconds: number;
  readonly packSeconds: number;
  readonly size: Record<string, number>;
  readonly classifyTs: (b: FlowBatch) => void;
  readonly classifyRow: (b: FlowBatch, i: number) => void;
  readonly bindNative: () => NativeModelHandle | null;
}

function compileIpt(index: ClusterIndex, outDir: string): Compiled {
  const t = process.hrtime.bigint();
  const program = compileIptables(index, options);
  const files = { 'ipsets.restore': renderIpsets(program), 'rules.v4': renderRules(program, 4), 'rules.v6': renderRules(program, 6) };
  const compileSeconds = seconds(t);
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(outDir, name), text);
  const p = process.hrtime.bigint();
  const m = loadIptables(program);
  const packSeconds = seconds(p);
  const s = summarize(program);
  const addon = nativeAddon().addon;
  return {
    compileSeconds, packSeconds, size: { rules: s.rules.v4 + s.rules.v6, chains: s.chains.v4 + s.chains.v6, sets: s.sets, members: s.members, textBytes: Object.values(files).reduce((n, f) => n + f.length, 0) },
    classifyTs: (b) => classifyIptables(m, b), classifyRow: (b, i) => classifyIptablesRow(m, b, i), bindNative: () => (addon ? nativeIptables(addon, m) : null),
  };
}

function compileBpf(index: ClusterIndex): Compiled {
  const t = process.hrtime.bigint();
  const program = compileEbpf(index, options);
  const compileSeconds = seconds(t);
  const p = process.hrtime.bigint();
  const loaded = loadEbpf(program);
  const packSeconds = seconds(p);
  const addon = nativeAddon().addon;
  return {
    compileSeconds, packSeconds,
    size: { mapEntries: program.policyMap.count, ipcacheEntries: program.ipcache.length, identities: program.identities.length, endpoints: program.endpoints.length },
    classifyTs: (b) => classifyEbpf(loaded, b), classifyRow: (b, i) => classifyEbpfRow(loaded, b, i), bindNative: () => (addon ? nativeEbpf(addon, loaded) : null),
  };
}

/** Every row a connection opening: what is timed is the policy decision alone. */
function classification(c: Compiled, traffic: DecodedTraffic): { cases: Measured[]; costPerPacket: number } {
  for (const b of traffic.batches) b.ctState.fill(CtState.NEW, 0, b.count);
  const n = traffic.packets;
  let cost = 0;
  for (const b of traffic.batches) {
    c.classifyTs(b);
    for (let i = 0; i < b.count; i++) cost += b.cost[i]!;
  }
  const specs = [{ name: 'classify, TypeScript', packetsPerOp: n, fn: () => { for (const b of traffic.batches) c.classifyTs(b); } }];
  const nm = c.bindNative();
  if (nm) specs.push({ name: 'classify, native', packetsPerOp: n, fn: () => { for (const b of traffic.batches) classifyNative(nm, b); } });
  return { cases: measure(specs), costPerPacket: cost / n };
}

/**
 * End-to-end, one thread: read, decode, DNAT, then conntrack and the model per row (TypeScript: runRow,
 * as replay does; native: one runNative call per batch), on the model compiled above; best of three
 * runs, each from an empty connection table. (replay() itself would compile its own copy of the model,
 * which at the real tier doubles a multi-GiB heap and times the garbage collector, not the dataplane.)
 */
function endToEnd(c: Compiled, model: 'iptables' | 'ebpf', index: ClusterIndex, pcap: string): { ts: number; native: number | null } {
  const nm = c.bindNative();
  const ts = bestOfThree(index, pcap, (ct, batch) => {
    const row: RowModel = { name: model, conntrack: ct, classify: c.classifyRow, orphanFragments: 0 };
    for (let i = 0; i < batch.count; i++) if (batch.family[i] !== 0) runRow(row, batch, i);
  });
  return { ts, native: nm ? bestOfThree(index, pcap, (ct, batch) => { runNative(nm, ct, batch); }) : null };
}

function bestOfThree(index: ClusterIndex, pcap: string, decide: (ct: Conntrack, batch: FlowBatch) => void): number {
  const nat = buildServiceNat(index);
  const batch = new FlowBatch(4096);
  let best = 0;
  for (let k = 0; k < 3; k++) {
    const ct = newConntrack();
    const t = process.hrtime.bigint();
    const reader = openCapture(pcap);
    let n = 0;
    try {
      while (reader.fill(batch) > 0) {
        for (let i = 0; i < batch.count; i++) applyNat(nat, batch, i);
        decide(ct, batch);
        n += batch.count;
      }
    } finally {
      reader.close();
    }
    best = Math.max(best, n / seconds(t));
  }
  return best;
}

function main(): void {
  const [tierName, model, dir, packetsText] = process.argv.slice(2);
  if (model !== 'iptables' && model !== 'ebpf') throw new Error(`model: iptables or ebpf, not ${model}`);
  const tier = tierByName(tierName!);
  const t0 = process.hrtime.bigint();
  const index = indexCluster(loadCluster([clusterFile(tier, dir!)]).cluster);
  const loadSeconds = seconds(t0);
  const rssBeforeCompile = peakRss();
  const c = model === 'iptables' ? compileIpt(index, join(dir!, `iptables-${tier.name}`)) : compileBpf(index);
  const rssAfterCompile = peakRss();
  const pcap = join(dir!, `traffic-${tier.name}.pcap`);
  if (!existsSync(pcap)) synthToSink(index, { packets: Number(packetsText), seed: 1, size: { kind: 'fixed', bytes: 64 } }, fileSink(pcap));
  const traffic = decodeCaptures([pcap], index);
  const e2e = endToEnd(c, model, index, pcap);
  const cls = classification(c, traffic);
  const load = nativeAddon();
  process.stdout.write(`${JSON.stringify({
    tier: tier.name, model, loadSeconds, compileSeconds: c.compileSeconds, packSeconds: c.packSeconds, size: c.size,
    rssBeforeCompile, rssAfterCompile, packets: traffic.packets, classify: cls.cases, costPerPacket: cls.costPerPacket,
    replayPps: e2e.ts, replayNativePps: e2e.native, native: load.addon ? 'loaded' : `not loaded: ${load.reason}`, seconds: seconds(t0),
  })}\n`);
}

main();
