/**
 * Policy map entries as columns (PolicyColumns): growable while the compiler appends, trimmed at the
 * end; and the object view of an entry (PolicyEntry), built only when a reader asks (the JSON dump,
 * the tables, explain's "decided by").
 */
import { DIR_EGRESS, DIR_INGRESS } from './layout.js';
import type { EbpfProgram, EntryOrigin, PolicyColumns, PolicyEntry } from './program.js';

/**
 * Rows written into columns sized up front for at most `rows` rows and `origins` origins. `finish` hands
 * out views of the rows written, not copies: on this project's machines memory is slow to touch the
 * first time (about 70 MB/s), so the columns are written once and never grown or copied, and the
 * capacity never written costs no memory.
 */
export class ColumnsBuilder {
  count = 0;
  originCount = 0;
  readonly endpoint: Int32Array;
  readonly direction: Uint8Array;
  readonly identity: Uint32Array;
  readonly protocol: Uint8Array;
  readonly port: Uint16Array;
  readonly prefixLength: Uint8Array;
  readonly deny: Uint8Array;
  /** originStart[i] for every row written and the end of the last row's origins after it. */
  readonly originStart: Int32Array;
  readonly originPool: Int32Array;

  constructor(rows: number, origins: number) {
    this.endpoint = new Int32Array(rows);
    this.direction = new Uint8Array(rows);
    this.identity = new Uint32Array(rows);
    this.protocol = new Uint8Array(rows);
    this.port = new Uint16Array(rows);
    this.prefixLength = new Uint8Array(rows);
    this.deny = new Uint8Array(rows);
    this.originStart = new Int32Array(rows + 1);
    this.originPool = new Int32Array(origins);
  }

  finish(originTable: readonly EntryOrigin[]): PolicyColumns {
    const n = this.count;
    return {
      count: n, endpoint: this.endpoint.subarray(0, n), direction: this.direction.subarray(0, n), identity: this.identity.subarray(0, n),
      protocol: this.protocol.subarray(0, n), port: this.port.subarray(0, n), prefixLength: this.prefixLength.subarray(0, n),
      deny: this.deny.subarray(0, n), originStart: this.originStart.subarray(0, n + 1),
      originPool: this.originPool.subarray(0, this.originCount), originTable,
    };
  }
}

/** Entry `i` as an object; the key order is the JSON dump's. */
export function policyEntryAt(c: PolicyColumns, i: number): PolicyEntry {
  const origins: EntryOrigin[] = [];
  for (let k = c.originStart[i]!; k < c.originStart[i + 1]!; k++) origins.push(c.originTable[c.originPool[k]!]!);
  return {
    index: i, endpoint: c.endpoint[i]!, direction: c.direction[i] === DIR_INGRESS ? 'ingress' : 'egress', deny: c.deny[i] === 1,
    identity: c.identity[i]!, protocol: c.protocol[i]!, port: c.port[i]!, prefixLength: c.prefixLength[i]!, origins,
  };
}

export function policyEntries(c: PolicyColumns): PolicyEntry[] {
  const out = new Array<PolicyEntry>(c.count);
  for (let i = 0; i < c.count; i++) out[i] = policyEntryAt(c, i);
  return out;
}

/** Columns holding the given entries (hand-made maps, e.g. the precedence tests' deny entries). */
export function columnsFromEntries(entries: readonly PolicyEntry[]): PolicyColumns {
  const b = new ColumnsBuilder(entries.length, entries.reduce((n, e) => n + e.origins.length, 0));
  const table: EntryOrigin[] = [];
  for (const e of entries) {
    const i = b.count++;
    b.endpoint[i] = e.endpoint;
    b.direction[i] = e.direction === 'ingress' ? DIR_INGRESS : DIR_EGRESS;
    b.identity[i] = e.identity;
    b.protocol[i] = e.protocol;
    b.port[i] = e.port;
    b.prefixLength[i] = e.prefixLength;
    b.deny[i] = e.deny ? 1 : 0;
    for (const o of e.origins) b.originPool[b.originCount++] = table.push(o) - 1;
    b.originStart[i + 1] = b.originCount;
  }
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
