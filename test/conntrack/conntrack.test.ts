import { beforeEach, describe, expect, it } from 'vitest';
import { CtState, FlowBatch, RowFlag, Verdict } from '../../src/wire/flow-batch.js';
import {
  conntrackStats, entryFor, FRAGMENT_WITHOUT_FIRST, laterFragmentVerdict, listEntries, newConntrack, Status, track, confirm,
  type Conntrack,
} from '../../src/conntrack/index.js';
import { fillRow, step, type Pkt } from './support/rows.js';

const { NEW, ESTABLISHED, RELATED, INVALID } = CtState;
const C = '10.0.0.1';
const S = '10.0.0.2';
const out = (tcp: string, t = 0, extra: Partial<Pkt> = {}): Pkt => ({ src: C, dst: S, sport: 40000, dport: 80, tcp, t, ...extra });
const back = (tcp: string, t = 0, extra: Partial<Pkt> = {}): Pkt => ({ src: S, dst: C, sport: 80, dport: 40000, tcp, t, ...extra });

let ct: Conntrack;
let b: FlowBatch;
beforeEach(() => {
  ct = newConntrack({ capacity: 64 });
  b = new FlowBatch(4);
});

function tcpStateOf(p: Pkt): string | null {
  fillRow(b, 3, p);
  return entryFor(ct, b, 3)?.tcpState ?? null;
}

function handshake(t = 0): void {
  expect(step(ct, b, out('S', t))).toBe(NEW);
  expect(step(ct, b, back('SA', t))).toBe(ESTABLISHED);
  expect(step(ct, b, out('A', t))).toBe(ESTABLISHED);
}

describe('TCP: opening', () => {
  it('a SYN is NEW and, once accepted, leaves an entry in SYN_SENT', () => {
    expect(step(ct, b, out('S'))).toBe(NEW);
    expect(tcpStateOf(out('S'))).toBe('SYN_SENT');
    expect(conntrackStats(ct)).toMatchObject({ entries: 1, inserts: 1 });
  });

  it('a dropped SYN leaves no entry, so its SYN-ACK reply is INVALID', () => {
    expect(step(ct, b, out('S'), false)).toBe(NEW);
    expect(conntrackStats(ct).entries).toBe(0);
    expect(step(ct, b, back('SA'))).toBe(INVALID);
  });

  it('the SYN-ACK reply is ESTABLISHED and moves the entry to SYN_RECV', () => {
    step(ct, b, out('S'));
    expect(step(ct, b, back('SA'))).toBe(ESTABLISHED);
    expect(tcpStateOf(out('A'))).toBe('SYN_RECV');
  });

  it('the final ACK of the handshake is ESTABLISHED; the entry is ESTABLISHED and ASSURED', () => {
    handshake();
    expect(tcpStateOf(out('A'))).toBe('ESTABLISHED');
    fillRow(b, 3, out('A'));
    expect(entryFor(ct, b, 3)!.status & Status.ASSURED).toBe(Status.ASSURED);
  });

  it('a retransmitted SYN before any reply is still NEW (no reply seen yet)', () => {
    step(ct, b, out('S'));
    expect(step(ct, b, out('S', 1))).toBe(NEW);
    expect(conntrackStats(ct).inserts).toBe(1);
  });

  it('a retransmitted SYN does not renew the SYN_SENT timeout', () => {
    step(ct, b, out('S', 0));
    step(ct, b, out('S', 100));
    // 120 s after the first SYN the entry is gone: the SYN-ACK finds nothing and is INVALID.
    expect(step(ct, b, back('SA', 121))).toBe(INVALID);
  });

  it('a first packet that is only a SYN-ACK is INVALID and creates nothing', () => {
    expect(step(ct, b, out('SA'))).toBe(INVALID);
    expect(conntrackStats(ct)).toMatchObject({ entries: 0, invalid: 1 });
  });

  it('a first packet that is only a RST (or RST+ACK) is INVALID', () => {
    expect(step(ct, b, out('R'))).toBe(INVALID);
    expect(step(ct, b, out('RA'))).toBe(INVALID);
    expect(conntrackStats(ct).entries).toBe(0);
  });

  it('a first packet FIN+ACK is INVALID (too late to pick up)', () => {
    expect(step(ct, b, out('FA'))).toBe(INVALID);
  });

  it('a lone ACK with no entry is NEW (loose pickup) and creates an ESTABLISHED entry capped at 300 s', () => {
    expect(step(ct, b, out('A'))).toBe(NEW);
    expect(tcpStateOf(out('A'))).toBe('ESTABLISHED');
    fillRow(b, 3, out('A'));
    expect(entryFor(ct, b, 3)!.expires - 1_700_000_000).toBeCloseTo(300, 6);
    expect(step(ct, b, back('A', 1))).toBe(ESTABLISHED);
  });

  it('a PSH+ACK with data and no entry is also picked up as NEW', () => {
    expect(step(ct, b, out('PA'))).toBe(NEW);
  });

  for (const [flags, name] of [['SF', 'SYN+FIN'], ['SR', 'SYN+RST'], ['', 'no flags'], ['F', 'a lone FIN'], ['FPU', 'FIN+PSH+URG']] as const) {
    it(`${name} is INVALID even on an established connection`, () => {
      handshake();
      expect(step(ct, b, out(flags, 1))).toBe(INVALID);
      expect(tcpStateOf(out('A'))).toBe('ESTABLISHED');
    });
  }

  it('an ACK from the client while in SYN_SENT is INVALID', () => {
    step(ct, b, out('S'));
    expect(step(ct, b, out('A'))).toBe(INVALID);
  });

  it('a SYN-ACK sent by the client on an established connection is INVALID', () => {
    handshake();
    expect(step(ct, b, out('SA', 1))).toBe(INVALID);
  });

  it('a SYN on an established connection is ignored: passes as ESTABLISHED, state unchanged', () => {
    handshake();
    expect(step(ct, b, out('S', 1))).toBe(ESTABLISHED);
    expect(tcpStateOf(out('A'))).toBe('ESTABLISHED');
  });

  it('a SYN from the server side on an established connection is INVALID', () => {
    handshake();
    expect(step(ct, b, back('S', 1))).toBe(INVALID);
  });

  it('a simultaneous open (SYN answered by SYN) goes through SYN_SENT2', () => {
    step(ct, b, out('S'));
    expect(step(ct, b, back('S'))).toBe(ESTABLISHED);
    expect(tcpStateOf(out('A'))).toBe('SYN_SENT2');
  });

  it('a SYN-ACK in a simultaneous open moves SYN_SENT2 to SYN_RECV', () => {
    step(ct, b, out('S'));
    step(ct, b, back('S'));
    expect(step(ct, b, out('SA'))).toBe(ESTABLISHED);
    expect(tcpStateOf(out('A'))).toBe('SYN_RECV');
  });

  it('a SYN-ACK answering a SYN the tracker ignored resynchronises the entry to SYN_RECV', () => {
    handshake();
    expect(step(ct, b, out('S', 1))).toBe(ESTABLISHED);
    expect(step(ct, b, back('SA', 1))).toBe(ESTABLISHED);
    expect(tcpStateOf(out('A'))).toBe('SYN_RECV');
  });

  it('a reply-direction RST before any reply deletes the entry; the RST itself is ESTABLISHED', () => {
    step(ct, b, out('S'));
    expect(step(ct, b, back('RA'))).toBe(ESTABLISHED);
    expect(conntrackStats(ct)).toMatchObject({ entries: 0, deletes: 1 });
  });

  it('an existing entry is updated even when the filter drops the packet (conntrack runs first)', () => {
    step(ct, b, out('S'));
    step(ct, b, back('SA'), false);
    expect(tcpStateOf(out('A'))).toBe('SYN_RECV');
  });
});

describe('TCP: closing and timeouts', () => {
  it('FIN, ACK, FIN, ACK walk FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT; TIME_WAIT lasts 120 s', () => {
    handshake();
    expect(step(ct, b, out('FA', 1))).toBe(ESTABLISHED);
    expect(tcpStateOf(out('A'))).toBe('FIN_WAIT');
    step(ct, b, back('A', 1));
    expect(tcpStateOf(out('A'))).toBe('CLOSE_WAIT');
    step(ct, b, back('FA', 1));
    expect(tcpStateOf(out('A'))).toBe('LAST_ACK');
    step(ct, b, out('A', 1));
    expect(tcpStateOf(out('A'))).toBe('TIME_WAIT');
    fillRow(b, 3, out('A'));
    expect(entryFor(ct, b, 3)!.expires - 1_700_000_000).toBeCloseTo(121, 6);
  });

  it('a retransmitted FIN stays in LAST_ACK and a retransmitted last ACK stays in TIME_WAIT', () => {
    handshake();
    step(ct, b, out('FA', 1)); step(ct, b, back('FA', 1));
    step(ct, b, back('FA', 1));
    expect(tcpStateOf(out('A'))).toBe('LAST_ACK');
    step(ct, b, out('A', 1)); step(ct, b, out('A', 1));
    expect(tcpStateOf(out('A'))).toBe('TIME_WAIT');
  });

  it('a SYN from the server side on a connection in TIME_WAIT reopens it (the server may switch roles)', () => {
    handshake();
    step(ct, b, out('FA', 1)); step(ct, b, back('FA', 1)); step(ct, b, out('A', 1));
    expect(step(ct, b, back('S', 2))).toBe(NEW);
    expect(tcpStateOf(back('S'))).toBe('SYN_SENT');
  });

  it('FIN seen from both sides before ACKs goes FIN_WAIT -> LAST_ACK', () => {
    handshake();
    step(ct, b, out('FA', 1));
    step(ct, b, back('FA', 1));
    expect(tcpStateOf(out('A'))).toBe('LAST_ACK');
  });

  it('a new SYN on a connection in TIME_WAIT (closed by FIN) reopens it as NEW in SYN_SENT', () => {
    handshake();
    step(ct, b, out('FA', 1)); step(ct, b, back('FA', 1)); step(ct, b, out('A', 1));
    expect(step(ct, b, out('S', 2))).toBe(NEW);
    expect(tcpStateOf(out('S'))).toBe('SYN_SENT');
    expect(conntrackStats(ct)).toMatchObject({ deletes: 1, inserts: 2 });
  });

  it('a packet in CLOSE refreshes the 10 s CLOSE timeout', () => {
    handshake();
    step(ct, b, back('R', 1));
    expect(step(ct, b, out('A', 10))).toBe(ESTABLISHED);
    expect(step(ct, b, out('A', 19))).toBe(ESTABLISHED);
  });

  it('a RST on an established connection moves it to CLOSE, which expires after 10 s', () => {
    handshake();
    expect(step(ct, b, back('R', 1))).toBe(ESTABLISHED);
    expect(tcpStateOf(out('A'))).toBe('CLOSE');
    // Past the CLOSE timeout the entry is gone: a lone ACK is picked up as NEW again.
    expect(step(ct, b, out('A', 11.5))).toBe(NEW);
    expect(conntrackStats(ct).expirations).toBe(1);
  });

  it('a SYN after the client itself reset the connection reopens it', () => {
    handshake();
    step(ct, b, out('R', 1));
    expect(step(ct, b, out('S', 2))).toBe(NEW);
  });

  it('an ESTABLISHED connection outlives four days of silence (timeout 5 days)', () => {
    handshake();
    expect(step(ct, b, out('A', 4 * 86_400))).toBe(ESTABLISHED);
    expect(step(ct, b, out('A', 9.5 * 86_400))).toBe(NEW);
  });
});

describe('UDP', () => {
  const q = (t: number): Pkt => ({ src: C, dst: S, proto: 17, sport: 5353, dport: 53, t });
  const r = (t: number): Pkt => ({ src: S, dst: C, proto: 17, sport: 53, dport: 5353, t });

  it('the first packet is NEW, a second one before any reply is still NEW, the reply is ESTABLISHED, then all are', () => {
    expect(step(ct, b, q(0))).toBe(NEW);
    expect(step(ct, b, q(0.1))).toBe(NEW);
    expect(step(ct, b, r(0.2))).toBe(ESTABLISHED);
    expect(step(ct, b, q(0.3))).toBe(ESTABLISHED);
  });

  it('a reply to a dropped request is NEW (no entry), and creates its own entry in the other direction', () => {
    step(ct, b, q(0), false);
    expect(step(ct, b, r(0.1))).toBe(NEW);
    expect(step(ct, b, q(0.2))).toBe(ESTABLISHED);
  });

  it('an unreplied flow expires after 30 s', () => {
    step(ct, b, q(0));
    expect(step(ct, b, q(29))).toBe(NEW);
    expect(step(ct, b, r(58.5))).toBe(ESTABLISHED);
    expect(step(ct, b, r(100))).toBe(NEW);
    expect(conntrackStats(ct).expirations).toBe(1);
  });

  it('a replied flow younger than 2 s keeps 30 s; older than 2 s it is an ASSURED stream with 120 s', () => {
    step(ct, b, q(0));
    step(ct, b, r(0.5));
    step(ct, b, q(1));
    fillRow(b, 3, q(1));
    expect(entryFor(ct, b, 3)!.status & Status.ASSURED).toBe(0);
    step(ct, b, q(3));
    expect(entryFor(ct, b, 3)!.status & Status.ASSURED).toBe(Status.ASSURED);
    expect(step(ct, b, r(3 + 119))).toBe(ESTABLISHED);
    expect(step(ct, b, r(122 + 121))).toBe(NEW);
  });
});

describe('ICMP', () => {
  const req = (t = 0, id = 7): Pkt => ({ src: C, dst: S, proto: 1, icmpType: 8, id, t });
  const rep = (t = 0, id = 7): Pkt => ({ src: S, dst: C, proto: 1, icmpType: 0, id, t });

  it('an echo request is NEW and its reply ESTABLISHED', () => {
    expect(step(ct, b, req())).toBe(NEW);
    expect(step(ct, b, rep())).toBe(ESTABLISHED);
    expect(step(ct, b, req(1))).toBe(ESTABLISHED);
  });

  it('an echo reply without a request is INVALID', () => {
    expect(step(ct, b, rep())).toBe(INVALID);
    expect(conntrackStats(ct)).toMatchObject({ entries: 0, invalid: 1 });
  });

  it('an echo reply with another id is INVALID', () => {
    step(ct, b, req(0, 7));
    expect(step(ct, b, rep(0, 8))).toBe(INVALID);
  });

  it('an echo request from the other side with the same id is a separate NEW connection', () => {
    step(ct, b, req());
    expect(step(ct, b, { src: S, dst: C, proto: 1, icmpType: 8, id: 7 })).toBe(NEW);
  });

  it('an ICMP entry expires after 30 s', () => {
    step(ct, b, req(0));
    expect(step(ct, b, rep(31))).toBe(INVALID);
  });

  it('a destination-unreachable (not a query) without an entry and not quoting anything is INVALID', () => {
    expect(step(ct, b, { src: C, dst: S, proto: 1, icmpType: 9 })).toBe(INVALID);
  });

  it('ICMPv6 echo request is NEW, its reply ESTABLISHED, a lone reply INVALID', () => {
    expect(step(ct, b, { src: 'fd00::1', dst: 'fd00::2', proto: 58, icmpType: 128, id: 3 })).toBe(NEW);
    expect(step(ct, b, { src: 'fd00::2', dst: 'fd00::1', proto: 58, icmpType: 129, id: 3 })).toBe(ESTABLISHED);
    expect(step(ct, b, { src: 'fd00::2', dst: 'fd00::1', proto: 58, icmpType: 129, id: 4 })).toBe(INVALID);
  });
});

describe('ICMP errors: RELATED', () => {
  const quoting = (src: string, dst: string, inner: Pkt['inner'], type = 3): Pkt => ({ src, dst, proto: 1, icmpType: type, inner });
  const tcpInner = { src: C, dst: S, proto: 6, sport: 40000, dport: 80 };

  it('an error from the server quoting a tracked TCP packet is RELATED', () => {
    handshake();
    expect(step(ct, b, quoting(S, C, tcpInner))).toBe(RELATED);
    expect(conntrackStats(ct).related).toBe(1);
  });

  it('an error from a router on the path (another source) is RELATED too', () => {
    handshake();
    expect(step(ct, b, quoting('192.0.2.1', C, tcpInner, 11))).toBe(RELATED);
  });

  it('an error quoting the server\'s reply, sent to the server, is RELATED', () => {
    handshake();
    expect(step(ct, b, quoting(C, S, { src: S, dst: C, proto: 6, sport: 80, dport: 40000 }))).toBe(RELATED);
  });

  it('an error quoting a flow that is not tracked is INVALID', () => {
    expect(step(ct, b, quoting(S, C, tcpInner))).toBe(INVALID);
  });

  it('an error not addressed to the quoted packet\'s sender is INVALID', () => {
    handshake();
    expect(step(ct, b, quoting(S, '10.0.0.9', tcpInner))).toBe(INVALID);
  });

  it('an error quoting an echo request is RELATED to the ping', () => {
    step(ct, b, { src: C, dst: S, proto: 1, icmpType: 8, id: 9 });
    expect(step(ct, b, quoting('192.0.2.1', C, { src: C, dst: S, proto: 1, sport: 9, dport: 9 }, 11))).toBe(RELATED);
  });

  it('an ICMPv6 error quoting a tracked UDP flow is RELATED', () => {
    step(ct, b, { src: 'fd00::1', dst: 'fd00::2', proto: 17, sport: 1000, dport: 53 });
    const inner = { src: 'fd00::1', dst: 'fd00::2', proto: 17, sport: 1000, dport: 53 };
    expect(step(ct, b, { src: 'fd00::2', dst: 'fd00::1', proto: 58, icmpType: 1, icmpCode: 4, inner })).toBe(RELATED);
  });

  it('a RELATED error neither creates nor refreshes an entry', () => {
    step(ct, b, { src: C, dst: S, proto: 17, sport: 1000, dport: 53, t: 0 });
    step(ct, b, { ...quoting(S, C, { src: C, dst: S, proto: 17, sport: 1000, dport: 53 }), t: 20 });
    expect(conntrackStats(ct).entries).toBe(1);
    expect(step(ct, b, { src: C, dst: S, proto: 17, sport: 1000, dport: 53, t: 31 })).toBe(NEW);
  });
});

describe('other protocols', () => {
  it('SCTP: the first packet is NEW, the reply ESTABLISHED; unreplied, the entry lasts 3 s', () => {
    const init = (t: number): Pkt => ({ src: C, dst: S, proto: 132, sport: 5000, dport: 6000, t });
    expect(step(ct, b, init(0))).toBe(NEW);
    expect(step(ct, b, init(4))).toBe(NEW);
    expect(conntrackStats(ct).expirations).toBe(1);
    expect(step(ct, b, { src: S, dst: C, proto: 132, sport: 6000, dport: 5000, t: 5 })).toBe(ESTABLISHED);
    expect(step(ct, b, init(200))).toBe(ESTABLISHED);
  });

  it('a protocol without its own tracker is tracked by addresses: NEW, then ESTABLISHED both ways, 600 s', () => {
    expect(step(ct, b, { src: C, dst: S, proto: 99, t: 0 })).toBe(NEW);
    expect(step(ct, b, { src: S, dst: C, proto: 99, t: 1 })).toBe(ESTABLISHED);
    expect(step(ct, b, { src: C, dst: S, proto: 99, t: 600 })).toBe(ESTABLISHED);
    expect(step(ct, b, { src: C, dst: S, proto: 99, t: 1201 })).toBe(NEW);
  });

  it('GRE: 30 s until a reply was seen, then 180 s', () => {
    expect(step(ct, b, { src: C, dst: S, proto: 47, t: 0 })).toBe(NEW);
    expect(step(ct, b, { src: C, dst: S, proto: 47, t: 31 })).toBe(NEW);
    expect(step(ct, b, { src: S, dst: C, proto: 47, t: 32 })).toBe(ESTABLISHED);
    expect(step(ct, b, { src: C, dst: S, proto: 47, t: 33 })).toBe(ESTABLISHED);
    expect(step(ct, b, { src: C, dst: S, proto: 47, t: 33 + 179 })).toBe(ESTABLISHED);
    expect(step(ct, b, { src: C, dst: S, proto: 47, t: 33 + 179 + 181 })).toBe(NEW);
  });

  it('a host sending GRE to itself: the second packet, the same tuple both ways, counts as the reply', () => {
    expect(step(ct, b, { src: C, dst: C, proto: 47, t: 0 })).toBe(NEW);
    expect(step(ct, b, { src: C, dst: C, proto: 47, t: 1 })).toBe(ESTABLISHED);
  });

  it('SCTP: only INIT, HEARTBEAT, HEARTBEAT-ACK or SHUTDOWN-ACK may start an association; other first chunks are INVALID', () => {
    const first = (chunk: number, port: number): number => {
      fillRow(b, 0, { src: C, dst: S, proto: 132, sport: port, dport: 9000 });
      b.sctpChunk[0] = chunk + 1;
      track(ct, b, 0);
      return b.ctState[0]!;
    };
    const got = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14].map((chunk, n) => first(chunk, 2000 + n));
    expect(got).toEqual([INVALID, NEW, INVALID, INVALID, NEW, NEW, INVALID, INVALID, NEW, INVALID, INVALID, INVALID, INVALID]);
  });

  it('an IPv6 TCP handshake tracks like IPv4', () => {
    const o = (tcp: string): Pkt => ({ src: 'fd00::1', dst: 'fd00::2', sport: 1, dport: 2, tcp });
    const r = (tcp: string): Pkt => ({ src: 'fd00::2', dst: 'fd00::1', sport: 2, dport: 1, tcp });
    expect([step(ct, b, o('S')), step(ct, b, r('SA')), step(ct, b, o('A'))]).toEqual([NEW, ESTABLISHED, ESTABLISHED]);
  });

  it('a malformed row is INVALID; a non-IP row is UNTRACKED', () => {
    expect(step(ct, b, { ...out('S'), flags: RowFlag.MALFORMED })).toBe(INVALID);
    fillRow(b, 0, out('S'));
    b.family[0] = 0;
    track(ct, b, 0);
    expect(b.ctState[0]).toBe(CtState.UNTRACKED);
  });
});

describe('fragments', () => {
  const first = (accept: boolean): number =>
    step(ct, b, { src: C, dst: S, proto: 17, sport: 1, dport: 2, flags: RowFlag.FIRST_FRAGMENT, fragmentId: 77 }, accept);
  const later = (id = 77): number => {
    fillRow(b, 1, { src: C, dst: S, proto: 17, sport: 0, dport: 0, flags: RowFlag.LATER_FRAGMENT, fragmentId: id, t: 0.001 });
    track(ct, b, 1);
    return laterFragmentVerdict(ct, 1);
  };

  it('a later fragment follows its accepted first fragment', () => {
    first(true);
    expect(later()).toBe(Verdict.ACCEPT);
    expect(b.ctState[1]).toBe(NEW);
  });

  it('a later fragment follows its dropped first fragment', () => {
    first(false);
    expect(later()).toBe(Verdict.DROP);
  });

  it('a later fragment whose first was never seen is reported as such and counted', () => {
    first(true);
    expect(later(78)).toBe(FRAGMENT_WITHOUT_FIRST);
    expect(conntrackStats(ct).orphanFragments).toBe(1);
  });
});

describe('bounded size', () => {
  const flow = (n: number, t = 0): Pkt => ({ src: C, dst: S, proto: 17, sport: 1000 + n, dport: 53, t });
  const replyOf = (n: number, t = 0): Pkt => ({ src: S, dst: C, proto: 17, sport: 53, dport: 1000 + n, t });

  it('a full table evicts the oldest entry that is not assured, sparing assured ones', () => {
    const small = newConntrack({ capacity: 4 });
    for (let n = 0; n < 2; n++) {
      step(small, b, flow(n, 0));
      step(small, b, replyOf(n, 0.1));
      step(small, b, flow(n, 3)); // older than 2 s with a reply: an assured stream
    }
    step(small, b, flow(2, 4));
    step(small, b, flow(3, 5));
    step(small, b, flow(4, 6)); // table full: flow 2 (oldest not assured) goes
    expect(conntrackStats(small)).toMatchObject({ entries: 4, inserts: 5, evictions: 1 });
    expect(step(small, b, flow(0, 7))).toBe(ESTABLISHED);
    expect(step(small, b, replyOf(2, 7))).toBe(NEW);
  });

  it('when every entry is assured, the oldest goes', () => {
    const small = newConntrack({ capacity: 2 });
    for (let n = 0; n < 2; n++) {
      step(small, b, flow(n, n));
      step(small, b, replyOf(n, n + 0.1));
      step(small, b, flow(n, n + 3));
    }
    step(small, b, flow(5, 10));
    expect(conntrackStats(small).evictions).toBe(1);
    expect(step(small, b, replyOf(0, 10))).toBe(NEW);
  });

  it('an expired oldest entry is reclaimed as an expiration, not an eviction', () => {
    const small = newConntrack({ capacity: 1 });
    step(small, b, flow(0, 0));
    step(small, b, flow(1, 31));
    expect(conntrackStats(small)).toMatchObject({ entries: 1, evictions: 0, expirations: 1 });
  });

  it('capacity must be a positive integer', () => {
    expect(() => newConntrack({ capacity: 0 })).toThrow(/capacity/);
  });
});

describe('listing', () => {
  it('lists each entry once by its original tuple, with TCP state and flags, oldest first', () => {
    handshake();
    step(ct, b, { src: 'fd00::1', dst: 'fd00::2', proto: 58, icmpType: 128, id: 5, t: 1 });
    expect(listEntries(ct)).toEqual([
      { family: 4, proto: 6, src: C, dst: S, sport: 40000, dport: 80, tcpState: 'ESTABLISHED', seenReply: true, assured: true, expires: 1_700_000_000 + 5 * 86_400 },
      { family: 6, proto: 58, src: 'fd00::1', dst: 'fd00::2', sport: 5, dport: 0, tcpState: null, seenReply: false, assured: false, expires: 1_700_000_031 },
    ]);
  });
});

describe('clash', () => {
  it('two rows opening the same connection before either is confirmed create one entry', () => {
    fillRow(b, 0, out('S'));
    fillRow(b, 1, out('S'));
    track(ct, b, 0);
    track(ct, b, 1);
    b.verdict[0] = Verdict.ACCEPT;
    b.verdict[1] = Verdict.ACCEPT;
    confirm(ct, b, 0);
    confirm(ct, b, 1);
    expect(conntrackStats(ct)).toMatchObject({ entries: 1, clashes: 1 });
  });
});
