/**
 * The kernel's TCP conntrack transition table (nf_conntrack_proto_tcp.c, `tcp_conntracks`, as of Linux
 * 6.x), rewritten as data: for a direction, the packet's flag class and the current state, the next state.
 * Two pseudo-states: IGNORE (the packet passes with the entry untouched) and INVALID.
 *
 * Window tracking is not modelled: the kernel oracle runs with nf_conntrack_tcp_be_liberal=1, and the
 * simulator takes every segment as in window (RSTs included).
 */
import { TcpState } from './timeouts.js';

export const TCP_IGNORE = 10;
export const TCP_INVALID = 11;

/** Flag classes, in the kernel's order (enum tcp_bit_set): the rows of the table. */
export const TcpIndex = { SYN: 0, SYNACK: 1, FIN: 2, ACK: 3, RST: 4, NONE: 5 } as const;

/** The kernel's get_conntrack_index: RST wins, then SYN (with or without ACK), then FIN, then ACK. */
export function tcpIndex(flags: number): number {
  if (flags & 0x04) return TcpIndex.RST;
  if (flags & 0x02) return flags & 0x10 ? TcpIndex.SYNACK : TcpIndex.SYN;
  if (flags & 0x01) return TcpIndex.FIN;
  if (flags & 0x10) return TcpIndex.ACK;
  return TcpIndex.NONE;
}

/**
 * tcp_error's check: after masking ECE, CWR and PSH, only these flag combinations are valid; any other
 * (a lone FIN, SYN+FIN, SYN+RST, no flags at all, ...) makes the packet INVALID whatever the entry says.
 */
const VALID_FLAGS = new Uint8Array(64);
for (const f of [0x02, 0x22, 0x12, 0x04, 0x14, 0x11, 0x31, 0x10, 0x30]) VALID_FLAGS[f] = 1;

export function tcpFlagsValid(flags: number): boolean {
  return VALID_FLAGS[flags & 0x37]! === 1; // 0x37: FIN, SYN, RST, ACK, URG (ECE, CWR, PSH masked)
}

const { SYN_SENT: sSS, SYN_RECV: sSR, ESTABLISHED: sES, FIN_WAIT: sFW, CLOSE_WAIT: sCW, LAST_ACK: sLA,
  TIME_WAIT: sTW, CLOSE: sCL, SYN_SENT2: sS2 } = TcpState;
const sIG = TCP_IGNORE;
const sIV = TCP_INVALID;

// Rows: flag class; columns: NONE, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK,
// TIME_WAIT, CLOSE, SYN_SENT2. Same content as the kernel's table; the comments there explain each cell.
const ORIGINAL: readonly (readonly number[])[] = [
  /* syn    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
  /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];
const REPLY: readonly (readonly number[])[] = [
  /* syn    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
  /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];

/** The table flattened: [direction * 60 + index * 10 + state]. */
const TABLE = new Uint8Array(120);
for (let index = 0; index < 6; index++) {
  for (let state = 0; state < 10; state++) {
    TABLE[index * 10 + state] = ORIGINAL[index]![state]!;
    TABLE[60 + index * 10 + state] = REPLY[index]![state]!;
  }
}

/** Next state for a packet of flag class `index` in direction `dir` (0 original, 1 reply) from `state`. */
export function tcpNextState(dir: number, index: number, state: number): number {
  return TABLE[dir * 60 + index * 10 + state]!;
}
