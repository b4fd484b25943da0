/**
 * Policy map entries as columns (PolicyColumns): growable while the compiler appends, trimmed at the
 * end; and the object view of an entry (PolicyEntry), built only when a reader asks (the JSON dump,
 * the tables, explain's "decided by").
 */
import { DIR_EGRESS, DIR_INGRESS } from './layout.js';
import type { EbpfProgram, EntryOrigin, PolicyColumns, PolicyEntry } from './program.js';

function grown<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  let size = a.length * 2;
  while (size < need) size *= 2;
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/** Appends rows; `finish` trims the columns to the rows written. */
export class ColumnsBuilder {
  count = 0;
  originCount = 0;
  endpoint = new Int32Array(1024);
  direction = new Uint8Array(1024);
  identity = new Uint32Array(1024);
  protocol = new Uint8Array(1024);
  port = new Uint16Array(1024);
  prefixLength = new Uint8Array(1024);
  deny = new Uint8Array(1024);
  /** originStart[i] for every row written and the end of the last row's origins after it. */
  originStart = new Int32Array(1025);
  originPool = new Int32Array(1024);

  /** Room for `rows` more rows and `origins` more origins. */
  reserve(rows: number, origins: number): void {
    const n = this.count + rows;
    this.endpoint = grown(this.endpoint, n);
    this.direction = grown(this.direction, n);
    this.identity = grown(this.identity, n);
    this.protocol = grown(this.protocol, n);
    this.port = grown(this.port, n);
    this.prefixLength = grown(this.prefixLength, n);
    this.deny = grown(this.deny, n);
    this.originStart = grown(this.originStart, n + 1);
    this.originPool = grown(this.originPool, this.originCount + origins);
  }

  finish(originTable: readonly EntryOrigin[]): PolicyColumns {
    const n = this.count;
    return {
      count: n, endpoint: this.endpoint.slice(0, n), direction: this.direction.slice(0, n), identity: this.identity.slice(0, n),
      protocol: this.protocol.slice(0, n), port: this.port.slice(0, n), prefixLength: this.prefixLength.slice(0, n),
      deny: this.deny.slice(0, n), originStart: this.originStart.slice(0, n + 1), originPool: this.originPool.slice(0, this.originCount),
      originTable,
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
  const b = new ColumnsBuilder();
  const table: EntryOrigin[] = [];
  b.reserve(entries.length, entries.reduce((n, e) => n + e.origins.length, 0));
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
