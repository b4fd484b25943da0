/**
 * Reading cachegrind's per-function counts (`cg_annotate --show=Ir,D1mr,DLmr --threshold=0`) into the
 * native replay's stages, by the source file each function was compiled from (the addon is built with
 * -g, so cachegrind names it). Instruction counts do not depend on what else the machine runs: on the
 * shared VMs this project is measured on, where wall time moves by a third from run to run, they are
 * the figure two builds can be compared by (bench/README.md).
 */

export interface Counts {
  /** Instructions executed, first-level data cache read misses, last-level data read misses (simulated). */
  ir: number;
  d1mr: number;
  dlmr: number;
}

/** The stages of one native replay (src/replay/fused.ts), in pipeline order. */
export const STAGES = [
  'walk and decode', 'DNAT and shard', 'conntrack', 'model', 'counters and connections', 'lane hand-over', 'lane scheduling',
  'lane merge', 'addon calls', 'tables placed (once a replay)',
] as const;
export type Stage = (typeof STAGES)[number];
/**
 * The work a replay does once, before its first packet: the compiled model's rows placed in its hash
 * tables (hash_table_place, through the addon's tablePlace) and the lookup records packed at bind. At the
 * real tier that is 1.73M policy rows, about 740 instructions for each of 300k packets if counted as
 * theirs; it is reported apart and left out of the total per packet.
 */
export const ONCE: Stage = 'tables placed (once a replay)';
const ONCE_FUNCTIONS = /(?:^|::)(?:hash_table_place|TablePlace|ebpf_pack|iptables_rule_checks|iptables_v4_narrow|vip_filter_build)\(/;

const BY_FILE: Record<string, Stage> = {
  'walk.cc': 'walk and decode', 'decode.cc': 'walk and decode', 'conntrack.cc': 'conntrack', 'ebpf.cc': 'model',
  'iptables.cc': 'model', 'replay.cc': 'counters and connections', 'lanes.cc': 'lane hand-over',
  // Under valgrind the threads take turns, so a thread waiting for a batch spins here in instructions
  // that on real cores overlap the other thread's work.
  'addon-lanes.cc': 'lane scheduling', 'conns-merge.cc': 'lane merge',
};
/**
 * Headers whose lines count to a stage wherever they are inlined: ct-key.h builds and hashes the tracker's
 * tuple, in the replay's prefetch ring (replay_lane) as much as in conntrack.cc; decision-cache.h decides
 * an eBPF opening from the model's decision cache, inlined into replay_lane ahead of the call into ebpf.cc.
 */
const BY_HEADER: Record<string, Stage> = { 'ct-key.h': 'conntrack', 'decision-cache.h': 'model' };
/**
 * replay.cc's Service DNAT (nat.ts mirrored) and the lanes' shard of each row, apart from its connection
 * table; row_nat and row_shard are the split walk's (walk.cc walk_lane) calls of them.
 */
const DNAT_FUNCTIONS = /^(replay_prepare|apply_nat|nat_lookup|find_service_port|to_backend|nat_hash|shard_of|row_nat|row_shard)\b/;

/** The stage of a function compiled from native/src/`file`; addon glue for the Node-API files. */
export function stageOf(file: string, fn: string): Stage {
  if (ONCE_FUNCTIONS.test(fn)) return ONCE;
  if (file === 'replay.cc' && DNAT_FUNCTIONS.test(fn)) return 'DNAT and shard';
  return BY_FILE[file] ?? 'addon calls';
}

/** `1,234 (5.6%)` or a bare `0`. */
const COUNT = String.raw`([\d,]+)(?: \(\s*[\d.]+%\))?`;
const LINE = new RegExp(String.raw`^\s*${COUNT}\s+${COUNT}\s+${COUNT}\s+(\S.*)$`);

/**
 * The addon's counts per stage from cg_annotate's function summary. cg_annotate splits a function's
 * counts by the source file of each line, so code inlined from a header (hot.h's run_row, rotl32) shows
 * as `hot.h:<caller>`: every row of a function goes to the stage of the .cc file the function is defined
 * in, but a row of a header in BY_HEADER to that header's stage. Only functions with a row in a
 * native/src .cc file count (V8, libc and the cluster's loading do not). Lines that are not function rows
 * are skipped; an unrecognised format yields no stages, which the caller reports as an error rather than
 * as zero.
 */
export function stageCounts(annotated: string): Map<Stage, Counts> {
  const rows: { fn: string; file: string | undefined; counts: Counts }[] = [];
  const home = new Map<string, string>();
  for (const line of annotated.split('\n')) {
    const m = LINE.exec(line);
    const where = m?.[4];
    const colon = where?.indexOf(':') ?? -1;
    if (!m || !where || colon < 0) continue;
    const file = /\/native\/(?:build\/\.\.\/)?src\/([\w.-]+)$/.exec(where.slice(0, colon))?.[1];
    const fn = where.slice(colon + 1);
    if (file?.endsWith('.cc') && !home.has(fn)) home.set(fn, file);
    rows.push({ fn, file, counts: { ir: count(m[1]!), d1mr: count(m[2]!), dlmr: count(m[3]!) } });
  }
  const stages = new Map<Stage, Counts>();
  for (const { fn, file: rowFile, counts } of rows) {
    const file = home.get(fn);
    if (file === undefined) continue;
    const stage = (rowFile !== undefined ? BY_HEADER[rowFile] : undefined) ?? stageOf(file, fn);
    const c = stages.get(stage) ?? { ir: 0, d1mr: 0, dlmr: 0 };
    c.ir += counts.ir;
    c.d1mr += counts.d1mr;
    c.dlmr += counts.dlmr;
    stages.set(stage, c);
  }
  return stages;
}

function count(text: string): number {
  return Number(text.replace(/,/g, ''));
}

/** The sum of the stages a packet pays for: all but ONCE. */
export function perPacketTotal(stages: ReadonlyMap<Stage, Counts> | Partial<Record<Stage, Counts>>): Counts {
  const entries = stages instanceof Map ? [...stages.entries()] : (Object.entries(stages) as [Stage, Counts][]);
  const total: Counts = { ir: 0, d1mr: 0, dlmr: 0 };
  for (const [stage, c] of entries) {
    if (stage === ONCE) continue;
    total.ir += c.ir;
    total.d1mr += c.d1mr;
    total.dlmr += c.dlmr;
  }
  return total;
}
