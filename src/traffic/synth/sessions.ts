/**
 * The conversations synthetic traffic is made of, as step scripts: which side sends each packet and
 * what it is. A session is one conversation of one planned flow; the generator interleaves many.
 *
 * Scripts follow what a capture next to a pod shows. An allowed TCP connection: handshake, a request,
 * a reply, and the FIN exchange. A denied one: the SYN and its retransmissions (nothing answers a
 * dropped SYN). UDP: a request and its answer, or the request retried when denied, or now and then an
 * ICMP port unreachable quoting the request (RELATED traffic). SCTP: the four-way handshake (RFC 9260
 * 5.1), one DATA with its SACK, and the shutdown. ICMP: two echo exchanges, or unanswered requests.
 */

export const Kind = {
  TCP_OK: 0, TCP_DENIED: 1, UDP_OK: 2, UDP_UNREACH: 3, UDP_DENIED: 4,
  SCTP_OK: 5, SCTP_DENIED: 6, ICMP_OK: 7, ICMP_DENIED: 8,
} as const;

/** Step kinds (what the packet is). */
export const Step = {
  SYN: 0, SYN_ACK: 1, ACK: 2, DATA_C: 3, DATA_S: 4, FIN_C: 5, FIN_S: 6, LAST_ACK: 7,
  UDP_REQ: 8, UDP_RESP: 9, PORT_UNREACH: 10,
  INIT: 11, INIT_ACK: 12, COOKIE_ECHO: 13, COOKIE_ACK: 14, SCTP_DATA: 15, SACK: 16,
  SHUTDOWN: 17, SHUTDOWN_ACK: 18, SHUTDOWN_COMPLETE: 19,
  ECHO_REQ: 20, ECHO_REPLY: 21,
} as const;

const S = Step;
const SCRIPTS: readonly (readonly number[])[] = [
  [S.SYN, S.SYN_ACK, S.ACK, S.DATA_C, S.DATA_S, S.FIN_C, S.FIN_S, S.LAST_ACK],
  [S.SYN, S.SYN, S.SYN],
  [S.UDP_REQ, S.UDP_RESP],
  [S.UDP_REQ, S.PORT_UNREACH],
  [S.UDP_REQ, S.UDP_REQ],
  [S.INIT, S.INIT_ACK, S.COOKIE_ECHO, S.COOKIE_ACK, S.SCTP_DATA, S.SACK, S.SHUTDOWN, S.SHUTDOWN_ACK, S.SHUTDOWN_COMPLETE],
  [S.INIT, S.INIT],
  [S.ECHO_REQ, S.ECHO_REPLY, S.ECHO_REQ, S.ECHO_REPLY],
  [S.ECHO_REQ, S.ECHO_REQ],
];

/** Steps sent by the server (the flow's destination); every other step is the client's. */
const FROM_SERVER = new Set<number>([
  S.SYN_ACK, S.DATA_S, S.FIN_S, S.UDP_RESP, S.PORT_UNREACH, S.INIT_ACK, S.COOKIE_ACK, S.SACK,
  S.SHUTDOWN_ACK, S.ECHO_REPLY,
]);

/** Flattened scripts: `SCRIPT_STEPS[SCRIPT_START[kind] + i]`, `SCRIPT_LENGTH[kind]` steps. */
export const SCRIPT_START = new Uint16Array(SCRIPTS.length);
export const SCRIPT_LENGTH = new Uint8Array(SCRIPTS.length);
export const SCRIPT_STEPS = new Uint8Array(SCRIPTS.reduce((n, s) => n + s.length, 0));
/** 1 when the step is sent by the server. */
export const STEP_FROM_SERVER = new Uint8Array(22);

{
  let at = 0;
  SCRIPTS.forEach((script, kind) => {
    SCRIPT_START[kind] = at;
    SCRIPT_LENGTH[kind] = script.length;
    for (const step of script) SCRIPT_STEPS[at++] = step;
  });
  for (const step of FROM_SERVER) STEP_FROM_SERVER[step] = 1;
}
