/**
 * Per-protocol states and the kernel's default timeouts, in seconds of capture time.
 *
 * Values are Linux's defaults (net/netfilter/nf_conntrack_proto_{tcp,udp,icmp,icmpv6,sctp,generic}.c,
 * as of 6.x); every one can be overridden per table (`ConntrackOptions.timeouts`), as the
 * net.netfilter.nf_conntrack_*_timeout_* sysctls override the kernel's.
 */

/** TCP states in the kernel's order (enum tcp_conntrack): the columns of its transition table. */
export const TcpState = {
  NONE: 0, SYN_SENT: 1, SYN_RECV: 2, ESTABLISHED: 3, FIN_WAIT: 4, CLOSE_WAIT: 5, LAST_ACK: 6,
  TIME_WAIT: 7, CLOSE: 8, SYN_SENT2: 9,
} as const;

export const TCP_STATE_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;

/** SCTP, simplified to the two states the batch can tell apart (see track.ts): waiting for a reply, and up. */
export const SctpState = { COOKIE_WAIT: 1, ESTABLISHED: 4 } as const;

export interface Timeouts {
  /** Indexed by TcpState: SYN_SENT 2 min, SYN_RECV 60 s, ESTABLISHED 5 days, FIN_WAIT 2 min, CLOSE_WAIT 60 s,
   *  LAST_ACK 30 s, TIME_WAIT 2 min, CLOSE 10 s, SYN_SENT2 2 min. */
  tcp: readonly number[];
  /** nf_conntrack_tcp_timeout_unacknowledged: caps ESTABLISHED of a picked-up connection with no reply yet. */
  tcpUnacknowledged: number;
  /** UDP before a reply, and once a stream (replied and older than 2 s) is assured. */
  udpUnreplied: number;
  udpReplied: number;
  /** How long a UDP flow must live with replies before it counts as a stream (kernel: 2 s). */
  udpStreamAfter: number;
  icmp: number;
  icmpv6: number;
  generic: number;
  /** GRE before and after a reply (nf_conntrack_proto_gre.c: 30 s and 180 s). */
  greUnreplied: number;
  greReplied: number;
  /** SCTP COOKIE_WAIT (3 s) and ESTABLISHED (210 s since Linux 5.x). */
  sctpCookieWait: number;
  sctpEstablished: number;
  /** How long a first fragment's verdict waits for later fragments (net.ipv4.ipfrag_time, 30 s). */
  fragment: number;
}

const MINUTE = 60;
const DAY = 24 * 60 * MINUTE;

export const DEFAULT_TIMEOUTS: Timeouts = {
  tcp: [0, 2 * MINUTE, 60, 5 * DAY, 2 * MINUTE, 60, 30, 2 * MINUTE, 10, 2 * MINUTE],
  tcpUnacknowledged: 5 * MINUTE,
  udpUnreplied: 30,
  udpReplied: 120,
  udpStreamAfter: 2,
  icmp: 30,
  icmpv6: 30,
  generic: 600,
  greUnreplied: 30,
  greReplied: 180,
  sctpCookieWait: 3,
  sctpEstablished: 210,
  fragment: 30,
};
