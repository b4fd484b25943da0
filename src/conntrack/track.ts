/**
 * The per-row API over FlowBatch, in the order the kernel runs it:
 *
 *   track(ct, batch, i)    conntrack in PREROUTING: sets batch.ctState[i], updates an existing entry,
 *                          remembers whether the packet would start a connection;
 *   (the matcher)          the filter table: reads ctState, writes batch.verdict[i];
 *   confirm(ct, batch, i)  __nf_conntrack_confirm as the packet leaves: a new connection is entered only
 *                          if its first packet was accepted; a dropped NEW packet leaves nothing behind.
 *
 * Rows must be tracked and confirmed one at a time, in capture order (a packet's state depends on the
 * confirmation of the packets before it). Time is the rows' capture timestamps. Nothing allocates per row.
 *
 * Later fragments carry no ports and are not filtered on their own (the kernel reassembles first): their
 * verdict is their first fragment's, see `laterFragmentVerdict`.
 */
import type { FlowBatch } from '../wire/flow-batch.js';
import { CtState, RowFlag, Verdict } from '../wire/flow-batch.js';
import { Counter, type Conntrack, ensureRows, makeRoom, Status } from './state.js';
import { findTuple, hashTuple, insertEntry, newerEntry, oldestEntry, tupleOffset, TUPLE_WORDS } from './table.js';
import { formatIp, ipFromWords } from '../model/ip.js';
import { errorGoesToQuotedSender, fragmentKey, isIcmp, packetKey, quotedReverseKey, replyKey } from './keys.js';
import { findFragment, recordFragment } from './fragments.js';
import { markInvalid, trackGeneric, trackIcmpQuery, trackSctp, trackTcp, trackUdp } from './protocols.js';
import { tcpIndex } from './tcp.js';
import { SctpState, TCP_STATE_NAMES, TcpState } from './timeouts.js';

/** `laterFragmentVerdict` for a later fragment whose first fragment was never seen (or has expired). */
export const FRAGMENT_WITHOUT_FIRST = 3;

function setNow(ct: Conntrack, batch: FlowBatch, i: number): void {
  ct.now[0] = batch.tsSec[i]! + batch.tsNsec[i]! * 1e-9;
}

export function track(ct: Conntrack, batch: FlowBatch, i: number): void {
  ensureRows(ct, batch.capacity);
  ct.pending[i] = 0;
  setNow(ct, batch, i);
  const flags = batch.flags[i]!;
  if (batch.family[i] === 0) {
    batch.ctState[i] = CtState.UNTRACKED;
    return;
  }
  if ((flags & RowFlag.LATER_FRAGMENT) !== 0) return trackLaterFragment(ct, batch, i);
  // A truncated or inconsistent transport header: the kernel's protocol error handlers call it INVALID.
  if ((flags & RowFlag.MALFORMED) !== 0) return markInvalid(ct, batch, i);
  if ((flags & RowFlag.ICMP_ERROR) !== 0) return trackIcmpError(ct, batch, i);
  packetKey(ct.key, batch, i);
  const proto = batch.proto[i]!;
  if (proto === 6) trackTcp(ct, batch, i);
  else if (proto === 17 || proto === 136) trackUdp(ct, batch, i);
  else if (isIcmp(proto)) trackIcmpQuery(ct, batch, i);
  else if (proto === 132) trackSctp(ct, batch, i);
  else trackGeneric(ct, batch, i);
}

/**
 * ICMP errors (nf_conntrack_inet_error): RELATED to the connection whose packet they quote, if that
 * connection exists and the error is addressed to the quoted packet's sender; otherwise INVALID.
 * The entry is not refreshed.
 */
function trackIcmpError(ct: Conntrack, batch: FlowBatch, i: number): void {
  quotedReverseKey(ct.key, batch, i);
  const ref = findTuple(ct.table, ct.key, 0, hashTuple(ct.key, 0));
  if (ref < 0 || ct.expires[ref >> 1]! <= ct.now[0]! || !errorGoesToQuotedSender(batch, i)) {
    return markInvalid(ct, batch, i);
  }
  batch.ctState[i] = CtState.RELATED;
  ct.counters[Counter.RELATED]! += 1;
}

function trackLaterFragment(ct: Conntrack, batch: FlowBatch, i: number): void {
  fragmentKey(ct.key, batch, i);
  const slot = findFragment(ct.fragments, ct.key, ct.now[0]!);
  if (slot < 0) {
    batch.ctState[i] = CtState.INVALID;
    ct.fragmentVerdict[i] = FRAGMENT_WITHOUT_FIRST;
    ct.counters[Counter.ORPHAN_FRAGMENTS]! += 1;
    return;
  }
  batch.ctState[i] = ct.fragments.ctState[slot]!;
  ct.fragmentVerdict[i] = ct.fragments.verdict[slot]!;
}

/**
 * The verdict a later fragment follows, after track(): its first fragment's Verdict.ACCEPT or DROP, or
 * FRAGMENT_WITHOUT_FIRST (the kernel could not reassemble it: it is dropped; report it as such).
 */
export function laterFragmentVerdict(ct: Conntrack, i: number): number {
  return ct.fragmentVerdict[i]!;
}

export function confirm(ct: Conntrack, batch: FlowBatch, i: number): void {
  if ((batch.flags[i]! & RowFlag.FIRST_FRAGMENT) !== 0) {
    fragmentKey(ct.key, batch, i);
    recordFragment(ct.fragments, ct.key, batch.verdict[i]!, batch.ctState[i]!, ct.now[0]! + ct.timeouts.fragment);
  }
  const pending = ct.pending[i]!;
  if (pending === 0) return;
  ct.pending[i] = 0;
  if (batch.verdict[i] !== Verdict.ACCEPT) return;
  setNow(ct, batch, i);
  packetKey(ct.key, batch, i);
  if (!replyKey(ct.key)) return;
  // Another row entered the same connection between this row's track() and now (the kernel's clash).
  if (findTuple(ct.table, ct.key, 0, hashTuple(ct.key, 0)) >= 0) {
    ct.counters[Counter.CLASHES]! += 1;
    return;
  }
  makeRoom(ct);
  const e = insertEntry(ct.table, ct.key, 0, ct.key, TUPLE_WORDS);
  initEntry(ct, batch, i, e, pending - 1);
  ct.counters[Counter.INSERTS]! += 1;
}

/** The first packet's effect on its new entry: state, last TCP flag class, first timeout. */
function initEntry(ct: Conntrack, batch: FlowBatch, i: number, e: number, state: number): void {
  const t = ct.timeouts;
  const proto = batch.proto[i]!;
  ct.state[e] = state;
  ct.status[e] = 0;
  ct.lastIndex[e] = proto === 6 ? tcpIndex(batch.tcpFlags[i]!) : 0;
  ct.lastDir[e] = 0;
  ct.streamAt[e] = ct.now[0]! + t.udpStreamAfter;
  let timeout = t.generic;
  if (proto === 6) {
    timeout = t.tcp[state]!;
    // Picked up mid-stream (loose): capped until a reply shows the connection is real.
    if (state === TcpState.ESTABLISHED && timeout > t.tcpUnacknowledged) timeout = t.tcpUnacknowledged;
  } else if (proto === 17 || proto === 136) timeout = t.udpUnreplied;
  else if (proto === 1) timeout = t.icmp;
  else if (proto === 58) timeout = t.icmpv6;
  else if (proto === 132) timeout = state === SctpState.ESTABLISHED ? t.sctpEstablished : t.sctpCookieWait;
  else if (proto === 47) timeout = t.greUnreplied;
  ct.expires[e] = ct.now[0]! + timeout;
}

export interface EntryView {
  /** The protocol state (TcpState for TCP), its TCP name, Status bits, expiry, and the row's direction. */
  state: number;
  tcpState: string | null;
  status: number;
  expires: number;
  direction: 0 | 1;
}

/** The entry the row's tuple belongs to, or null (allocates: for tests, explain and reports). */
export function entryFor(ct: Conntrack, batch: FlowBatch, i: number): EntryView | null {
  packetKey(ct.key, batch, i);
  const ref = findTuple(ct.table, ct.key, 0, hashTuple(ct.key, 0));
  if (ref < 0) return null;
  const e = ref >> 1;
  const state = ct.state[e]!;
  return {
    state, tcpState: batch.proto[i] === 6 ? TCP_STATE_NAMES[state] ?? null : null, status: ct.status[e]!,
    expires: ct.expires[e]!, direction: (ref & 1) as 0 | 1,
  };
}

export interface EntryListing {
  readonly family: 4 | 6;
  readonly proto: number;
  /** The original direction's tuple: addresses as text, ports (for ICMP: the echo id and 0). */
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** TCP state name (as `conntrack -L` prints it), null for other protocols. */
  readonly tcpState: string | null;
  readonly seenReply: boolean;
  readonly assured: boolean;
  readonly expires: number;
}

/** Every entry, least recently refreshed first (allocates: for reports, explain and tests). */
export function listEntries(ct: Conntrack): EntryListing[] {
  const out: EntryListing[] = [];
  const t = ct.table;
  for (let e = oldestEntry(t); e >= 0; e = newerEntry(t, e)) {
    const base = tupleOffset(e, 0);
    const family = (t.tuples[base + 8]! >>> 8) === 6 ? 6 : 4;
    const proto = t.tuples[base + 8]! & 0xff;
    const ports = t.tuples[base + 9]!;
    const icmp = proto === 1 || proto === 58;
    out.push({
      family, proto, src: formatIp(ipFromWords(family, t.tuples, base)), dst: formatIp(ipFromWords(family, t.tuples, base + 4)),
      sport: ports >>> 16, dport: icmp ? 0 : ports & 0xffff, tcpState: proto === 6 ? TCP_STATE_NAMES[ct.state[e]!] ?? null : null,
      seenReply: (ct.status[e]! & Status.SEEN_REPLY) !== 0, assured: (ct.status[e]! & Status.ASSURED) !== 0, expires: ct.expires[e]!,
    });
  }
  return out;
}
