/**
 * Finds and loads the native addon (native/build/Release/netsieve.node, built by `npm install`), or says
 * why it cannot. `--engine native|js` chooses between it and the TypeScript path; native is the default
 * when the addon loads, and when it does not netsieve says so once (on stderr) and runs in TypeScript.
 *
 * NETSIEVE_NATIVE=off makes the addon count as absent (to run, or test, the fallback on purpose).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { TableSupport } from '../match/hash-table.js';

/** What the compiled addon exports (native/src/addon.cc). Handles are opaque. */
export interface NativeAddon {
  layout(): { groups: Record<string, [string, number][]>; constants: Record<string, number> };
  bind(group: number, arrays: readonly ArrayBufferView[]): NativeHandle;
  /** `slots`: the walk cache's (0 or a power of two); `cached[0]`: the walks it decided. */
  bindIptables(v4: NativeHandle, v6: NativeHandle, sets: NativeHandle, slots: number, cached: Float64Array): NativeHandle;
  /**
   * The reference model: a flow cache in C that asks `decide(row)` (0 drop, 1 accept) of each flow it has
   * not kept, row `row` of the batch being run; with a question batch (a lane's model), each flow is copied
   * to its row 0 and `decide(0)` asked.
   */
  bindReference(decide: (row: number) => number, question?: NativeHandle): NativeHandle;
  classify(model: number, model_: NativeHandle, batch: NativeHandle, count: number): void;
  run(model: number, model_: NativeHandle, conntrack: NativeHandle, batch: NativeHandle, count: number): number;
  decode(chunk: Uint8Array, batch: NativeHandle, count: number): void;
  /** Classic pcap records of `chunk` into the batch (WalkSlot state in and out); returns rows. */
  walk(chunk: Uint8Array, batch: NativeHandle, state: Float64Array): number;
  /** The walk with every row decoded and run as `run` runs it, in one call; returns rows. */
  walkRun(model: number, model_: NativeHandle, conntrack: NativeHandle, chunk: Uint8Array, batch: NativeHandle, state: Float64Array): number;
  /** A native replay of one model (src/native/replay.ts): its handle, then one call per batch. */
  bindReplay(model: number, model_: NativeHandle, conntrack: NativeHandle, nat: NativeHandle, batch: NativeHandle, stats: Float64Array, services: Int32Array, maxConnections: number, prefault: number): NativeHandle;
  /** Rows [0, count) of the bound batch, decoded, through DNAT, the model and into connections. */
  replayRows(replay: NativeHandle, count: number, fileIndex: number): void;
  /** Classic pcap records of the chunk walked and decoded into the bound batch, then as replayRows; returns rows. */
  walkReplay(replay: NativeHandle, chunk: Uint8Array, state: Float64Array, fileIndex: number): number;
  /**
   * N replay handles (one batch; handle k the lane of shard k) as lanes run by N threads
   * (native/src/addon-lanes.cc); `sync`: every row's verdict back in the batch after each call; `split`
   * (not with sync): walkLanes has each lane walk the chunk for its own rows, not this thread hand them over.
   */
  bindLanes(replays: readonly NativeHandle[], stats: Float64Array, sync: boolean, split: boolean): NativeHandle;
  /** Waits for the lanes to run all they were handed; `stats` then their sums. */
  finishLanes(lanes: NativeHandle): void;
  /** Every lane's connection table merged into lane 0's, in opening order (then taken from lane 0's replay). */
  mergeLanes(lanes: NativeHandle): void;
  /**
   * walkReplay over lanes: each record walked and decoded once, on this thread, and run by its shard's lane;
   * split, every whole record of the chunk, each lane walking them for its own (returns records).
   */
  walkLanes(lanes: NativeHandle, chunk: Uint8Array, state: Float64Array, fileIndex: number): number;
  /** replayRows over lanes. */
  replayRowsLanes(lanes: NativeHandle, count: number, fileIndex: number): void;
  /** The connection table's own column mappings, one ArrayBuffer per CONNECTION_COLUMNS column, no copy (the table is empty after). */
  takeConnections(replay: NativeHandle): ArrayBuffer[];
  /**
   * A zeroed ArrayBuffer in huge pages (native/src/huge.h), for a big table. `quiet`: V8 learns of its
   * memory only at the next tellExternalMemory(), and the buffer must never be transferred to another
   * thread (native/src/addon-replay.cc quietMapping).
   */
  hugeBuffer(bytes: number, quiet?: boolean): ArrayBuffer;
  /** A zeroed ArrayBuffer in 4 KiB pages, never huge ones (native/src/huge.h sparse_map), for an array written sparsely; `quiet` as hugeBuffer's. */
  sparseBuffer(bytes: number, quiet?: boolean): ArrayBuffer;
  /** V8 told of the memory of every quiet buffer this thread has made so far and still holds; returns those bytes. */
  tellExternalMemory(): number;
  /**
   * The table memory the addon keeps for the next replay (native/src/table-pool.cc) and what it handed
   * out: kept mappings, their bytes and resident bytes; mappings reused (cleared first: clearedBytes)
   * and mapped fresh. `release`: the kept ones unmapped first.
   */
  tablePool(release?: boolean): TablePoolStats;
  /** OpenHashTable.insertBatch over the table's words (native/src/ebpf.cc hash_table_place): keys that took an empty slot, or -1 when full. */
  tablePlace(words: Uint32Array, keyWords: number, seed: number, hashMask: Uint32Array, keys: Uint32Array, values: Int32Array, count: number): number;
  /**
   * Wall seconds of `threads` threads each running a calibration loop `rounds` times (native/src/calibrate.cc):
   * 'narrow' one dependent chain, 'wide' eight independent ones. For the bench: what a second thread adds here.
   */
  machineCeiling(kind: 'narrow' | 'wide', threads: number, rounds: number): number;
  /** Each of the batch's first `count` rows' lane of `shards` as the lanes shard them (non-IP: 0), into `out`; for tests against shard.ts. */
  shardRows(batch: NativeHandle, count: number, shards: number, out: Uint8Array): void;
  /**
   * Each whole record of the chunk from the state's position (at most out.length): its lane as the split
   * walk tells it from its bytes, or -1 where that walk decodes it in full; returns the records. For tests.
   */
  quickShards(nat: NativeHandle, chunk: Uint8Array, state: Float64Array, shards: number, out: Int8Array): number;
  /** Bytes per row of each connection column (native/src/replay.h CONN_*), to check against CONNECTION_COLUMNS. */
  readonly connectionColumnBytes: readonly number[];
}

/** NativeAddon.tablePool's answer. */
export interface TablePoolStats {
  readonly keptMappings: number;
  readonly keptBytes: number;
  readonly keptResident: number;
  readonly reused: number;
  readonly reusedBytes: number;
  readonly fresh: number;
  readonly freshBytes: number;
  readonly clearedBytes: number;
}

/** An opaque handle of bound typed arrays: an object wrapping the addon's struct, holding what it binds (a replay's and the lanes': externals). */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

export type LoadResult = { readonly addon: NativeAddon; readonly path: string } | { readonly addon: null; readonly reason: string };

export type Engine = 'native' | 'js';

const ADDON = join('native', 'build', 'Release', 'netsieve.node');

/**
 * Every function NativeAddon declares, newest last. An addon built from older sources lacks some of
 * them, and calling one would be a TypeError deep inside a replay: such a build is refused at load.
 */
export const ADDON_FUNCTIONS = [
  'layout', 'bind', 'bindIptables', 'bindReference', 'classify', 'run', 'decode', 'walk', 'walkRun', 'bindReplay',
  'replayRows', 'walkReplay', 'bindLanes', 'finishLanes', 'mergeLanes', 'walkLanes', 'replayRowsLanes', 'takeConnections',
  'hugeBuffer', 'sparseBuffer', 'tellExternalMemory', 'tablePlace', 'machineCeiling', 'shardRows', 'quickShards',
  'tablePool',
] as const satisfies readonly (keyof NativeAddon)[];

/** The functions of ADDON_FUNCTIONS that `addon` lacks. */
export function missingFunctions(addon: object): string[] {
  return ADDON_FUNCTIONS.filter((name) => typeof (addon as Record<string, unknown>)[name] !== 'function');
}

/** Loads the addon; `env` is consulted for NETSIEVE_NATIVE=off (a parameter so tests need not mutate process.env). */
export function loadNative(env: Readonly<Record<string, string | undefined>> = process.env, root = packageRoot()): LoadResult {
  if (env['NETSIEVE_NATIVE'] === 'off') return { addon: null, reason: 'NETSIEVE_NATIVE=off' };
  if (root === null) return { addon: null, reason: 'the package root (native/binding.gyp) was not found' };
  const path = join(root, ADDON);
  if (!existsSync(path)) return { addon: null, reason: `${ADDON} is missing (the build at npm install failed or was skipped)` };
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (typeof addon.run !== 'function' || typeof addon.layout !== 'function') return { addon: null, reason: `${path} is not netsieve's addon` };
    const missing = missingFunctions(addon);
    if (missing.length > 0) return { addon: null, reason: `${path} was built from older sources (no ${missing.join(', ')}); run node native/install.mjs` };
    return { addon, path };
  } catch (e) {
    return { addon: null, reason: `${path} failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}

let cached: LoadResult | undefined;
let noticed = false;

/** The process-wide load (once). */
export function nativeAddon(): LoadResult {
  cached ??= loadNative();
  return cached;
}

/**
 * The engine to run: `requested` (from --engine), defaulting to native when the addon loads. When native
 * is wanted but unavailable, `notice` is called once per process with a one-line reason, and it is 'js'.
 */
export function chooseEngine(
  requested: Engine | undefined, load: LoadResult = nativeAddon(),
  notice: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): { engine: Engine; addon: NativeAddon | null } {
  if (requested === 'js') return { engine: 'js', addon: null };
  if (load.addon !== null) return { engine: 'native', addon: load.addon };
  if (!noticed) {
    noticed = true;
    notice(`netsieve: native engine unavailable (${load.reason}); using the TypeScript engine`);
  }
  return { engine: 'js', addon: null };
}

/** For tests: forget that the notice was given. */
export function resetNativeNotice(): void {
  noticed = false;
}

/** Parses `--engine` (absent: undefined, the default). */
export function parseEngine(text: string | undefined): Engine | undefined {
  if (text === undefined) return undefined;
  if (text === 'native' || text === 'js') return text;
  throw new InputError(`--engine: ${JSON.stringify(text)} is not native or js`);
}

/**
 * The conntrack arrays' memory in huge pages from the addon (src/conntrack/arena.ts says why), quiet:
 * V8 learns of it when the replay ends (`replay()` tells it), not as the replay starts, when it made V8
 * mark its whole heap beside the replay (native/src/addon-replay.cc quietMapping). For tables that stay
 * on the thread that made them.
 */
export function hugeAllocator(addon: NativeAddon): (bytes: number) => ArrayBuffer {
  return (bytes) => addon.hugeBuffer(bytes, true);
}

/** Huge pages V8 is told of at once, for a table a worker hands to the main thread (postMessage transfer). */
export function transferableHugeAllocator(addon: NativeAddon): (bytes: number) => ArrayBuffer {
  return (bytes) => addon.hugeBuffer(bytes);
}

/**
 * A table smaller than this takes ordinary memory from nativeTables: a huge page is zeroed whole when
 * first touched, 2 MiB for the small tier's 64 KiB policy table.
 */
const HUGE_TABLE_BYTES = 1 << 20;

/**
 * What the compiled models' big tables take from the addon: huge pages for a hash table, whose every
 * page a replay reads; 4 KiB pages, never huge, for counters it writes a few scattered entries of (the
 * eBPF hit counters); and the hash tables' rows placed in C. Quiet, as hugeAllocator's.
 */
export function nativeTables(addon: NativeAddon): TableSupport {
  return {
    allocate: (bytes) => (bytes >= HUGE_TABLE_BYTES ? addon.hugeBuffer(bytes, true) : new ArrayBuffer(bytes)),
    allocateSparse: (bytes) => addon.sparseBuffer(bytes, true),
    place: (t, keys, values, count) => addon.tablePlace(t.words, t.keyWords, t.seed, t.hashMask, keys, values, count),
  };
}
