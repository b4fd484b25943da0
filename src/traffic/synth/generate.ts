/**
 * The seeded generator: interleaves many sessions over the planned flows and writes each packet in
 * place into the pcap writer's buffer (craft.ts writes frames with valid checksums into caller-owned
 * bytes). Per packet nothing is allocated: session state lives in typed arrays, the one PacketSpec is
 * changed field by field, and randomness comes from integer draws.
 *
 * The same plan, options and seed give the same bytes: the only inputs are the seed and the plan.
 */
import { IcmpType, Icmp6Type, SctpChunk, TcpFlag, newPacketSpec, writeFrame, ipHeaderLength, type PacketSpec } from '../../wire/craft.js';
import { IPPROTO } from '../../model/types.js';
import type { PcapWriter } from '../pcap/writer.js';
import type { FlowPlan } from './plan.js';
import { Rng } from './rng.js';
import { Kind, SCRIPT_LENGTH, SCRIPT_START, SCRIPT_STEPS, STEP_FROM_SERVER, Step } from './sessions.js';
import { DNS_PORT, dnsQuery, dnsResponse } from './dns.js';

/**
 * `fixed`: every frame `bytes` long (captured length, no FCS), or its natural length when the headers
 * alone are longer. `imix`: the simple IMIX, frames of 64, 576 and 1500 bytes in the ratio 7:4:1.
 */
export type SizeMode = { readonly kind: 'fixed'; readonly bytes: number } | { readonly kind: 'imix' };

export interface SynthOptions {
  readonly packets: number;
  readonly seed: number;
  readonly size: SizeMode;
  /** First timestamp, seconds since the epoch (default 2026-01-01T00:00:00Z). */
  readonly startSeconds?: number;
  /**
   * Request/response exchanges per allowed TCP connection (default 1): its data packets, and with them
   * its packets per connection (6 + 2 x exchanges), which a replay's rate depends on (each connection's
   * first packet costs a policy decision and a tracker entry, the rest a lookup).
   */
  readonly exchanges?: number;
}

/** The most `exchanges` takes: 2 x 65,535 data packets a connection. */
export const MAX_EXCHANGES = 0xffff;

/** Sessions in flight at once: enough to interleave, few enough that each finishes. */
const SLOTS = 32;
const IMIX = Uint16Array.of(64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1500);
const MAX_FRAME = 1600;

export function synthesize(plan: FlowPlan, options: SynthOptions, writer: PcapWriter): void {
  const g = new Generator(plan, options);
  let sec = options.startSeconds ?? 1767225600;
  let nsec = 0;
  // The largest frame: the drawn size plus chunk padding, or an ICMP error quoting a whole request.
  const maxFrame = Math.max(MAX_FRAME, (options.size.kind === 'fixed' ? options.size.bytes : 0) + 64);
  for (let i = 0; i < options.packets; i++) {
    const at = writer.begin(maxFrame);
    const length = g.next(writer.buffer, at);
    writer.commit(sec, nsec, length);
    nsec += 1000 + g.rng.below(50_000);
    if (nsec >= 1_000_000_000) { nsec -= 1_000_000_000; sec++; }
  }
}

class Generator {
  readonly rng: Rng;
  private readonly spec: PacketSpec = newPacketSpec();
  private readonly inner: PacketSpec = newPacketSpec();
  /** Session state per slot. */
  private readonly flow = new Int32Array(SLOTS);
  private readonly kind = new Uint8Array(SLOTS);
  private readonly step = new Uint8Array(SLOTS);
  private readonly port = new Uint16Array(SLOTS);
  private readonly clientSeq = new Uint32Array(SLOTS);
  private readonly serverSeq = new Uint32Array(SLOTS);
  /** Payload bytes each side has sent so far in the session (TCP: how far its sequence number moved). */
  private readonly clientData = new Uint32Array(SLOTS);
  private readonly serverData = new Uint32Array(SLOTS);
  /** Exchanges an allowed TCP session still has to make after the one under way. */
  private readonly exchangesLeft = new Uint16Array(SLOTS);
  private readonly exchanges: number;
  /** Slots [0, live) hold a session (all of them once the constructor is done). */
  private live = 0;
  private ipId = 1;
  /** The frame length drawn for the packet being written. */
  private target = 0;
  private readonly sctpBody = new Uint8Array(12);
  private readonly cookie = Uint8Array.of(0x6e, 0x65, 0x74, 0x73, 0x69, 0x65, 0x76, 0x65);

  constructor(private readonly plan: FlowPlan, private readonly options: SynthOptions) {
    this.rng = new Rng(options.seed);
    if (plan.count === 0) throw new RangeError('no flows to synthesize');
    this.exchanges = options.exchanges ?? 1;
    if (!Number.isInteger(this.exchanges) || this.exchanges < 1 || this.exchanges > MAX_EXCHANGES) {
      throw new RangeError(`exchanges ${this.exchanges} is not an integer in 1..${MAX_EXCHANGES}`);
    }
    for (let s = 0; s < SLOTS; s++) {
      this.startSession(s);
      this.live = s + 1;
    }
  }

  /** Writes the next packet of a random session at `at`; returns the frame length. */
  next(buf: Uint8Array, at: number): number {
    const s = this.rng.below(SLOTS);
    const step = SCRIPT_STEPS[SCRIPT_START[this.kind[s]!]! + this.step[s]!]!;
    this.prepare(s, step, STEP_FROM_SERVER[step] === 1);
    let length = writeFrame(buf, at, this.spec);
    // Short frames get an Ethernet trailer of zeros up to the drawn size (a native fill, not a byte loop).
    if (length < this.target) {
      buf.fill(0, at + length, at + this.target);
      length = this.target;
    }
    if (step === Step.DATA_S && this.exchangesLeft[s]! > 0) {
      this.exchangesLeft[s]!--;
      this.step[s] = this.step[s]! - 1; // back to the DATA_C before it
    } else if (++this.step[s]! >= SCRIPT_LENGTH[this.kind[s]!]!) {
      this.startSession(s);
    }
    return length;
  }

  private startSession(s: number): void {
    const p = this.plan;
    const pickAllowed = p.deniedIdx.length === 0 || (p.allowedIdx.length > 0 && this.rng.below(10) < 6);
    const list = pickAllowed ? p.allowedIdx : p.deniedIdx;
    const f = list[this.rng.below(list.length)]!;
    this.flow[s] = f;
    this.step[s] = 0;
    this.kind[s] = kindFor(p.proto[f]!, p.allowed[f] === 1, this.rng.below(8) === 0);
    // A session's client port (an echo's identifier) is not one that a live session of the same flow
    // uses: two connections of one 5-tuple at once are not traffic a capture can hold (the second SYN
    // would be a retransmission of the first). Drawn again when it is, so only then do the bytes change.
    do {
      this.port[s] = p.proto[f] === IPPROTO.ICMP ? this.rng.below(65536) : 49152 + this.rng.below(16384);
    } while (this.portTaken(s));
    // Initial sequence numbers, tags and TSNs below 2^30: every value derived from them stays a small
    // integer in V8, so passing them around never boxes a number (a heap object per packet otherwise).
    this.clientSeq[s] = this.rng.next30();
    this.serverSeq[s] = this.rng.next30();
    this.clientData[s] = 0;
    this.serverData[s] = 0;
    this.exchangesLeft[s] = this.kind[s] === Kind.TCP_OK ? this.exchanges - 1 : 0;
  }

  /** Whether another live session is of slot s's flow and uses its port. */
  private portTaken(s: number): boolean {
    for (let t = 0; t < this.live; t++) {
      if (t !== s && this.flow[t] === this.flow[s] && this.port[t] === this.port[s]) return true;
    }
    return false;
  }

  /** Sets the spec for one step: addresses, ports and MACs by direction, then the protocol fields. */
  private prepare(s: number, step: number, fromServer: boolean): void {
    const spec = this.spec;
    const f = this.flow[s]!;
    const p = this.plan;
    spec.family = p.family[f] === 6 ? 6 : 4;
    for (let k = 0; k < 4; k++) {
      spec.src[k] = fromServer ? p.dst[f * 4 + k]! : p.src[f * 4 + k]!;
      spec.dst[k] = fromServer ? p.src[f * 4 + k]! : p.dst[f * 4 + k]!;
    }
    setMac(spec.srcMac, spec.src, spec.family);
    setMac(spec.dstMac, spec.dst, spec.family);
    spec.srcPort = fromServer ? p.dstPort[f]! : this.port[s]!;
    spec.dstPort = fromServer ? this.port[s]! : p.dstPort[f]!;
    spec.ipId = this.ipId = (this.ipId + 1) & 0xffff;
    spec.payload = null;
    spec.payloadLength = 0;
    spec.tcpMss = 0;
    spec.inner = null;
    spec.minFrameLength = 0;
    this.target = this.drawSize();
    spec.proto = p.proto[f] === IPPROTO.ICMP && spec.family === 6 ? IPPROTO.ICMPV6 : p.proto[f]!;
    spec.dontFragment = spec.proto === IPPROTO.TCP;
    if (spec.proto === IPPROTO.TCP) this.tcp(s, step);
    else if (spec.proto === IPPROTO.UDP) this.udp(s, step);
    else if (spec.proto === IPPROTO.SCTP) this.sctp(s, step);
    else this.icmp(s, step);
  }

  private drawSize(): number {
    const size = this.options.size;
    return size.kind === 'fixed' ? size.bytes : IMIX[this.rng.below(IMIX.length)]!;
  }

  /** Payload that brings the frame to the drawn size, given the transport header length. */
  private fill(l4Header: number): void {
    const room = this.target - 14 - ipHeaderLength(this.spec) - l4Header;
    this.spec.payloadLength = room > 0 ? room : 0;
  }

  private tcp(s: number, step: number): void {
    const spec = this.spec;
    const c = this.clientSeq[s]!;
    const v = this.serverSeq[s]!;
    const dc = this.clientData[s]!;
    const dv = this.serverData[s]!;
    switch (step) {
      case Step.SYN: setTcp(spec, TcpFlag.SYN, c, 0); spec.tcpMss = 1460; break;
      case Step.SYN_ACK: setTcp(spec, TcpFlag.SYN | TcpFlag.ACK, v, c + 1); spec.tcpMss = 1460; break;
      case Step.ACK: setTcp(spec, TcpFlag.ACK, c + 1, v + 1); break;
      case Step.DATA_C: setTcp(spec, TcpFlag.PSH | TcpFlag.ACK, c + 1 + dc, v + 1 + dv); this.fill(20); this.clientData[s] = dc + spec.payloadLength; break;
      case Step.DATA_S: setTcp(spec, TcpFlag.PSH | TcpFlag.ACK, v + 1 + dv, c + 1 + dc); this.fill(20); this.serverData[s] = dv + spec.payloadLength; break;
      case Step.FIN_C: setTcp(spec, TcpFlag.FIN | TcpFlag.ACK, c + 1 + dc, v + 1 + dv); break;
      case Step.FIN_S: setTcp(spec, TcpFlag.FIN | TcpFlag.ACK, v + 1 + dv, c + 2 + dc); break;
      default: setTcp(spec, TcpFlag.ACK, c + 2 + dc, v + 2 + dv); break;
    }
  }

  private udp(s: number, step: number): void {
    const spec = this.spec;
    if (step === Step.PORT_UNREACH) {
      this.prepareQuote(s);
      spec.proto = spec.family === 4 ? IPPROTO.ICMP : IPPROTO.ICMPV6;
      spec.icmpType = spec.family === 4 ? IcmpType.DEST_UNREACHABLE : Icmp6Type.DEST_UNREACHABLE;
      spec.icmpCode = spec.family === 4 ? 3 : 4; // port unreachable (RFC 792 / RFC 4443 3.1)
      spec.icmpRest = 0;
      spec.srcPort = 0;
      spec.dstPort = 0;
      spec.inner = this.inner;
      return;
    }
    if (spec.srcPort === DNS_PORT || spec.dstPort === DNS_PORT) {
      spec.payload = step === Step.UDP_RESP ? dnsResponse(this.clientSeq[s]! & 0xffff) : dnsQuery(this.clientSeq[s]! & 0xffff);
    } else {
      this.fill(8);
    }
  }

  /** The client's request as the ICMP error quotes it (the same bytes the request carried). */
  private prepareQuote(s: number): void {
    const q = this.inner;
    const spec = this.spec;
    q.family = spec.family;
    for (let k = 0; k < 4; k++) { q.src[k] = spec.dst[k]!; q.dst[k] = spec.src[k]!; }
    q.proto = IPPROTO.UDP;
    q.srcPort = spec.dstPort;
    q.dstPort = spec.srcPort;
    q.ipId = (this.ipId - 1) & 0xffff;
    q.payload = null;
    q.payloadLength = 32;
    if (q.dstPort === DNS_PORT) q.payload = dnsQuery(this.clientSeq[s]! & 0xffff);
  }

  private sctp(s: number, step: number): void {
    const spec = this.spec;
    const clientTag = this.clientSeq[s]! | 1;
    const serverTag = this.serverSeq[s]! | 1;
    const body = this.sctpBody;
    spec.sctpTsn = this.clientSeq[s]!;
    switch (step) {
      case Step.INIT: spec.sctpChunk = SctpChunk.INIT; spec.sctpInitiateTag = clientTag; break;
      case Step.INIT_ACK: setSctp(spec, SctpChunk.INIT_ACK, clientTag); spec.sctpInitiateTag = serverTag; spec.sctpTsn = this.serverSeq[s]!; break;
      case Step.COOKIE_ECHO: setSctp(spec, SctpChunk.COOKIE_ECHO, serverTag); spec.payload = this.cookie; break;
      case Step.COOKIE_ACK: setSctp(spec, SctpChunk.COOKIE_ACK, clientTag); break;
      case Step.SCTP_DATA: setSctp(spec, SctpChunk.DATA, serverTag); this.fill(28); break;
      case Step.SACK: setSctp(spec, SctpChunk.SACK, clientTag); sackBody(body, this.clientSeq[s]!); spec.payload = body; break;
      case Step.SHUTDOWN: setSctp(spec, SctpChunk.SHUTDOWN, serverTag); put32(body, 0, this.serverSeq[s]! - 1); spec.payload = body.subarray(0, 4); break;
      case Step.SHUTDOWN_ACK: setSctp(spec, SctpChunk.SHUTDOWN_ACK, clientTag); break;
      default: setSctp(spec, SctpChunk.SHUTDOWN_COMPLETE, serverTag); break;
    }
  }

  private icmp(s: number, step: number): void {
    const spec = this.spec;
    const v4 = spec.family === 4;
    const request = step === Step.ECHO_REQ;
    spec.icmpType = v4 ? (request ? IcmpType.ECHO_REQUEST : IcmpType.ECHO_REPLY) : request ? Icmp6Type.ECHO_REQUEST : Icmp6Type.ECHO_REPLY;
    spec.icmpCode = 0;
    spec.icmpId = this.port[s]!;
    spec.icmpSeq = 1 + (this.step[s]! >> 1);
    spec.srcPort = spec.icmpId;
    spec.dstPort = spec.icmpId;
    this.fill(8);
  }
}

function kindFor(proto: number, allowed: boolean, rare: boolean): number {
  switch (proto) {
    case IPPROTO.TCP: return allowed ? Kind.TCP_OK : Kind.TCP_DENIED;
    case IPPROTO.UDP: return !allowed ? Kind.UDP_DENIED : rare ? Kind.UDP_UNREACH : Kind.UDP_OK;
    case IPPROTO.SCTP: return allowed ? Kind.SCTP_OK : Kind.SCTP_DENIED;
    default: return allowed ? Kind.ICMP_OK : Kind.ICMP_DENIED;
  }
}

function setTcp(spec: PacketSpec, flags: number, seq: number, ack: number): void {
  spec.tcpFlags = flags;
  spec.seq = seq >>> 0;
  spec.ack = ack >>> 0;
  spec.window = 64240;
}

function setSctp(spec: PacketSpec, chunk: number, vtag: number): void {
  spec.sctpChunk = chunk;
  spec.sctpVtag = vtag;
}

/** SACK chunk body (RFC 9260 3.3.4): cumulative TSN ack, a_rwnd, no gap blocks, no duplicates. */
function sackBody(body: Uint8Array, tsn: number): void {
  put32(body, 0, tsn);
  put32(body, 4, 65536);
  put32(body, 8, 0);
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/** A locally administered MAC derived from the address (02:00 + its last 32 bits), stable per endpoint. */
function setMac(mac: Uint8Array, words: Uint32Array, family: 4 | 6): void {
  const w = family === 4 ? words[0]! : words[3]!;
  mac[0] = 2;
  mac[1] = 0;
  mac[2] = w >>> 24;
  mac[3] = (w >>> 16) & 255;
  mac[4] = (w >>> 8) & 255;
  mac[5] = w & 255;
}
