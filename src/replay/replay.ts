/**
 * The replay pipeline: stream captures through one or more dataplane models and gather what the report
 * needs. Per row: Service DNAT, then each model's conntrack -> filter -> confirm (runRow), then the
 * connection the row belongs to, the counters, and the write-outs. The first model named is the primary:
 * its verdicts make the connection verdicts and the written pcaps; the others are compared with it.
 *
 * Memory stays bounded: one batch, the reader's one chunk, the connection table (capped) and the
 * conntrack tables (capped). Nothing is allocated per packet except on rare events (a disagreement
 * recorded for the report).
 */
import { statSync } from 'node:fs';
import type { ClusterIndex } from '../model/cluster-index.js';
import type { EvalOptions } from '../model/evaluate.js';
import type { ModelName } from '../match/dataplane.js';
import { openCapture, type Damage } from '../traffic/pcap/reader.js';
import { openPcapWriter, type PcapWriter } from '../traffic/pcap/writer.js';
import { FlowBatch, RowFlag, Verdict } from '../wire/flow-batch.js';
import { ConnectionTable } from './connections.js';
import { buildRowModel, runRow, type RowModel } from './models.js';
import { applyNat, buildServiceNat, type ServiceNat } from './nat.js';

export interface ReplayOptions {
  readonly index: ClusterIndex;
  readonly evalOptions: EvalOptions;
  /** Models to run; the first is the primary. */
  readonly models: readonly ModelName[];
  readonly writeAllowed?: string | undefined;
  readonly writeDropped?: string | undefined;
  /** Disagreements kept for the report. */
  readonly keepDisagreements?: number;
  readonly batchSize?: number;
  readonly maxConnections?: number;
  /** Called after each batch with the bytes read so far of all captures and their total size. */
  readonly progress?: ((bytesRead: number, totalBytes: number, packets: number) => void) | undefined;
}

export interface Disagreement {
  readonly record: number;
  readonly file: string;
  /** Row fields as decided (after DNAT); verdicts per model, in model order. */
  readonly family: number;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly proto: number;
  readonly ctStates: readonly number[];
  readonly verdicts: readonly number[];
}

export interface ModelCounts {
  readonly name: ModelName;
  accepted: number;
  dropped: number;
  orphanFragments: number;
}

export interface ReplayResult {
  packets: number;
  ipPackets: number;
  nonIp: number;
  malformed: number;
  laterFragments: number;
  icmpErrors: number;
  /** Records not written to --write-allowed/--write-dropped because their link type differs from the file's. */
  writeSkipped: number;
  disagreements: number;
  readonly disagreementList: Disagreement[];
  readonly models: ModelCounts[];
  readonly connections: ConnectionTable;
  readonly nat: ServiceNat;
  damage: (Damage & { file: string }) | null;
  seconds: number;
  /** CPU time (user + system) of the replay: the fair figure on a shared machine. */
  cpuSeconds: number;
}

interface Run {
  readonly opts: ReplayOptions;
  readonly models: RowModel[];
  readonly result: ReplayResult;
  readonly verdicts: Uint8Array;
  readonly ctStates: Uint8Array;
  allowedWriter: PcapWriter | null;
  droppedWriter: PcapWriter | null;
  file: string;
  chunk: Uint8Array;
}

export function replay(paths: readonly string[], opts: ReplayOptions): ReplayResult {
  const models = opts.models.map((m) => buildRowModel(m, opts.index, opts.evalOptions));
  const result: ReplayResult = {
    packets: 0, ipPackets: 0, nonIp: 0, malformed: 0, laterFragments: 0, icmpErrors: 0, writeSkipped: 0,
    disagreements: 0, disagreementList: [], models: models.map((m) => ({ name: m.name, accepted: 0, dropped: 0, orphanFragments: 0 })),
    connections: new ConnectionTable(opts.maxConnections), nat: buildServiceNat(opts.index), damage: null, seconds: 0, cpuSeconds: 0,
  };
  const run: Run = {
    opts, models, result, verdicts: new Uint8Array(models.length), ctStates: new Uint8Array(models.length),
    allowedWriter: null, droppedWriter: null, file: '', chunk: new Uint8Array(0),
  };
  const total = paths.reduce((n, p) => n + fileSize(p), 0);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  try {
    let before = 0;
    for (const path of paths) before += replayFile(run, path, before, total);
  } finally {
    closeWriters(run);
  }
  result.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  result.cpuSeconds = (used.user + used.system) / 1e6;
  models.forEach((m, k) => { result.models[k]!.orphanFragments = m.orphanFragments; });
  return result;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // openCapture reports the missing file with its name
  }
}

/** Replays one capture; returns its bytes read (for progress across several files). */
function replayFile(run: Run, path: string, before: number, total: number): number {
  const reader = openCapture(path);
  const batch = new FlowBatch(run.opts.batchSize ?? 4096);
  run.file = path;
  run.chunk = reader.chunk;
  try {
    while (reader.fill(batch) > 0) {
      for (let i = 0; i < batch.count; i++) processRow(run, batch, i);
      run.opts.progress?.(before + reader.bytesRead, total, run.result.packets);
    }
    if (reader.damage && !run.result.damage) run.result.damage = { ...reader.damage, file: path };
    return reader.bytesRead;
  } finally {
    reader.close();
  }
}

/** One row through every model, into the connection table, counters and write-outs. */
function processRow(run: Run, batch: FlowBatch, i: number): void {
  const r = run.result;
  r.packets++;
  if (batch.family[i] === 0) {
    r.nonIp++;
    batch.verdict[i] = Verdict.NONE;
    return;
  }
  r.ipPackets++;
  const flags = batch.flags[i]!;
  if ((flags & RowFlag.MALFORMED) !== 0) r.malformed++;
  const service = applyNat(r.nat, batch, i);
  const primary = decideAll(run, batch, i);
  const conn = connectionOf(run, batch, i, flags);
  if (conn >= 0) {
    const c = r.connections;
    if (c.packets[conn] === 0 && service >= 0) c.service[conn] = service;
    c.packets[conn]! += 1;
    c.bytes[conn]! += batch.wireLength[i]!;
    if (primary === Verdict.DROP) c.dropped[conn]! += 1;
  }
  if (primary === Verdict.ACCEPT ? run.opts.writeAllowed !== undefined : primary === Verdict.DROP && run.opts.writeDropped !== undefined) {
    writeOut(run, batch, i, primary === Verdict.ACCEPT);
  }
}

/**
 * Runs every model on the row, the primary last so the batch keeps its verdict and state for the
 * connection table; counts verdicts and disagreements. Returns the primary's verdict.
 */
function decideAll(run: Run, batch: FlowBatch, i: number): number {
  const { models, verdicts, ctStates, result } = run;
  let differs = false;
  for (let k = models.length - 1; k >= 0; k--) {
    const v = runRow(models[k]!, batch, i);
    verdicts[k] = v;
    ctStates[k] = batch.ctState[i]!;
    if (v === Verdict.ACCEPT) result.models[k]!.accepted++;
    else if (v === Verdict.DROP) result.models[k]!.dropped++;
    if (v !== verdicts[models.length - 1]) differs = true;
  }
  if (differs) noteDisagreement(run, batch, i);
  return verdicts[0]!;
}

function noteDisagreement(run: Run, batch: FlowBatch, i: number): void {
  const r = run.result;
  r.disagreements++;
  if (r.disagreementList.length >= (run.opts.keepDisagreements ?? 10)) return;
  r.disagreementList.push({
    record: batch.recordIndex[i]!, file: run.file, family: batch.family[i]!,
    src: batch.src.slice(i * 4, i * 4 + 4), dst: batch.dst.slice(i * 4, i * 4 + 4),
    srcPort: batch.srcPort[i]!, dstPort: batch.dstPort[i]!, proto: batch.proto[i]!,
    ctStates: [...run.ctStates], verdicts: [...run.verdicts],
  });
}

/**
 * The connection a row belongs to. Later fragments carry no ports: counted, not attributed. ICMP errors
 * belong to the connection whose packet they quote, when it is known.
 */
function connectionOf(run: Run, batch: FlowBatch, i: number, flags: number): number {
  const r = run.result;
  const t = r.connections;
  if ((flags & RowFlag.LATER_FRAGMENT) !== 0) {
    r.laterFragments++;
    return -1;
  }
  if ((flags & RowFlag.ICMP_ERROR) !== 0) {
    r.icmpErrors++;
    const quoted = t.find(batch.family[i]!, batch.innerSrc, batch.innerDst, i * 4, batch.innerSrcPort[i]!, batch.innerDstPort[i]!, batch.innerProto[i]!);
    if (quoted >= 0) return quoted;
  }
  return t.lookupOrAdd(batch, i, batch.src, batch.dst, batch.srcPort[i]!, batch.dstPort[i]!, batch.proto[i]!);
}

/** Copies the record out of the reader's chunk into the verdict's pcap (before the next fill). */
function writeOut(run: Run, batch: FlowBatch, i: number, allowed: boolean): void {
  let w = allowed ? run.allowedWriter : run.droppedWriter;
  if (w === null) {
    const path = (allowed ? run.opts.writeAllowed : run.opts.writeDropped)!;
    // Nanosecond timestamps keep every capture's clock exact; the first record decides the link type.
    w = openPcapWriter(path, { linkType: batch.linkType[i]!, nanosecond: true, snapLength: 262144 });
    if (allowed) run.allowedWriter = w;
    else run.droppedWriter = w;
  }
  if (w.linkType !== batch.linkType[i]) {
    run.result.writeSkipped++;
    return;
  }
  w.write(batch.tsSec[i]!, batch.tsNsec[i]!, run.chunk, batch.dataOffset[i]!, batch.capturedLength[i]!, batch.wireLength[i]!);
}

/** Closes the written pcaps; a requested file that got no packet is still written, empty. */
function closeWriters(run: Run): void {
  const { writeAllowed, writeDropped } = run.opts;
  if (writeAllowed !== undefined && run.allowedWriter === null) run.allowedWriter = openPcapWriter(writeAllowed, { nanosecond: true });
  if (writeDropped !== undefined && run.droppedWriter === null) run.droppedWriter = openPcapWriter(writeDropped, { nanosecond: true });
  run.allowedWriter?.close();
  run.droppedWriter?.close();
}
