// Native vs TypeScript, same batches, same run: `npm run build && node native/measure.mjs [rows] [pods namespaces policies]`.
// Generates a cluster (cluster-gen's shapes), synthesises 64-byte sessions between its pods, decodes them
// into batches of 4096 rows, and prints src/native/measure.ts's figures as a table and JSON.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = process.env.NETSIEVE_DIST ?? new URL('../dist/', import.meta.url).pathname;
const load = (p) => import(join(dist, p));
const [{ generateCluster }, { loadClusterFromText }, { indexCluster }, { DEFAULT_EVAL_OPTIONS }, synth, writer, reader, fb, native, measure] =
  await Promise.all(['src/clustergen/generate.js', 'src/manifests/load.js', 'src/model/cluster-index.js', 'src/model/evaluate.js',
    'src/traffic/synth/index.js', 'src/traffic/pcap/writer.js', 'src/traffic/pcap/reader.js', 'src/wire/flow-batch.js',
    'src/native/load.js', 'src/native/measure.js'].map(load));

const rows = Number(process.argv[2] ?? 1_000_000);
const [pods, namespaces, policies] = [3, 4, 5].map((k, i) => Number(process.argv[k] ?? [1000, 50, 100][i]));
const loaded = native.loadNative();
if (loaded.addon === null) { console.error(`no native addon: ${loaded.reason}`); process.exit(1); }

const index = indexCluster(loadClusterFromText(JSON.stringify(generateCluster({ pods, namespaces, policies, seed: 1 }))).cluster);
const sink = writer.memorySink();
synth.synthToSink(index, { packets: rows, seed: 1, size: synth.parseSize('64') }, sink);
const dir = mkdtempSync(join(tmpdir(), 'ns-measure-'));
const path = join(dir, 'synth.pcap');
writeFileSync(path, sink.result());
const batches = [];
const r = reader.openCapture(path);
for (;;) { const b = new fb.FlowBatch(4096); if (r.fill(b) === 0) break; batches.push(b); }
r.close();

// The same rows twice: all distinct batches (the batch set streams from memory), and the first batch
// over and over (it stays in cache, as replay's one reused batch does); then the capture file itself
// through the reader (one reused batch), decoding, conntrack and the model.
const runs = {
  distinct: measure.sideBySide(loaded.addon, index, DEFAULT_EVAL_OPTIONS, batches, 3),
  hot: measure.sideBySide(loaded.addon, index, DEFAULT_EVAL_OPTIONS, batches.map(() => batches[0]), 3),
  file: measure.pipelineSideBySide(loaded.addon, index, DEFAULT_EVAL_OPTIONS, path, 3),
};
// The capture file three ways (TS reader + TS decode + TS model; TS walk + native decode/run; the fused
// native walk), and walking records alone (TS vs C).
const walk = { whole: measure.walkSideBySide(loaded.addon, index, DEFAULT_EVAL_OPTIONS, path, 3), walkOnly: measure.walkOnly(loaded.addon, path, 3) };
rmSync(dir, { recursive: true });
console.log(`${rows} rows of 64-byte synth sessions in batches of 4096, cluster ${pods} pods / ${namespaces} namespaces / ${policies} policies, node ${process.version}, CPU time`);
console.log('batches   model     stage                           js Mpps  native Mpps  ratio  cost/row');
for (const [label, figures] of Object.entries(runs)) {
  for (const f of figures) {
    console.log(`${label.padEnd(9)} ${f.model.padEnd(9)} ${f.stage.padEnd(31)} ${f.jsMpps.toFixed(2).padStart(7)}  ${f.nativeMpps.toFixed(2).padStart(11)}  ${f.ratio.toFixed(2).padStart(5)}  ${f.costPerRow.toFixed(2).padStart(8)}`);
  }
}
console.log('\nfile path   model     TS Mpps  TS walk+native Mpps  fused native walk Mpps  fused/TS  fused/today  cost/row');
for (const f of walk.whole) {
  console.log(`file        ${f.model.padEnd(9)} ${f.tsMpps.toFixed(2).padStart(7)}  ${f.todayMpps.toFixed(2).padStart(18)}  ${f.fusedMpps.toFixed(2).padStart(22)}  ${f.fusedVsTs.toFixed(2).padStart(8)}  ${f.fusedVsToday.toFixed(2).padStart(11)}  ${f.costPerRow.toFixed(2).padStart(8)}`);
}
console.log(`walk only   ${walk.walkOnly.rows} records: TS ${walk.walkOnly.tsMpps.toFixed(2)} Mpps, native ${walk.walkOnly.nativeMpps.toFixed(2)} Mpps`);
console.log(JSON.stringify({ ...runs, walk }));
