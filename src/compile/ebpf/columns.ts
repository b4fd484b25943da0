/**
 * Policy map entries as columns (PolicyColumns, see program.ts): written once while the compiler
 * appends templates and maps, and the object view of an entry (PolicyEntry), built only when a reader
 * asks (the JSON dump, the tables, explain's "decided by").
 */
import { DIR_EGRESS, DIR_INGRESS } from './layout.js';
import type { EbpfProgram, EntryOrigin, PolicyColumns, PolicyEntry } from './program.js';

/**
 * Columns sized up front for at most `rows` rows, `origins` origins and `maps` maps. `finish` hands out
 * views of what was written, not copies: on this project's machines memory is slow to touch the first
 * time (about 70 MB/s measured), so columns are written once, never grown or copied, and capacity
 * never written costs no memory.
 */
export class ColumnsBuilder {
  rowCount = 0;
  originCount = 0;
  templateCount = 0;
  mapCount = 0;
  entryCount = 0;
  readonly identity: Uint32Array;
  readonly protocol: Uint8Array;
  readonly port: Uint16Array;
  readonly prefixLength: Uint8Array;
  readonly deny: Uint8Array;
  /** originStart[r] for every row written and the end of the last row's origins after it. */
  readonly originStart: Int32Array;
  readonly originPool: Int32Array;
  readonly templateStart: Int32Array;
  readonly mapEndpoint: Int32Array;
  readonly mapDirection: Uint8Array;
  readonly mapStart: Int32Array;
  readonly mapTemplate: Int32Array;

  constructor(rows: number, origins: number, maps: number) {
    this.identity = new Uint32Array(rows);
    this.protocol = new Uint8Array(rows);
    this.port = new Uint16Array(rows);
    this.prefixLength = new Uint8Array(rows);
    this.deny = new Uint8Array(rows);
    this.originStart = new Int32Array(rows + 1);
    this.originPool = new Int32Array(origins);
    this.templateStart = new Int32Array(maps + 1);
    this.mapEndpoint = new Int32Array(maps);
    this.mapDirection = new Uint8Array(maps);
    this.mapStart = new Int32Array(maps + 1);
    this.mapTemplate = new Int32Array(maps);
  }

  /** Closes the template whose rows were written since the last one; returns its id. */
  endTemplate(): number {
    this.templateStart[this.templateCount + 1] = this.rowCount;
    return this.templateCount++;
  }

  templateSize(t: number): number {
    return this.templateStart[t + 1]! - this.templateStart[t]!;
  }

  /** Appends a map holding template `t`'s rows as its entries. */
  addMap(endpoint: number, direction: number, t: number): void {
    const m = this.mapCount++;
    this.mapEndpoint[m] = endpoint;
    this.mapDirection[m] = direction;
    this.mapTemplate[m] = t;
    this.entryCount += this.templateSize(t);
    this.mapStart[m + 1] = this.entryCount;
  }

  finish(originTable: readonly EntryOrigin[]): PolicyColumns {
    const rows = this.rowCount;
    const maps = this.mapCount;
    return {
      count: this.entryCount, mapCount: maps, mapEndpoint: this.mapEndpoint.subarray(0, maps),
      mapDirection: this.mapDirection.subarray(0, maps), mapStart: this.mapStart.subarray(0, maps + 1),
      mapTemplate: this.mapTemplate.subarray(0, maps), templateStart: this.templateStart.subarray(0, this.templateCount + 1),
      identity: this.identity.subarray(0, rows), protocol: this.protocol.subarray(0, rows), port: this.port.subarray(0, rows),
      prefixLength: this.prefixLength.subarray(0, rows), deny: this.deny.subarray(0, rows),
      originStart: this.originStart.subarray(0, rows + 1), originPool: this.originPool.subarray(0, this.originCount), originTable,
    };
  }
}

/** The map holding entry `i`: the last map starting at or before it. */
export function mapOfEntry(c: PolicyColumns, i: number): number {
  let lo = 0;
  let hi = c.mapCount - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (c.mapStart[mid]! <= i) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/** The template row holding entry `i` of map `m`. */
export function rowOfEntry(c: PolicyColumns, i: number, m: number): number {
  return c.templateStart[c.mapTemplate[m]!]! + (i - c.mapStart[m]!);
}

/** Entry `i` of map `m` as an object; the key order is the JSON dump's (dump.ts entryJson writes it too). */
function entryObject(c: PolicyColumns, i: number, m: number): PolicyEntry {
  const r = rowOfEntry(c, i, m);
  const origins: EntryOrigin[] = [];
  for (let k = c.originStart[r]!; k < c.originStart[r + 1]!; k++) origins.push(c.originTable[c.originPool[k]!]!);
  return {
    index: i, endpoint: c.mapEndpoint[m]!, direction: c.mapDirection[m] === DIR_INGRESS ? 'ingress' : 'egress', deny: c.deny[r] === 1,
    identity: c.identity[r]!, protocol: c.protocol[r]!, port: c.port[r]!, prefixLength: c.prefixLength[r]!, origins,
  };
}

export function policyEntryAt(c: PolicyColumns, i: number): PolicyEntry {
  if (!(i >= 0 && i < c.count)) throw new RangeError(`no policy map entry ${i} (there are ${c.count})`);
  return entryObject(c, i, mapOfEntry(c, i));
}

export function policyEntries(c: PolicyColumns): PolicyEntry[] {
  const out = new Array<PolicyEntry>(c.count);
  for (let m = 0; m < c.mapCount; m++) for (let i = c.mapStart[m]!; i < c.mapStart[m + 1]!; i++) out[i] = entryObject(c, i, m);
  return out;
}

/**
 * Columns holding the given entries (hand-made maps, e.g. the precedence tests' deny entries): each run
 * of entries of one endpoint and direction is one map with its own template.
 */
export function columnsFromEntries(entries: readonly PolicyEntry[]): PolicyColumns {
  const b = new ColumnsBuilder(entries.length, entries.reduce((n, e) => n + e.origins.length, 0), entries.length);
  const table: EntryOrigin[] = [];
  entries.forEach((e, i) => {
    const r = b.rowCount++;
    b.identity[r] = e.identity;
    b.protocol[r] = e.protocol;
    b.port[r] = e.port;
    b.prefixLength[r] = e.prefixLength;
    b.deny[r] = e.deny ? 1 : 0;
    for (const o of e.origins) b.originPool[b.originCount++] = table.push(o) - 1;
    b.originStart[r + 1] = b.originCount;
    const next = entries[i + 1];
    if (next && next.endpoint === e.endpoint && next.direction === e.direction) return;
    b.addMap(e.endpoint, e.direction === 'ingress' ? DIR_INGRESS : DIR_EGRESS, b.endTemplate());
  });
  return b.finish(table);
}

/** The program with `entries` as a view of `policyMap`, built on first read and then kept. */
export function withEntryObjects(parts: Omit<EbpfProgram, 'entries'>): EbpfProgram {
  let built: PolicyEntry[] | null = null;
  return {
    ...parts,
    get entries(): PolicyEntry[] {
      return built ??= policyEntries(parts.policyMap);
    },
  };
}
