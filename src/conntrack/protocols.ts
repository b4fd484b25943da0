/**
 * Per-protocol handling of a packet whose tuple is in ct.key (words 0-9). Each handler sets the row's
 * ctState and, for a packet that would start a connection, ct.pending[i] (the entry is created by
 * confirm() only if the matcher accepts the packet, as the kernel confirms a conntrack entry only when
 * its first packet leaves the stack). Changes to existing entries happen here, at once and whatever the
 * verdict, as the kernel updates them in PREROUTING, before the filter table sees the packet.
 */
import type { FlowBatch } from '../wire/flow-batch.js';
import { CtState } from '../wire/flow-batch.js';
import { Counter, type Conntrack, Status, deleteEntry, lookup, refresh } from './state.js';
import { TCP_IGNORE, TCP_INVALID, TcpIndex, tcpFlagsValid, tcpIndex, tcpNextState } from './tcp.js';
import { SctpState, TcpState } from './timeouts.js';
import { inverseIcmpType } from './keys.js';

export function markInvalid(ct: Conntrack, batch: FlowBatch, i: number): void {
  batch.ctState[i] = CtState.INVALID;
  ct.counters[Counter.INVALID]! += 1;
}

/** The state a packet of an existing entry gets (resolve_normal_ct's ctinfo): reply direction, or a reply seen. */
function existingState(ct: Conntrack, e: number, dir: number): number {
  return dir === 1 || (ct.status[e]! & Status.SEEN_REPLY) !== 0 ? CtState.ESTABLISHED : CtState.NEW;
}

/** After a handler accepted a packet: a reply-direction packet sets SEEN_REPLY (nf_conntrack_in). */
function seen(ct: Conntrack, e: number, dir: number): void {
  if (dir === 1) ct.status[e]! |= Status.SEEN_REPLY;
}

function wantNew(ct: Conntrack, batch: FlowBatch, i: number, state: number): void {
  batch.ctState[i] = CtState.NEW;
  ct.pending[i] = 1 + state;
}

export function trackTcp(ct: Conntrack, batch: FlowBatch, i: number): void {
  const flags = batch.tcpFlags[i]!;
  // tcp_error: an impossible flag combination is INVALID whether or not a connection exists.
  if (!tcpFlagsValid(flags)) return markInvalid(ct, batch, i);
  const index = tcpIndex(flags);
  const ref = lookup(ct);
  if (ref >= 0 && tcpExisting(ct, batch, i, ref, index)) return;
  // tcp_new: only a SYN (-> SYN_SENT) or, with nf_conntrack_tcp_loose=1, an ACK (-> ESTABLISHED, picked up
  // mid-stream) may start a connection; a lone SYN-ACK, RST or FIN is INVALID.
  const next = tcpNextState(0, index, TcpState.NONE);
  if (next === TCP_INVALID) return markInvalid(ct, batch, i);
  wantNew(ct, batch, i, next);
}

/** Returns false when the entry was deleted so that the packet starts a new connection (-NF_REPEAT). */
function tcpExisting(ct: Conntrack, batch: FlowBatch, i: number, ref: number, index: number): boolean {
  const e = ref >> 1;
  const dir = ref & 1;
  let old = ct.state[e]!;
  let next = tcpNextState(dir, index, old);
  if (next === TcpState.SYN_SENT && old >= TcpState.TIME_WAIT) {
    // A SYN on a closed connection reopens it if a FIN closed it, or if this side's last packet was a RST.
    if ((ct.status[e]! & Status.CLOSE_INIT) !== 0 || (ct.lastDir[e] === dir && ct.lastIndex[e] === TcpIndex.RST)) {
      deleteEntry(ct, e);
      return false;
    }
    next = TCP_IGNORE;
  }
  batch.ctState[i] = existingState(ct, e, dir);
  if (next === TCP_IGNORE) {
    // A SYN-ACK answering a SYN the tracker ignored: both ends are in sync, so follow them (the kernel
    // also compares the ACK number with the ignored SYN's end; sequence numbers are not tracked here).
    if (!(index === TcpIndex.SYNACK && ct.lastIndex[e] === TcpIndex.SYN && ct.lastDir[e] !== dir)) {
      ct.lastIndex[e] = index;
      ct.lastDir[e] = dir;
      seen(ct, e, dir);
      return true;
    }
    old = TcpState.SYN_SENT;
    next = TcpState.SYN_RECV;
  }
  if (next === TCP_INVALID) {
    markInvalid(ct, batch, i);
    return true;
  }
  tcpUpdate(ct, e, dir, index, old, next);
  return true;
}

/** The in-window part of nf_conntrack_tcp_packet: new state, CLOSE_INIT, ASSURED, timeout. */
function tcpUpdate(ct: Conntrack, e: number, dir: number, index: number, old: number, next: number): void {
  const t = ct.timeouts;
  ct.lastIndex[e] = index;
  ct.lastDir[e] = dir;
  ct.state[e] = next;
  if (old !== next && next === TcpState.FIN_WAIT) ct.status[e]! |= Status.CLOSE_INIT;
  let timeout = index === TcpIndex.RST ? t.tcp[TcpState.CLOSE]! : t.tcp[next]!;
  if ((ct.status[e]! & Status.SEEN_REPLY) === 0) {
    // "If only reply is a RST, we can consider ourselves not to have an established connection."
    if (index === TcpIndex.RST) return deleteEntry(ct, e);
    // A retransmitted SYN does not renew the timeout.
    if (index === TcpIndex.SYN && old === TcpState.SYN_SENT) return seen(ct, e, dir);
    // Picked up mid-stream with no reply yet: no 5-day ESTABLISHED timeout.
    if (next === TcpState.ESTABLISHED && timeout > t.tcpUnacknowledged) timeout = t.tcpUnacknowledged;
  } else if ((ct.status[e]! & Status.ASSURED) === 0 && (old === TcpState.SYN_RECV || old === TcpState.ESTABLISHED)
    && next === TcpState.ESTABLISHED) {
    ct.status[e]! |= Status.ASSURED;
  }
  refresh(ct, e, timeout);
  seen(ct, e, dir);
}

/**
 * UDP (nf_conntrack_proto_udp.c): 30 s until a reply; once replies were seen and the flow is older than
 * 2 s it is a stream: 120 s and ASSURED.
 */
export function trackUdp(ct: Conntrack, batch: FlowBatch, i: number): void {
  const ref = lookup(ct);
  if (ref < 0) return wantNew(ct, batch, i, 0);
  const e = ref >> 1;
  const dir = ref & 1;
  batch.ctState[i] = existingState(ct, e, dir);
  const t = ct.timeouts;
  if ((ct.status[e]! & Status.SEEN_REPLY) !== 0 && ct.now[0]! > ct.streamAt[e]!) {
    ct.status[e]! |= Status.ASSURED;
    refresh(ct, e, t.udpReplied);
  } else {
    refresh(ct, e, t.udpUnreplied);
  }
  seen(ct, e, dir);
}

/**
 * ICMP and ICMPv6 queries (nf_conntrack_proto_icmp.c / icmpv6.c): only a request the kernel lists as
 * able to start a connection (echo, timestamp, info, address mask; ICMPv6 echo and node information)
 * creates one; anything else without an entry (an echo reply with no request) is INVALID.
 */
export function trackIcmpQuery(ct: Conntrack, batch: FlowBatch, i: number): void {
  const ref = lookup(ct);
  const v6 = batch.proto[i] === 58;
  const timeout = v6 ? ct.timeouts.icmpv6 : ct.timeouts.icmp;
  if (ref >= 0) {
    const e = ref >> 1;
    batch.ctState[i] = existingState(ct, e, ref & 1);
    refresh(ct, e, timeout);
    return seen(ct, e, ref & 1);
  }
  const type = batch.icmpType[i]!;
  const startsConnection = v6 ? type === 128 || type === 139 : type === 8 || type === 13 || type === 15 || type === 17;
  if (!startsConnection || inverseIcmpType(v6, type) === 0) return markInvalid(ct, batch, i);
  wantNew(ct, batch, i, 0);
}

/**
 * SCTP (nf_conntrack_proto_sctp.c), simplified: only INIT, HEARTBEAT, HEARTBEAT-ACK and SHUTDOWN-ACK may
 * start an association (anything else without an entry is INVALID: the kernel refuses out-of-the-blue
 * packets, as the oracle confirms); a row whose chunk type was not decoded is taken as an INIT. After
 * that, COOKIE_WAIT (3 s) until a reply brings it up (ESTABLISHED, 210 s). Verification tags and the
 * per-chunk transitions of an existing association are not modelled.
 */
export function trackSctp(ct: Conntrack, batch: FlowBatch, i: number): void {
  const ref = lookup(ct);
  if (ref < 0) {
    const chunk = batch.sctpChunk[i]! - 1;
    const startsAssociation = chunk < 0 || chunk === 1 || chunk === 4 || chunk === 5 || chunk === 8;
    return startsAssociation ? wantNew(ct, batch, i, SctpState.COOKIE_WAIT) : markInvalid(ct, batch, i);
  }
  const e = ref >> 1;
  const dir = ref & 1;
  batch.ctState[i] = existingState(ct, e, dir);
  if (dir === 1 || ct.state[e] === SctpState.ESTABLISHED) {
    ct.state[e] = SctpState.ESTABLISHED;
    ct.status[e]! |= Status.ASSURED;
    refresh(ct, e, ct.timeouts.sctpEstablished);
  } else {
    refresh(ct, e, ct.timeouts.sctpCookieWait);
  }
  seen(ct, e, dir);
}

/**
 * GRE (nf_conntrack_proto_gre.c; version 0 has no key, so addresses alone) and any other protocol
 * (nf_conntrack_proto_generic.c): NEW until a reply, then ESTABLISHED. Timeouts: GRE 30 s unreplied and
 * 180 s replied, generic 600 s.
 */
export function trackGeneric(ct: Conntrack, batch: FlowBatch, i: number): void {
  const ref = lookup(ct);
  if (ref < 0) return wantNew(ct, batch, i, 0);
  const e = ref >> 1;
  const dir = ref & 1;
  batch.ctState[i] = existingState(ct, e, dir);
  const t = ct.timeouts;
  const gre = batch.proto[i] === 47;
  // As gre_packet: the reply timeout (and ASSURED) once a reply was seen before this packet.
  const replied = (ct.status[e]! & Status.SEEN_REPLY) !== 0;
  refresh(ct, e, !gre ? t.generic : replied ? t.greReplied : t.greUnreplied);
  if (gre && replied) ct.status[e]! |= Status.ASSURED;
  seen(ct, e, dir);
}
