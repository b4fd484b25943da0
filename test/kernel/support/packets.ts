/**
 * Crafted traffic for the kernel oracle: for each flow a short conversation of a named kind (a TCP
 * handshake and close, a lone SYN-ACK, an ICMP error quoting the flow, ...), every packet a valid
 * Ethernet frame (src/wire/craft.ts) carrying a unique id: the IPv4 identification or the IPv6 flow
 * label, which the kernel-side recorder keys on. Each flow gets its own client port (or echo id) so that
 * conversations never share a conntrack entry.
 */
import { writeFileSync } from 'node:fs';
import { ipToWords, formatIp } from '../../../src/model/ip.js';
import type { Flow } from '../../../src/model/evaluate.js';
import {
  Icmp6Type, IcmpType, SctpChunk, TcpFlag, newPacketSpec, setAddress, writeFragmentFrames, writeFrame, type PacketSpec,
} from '../../../src/wire/craft.js';
import { FIREWALL_MAC, GENERATOR_MAC } from './netns.js';

export const KINDS = {
  tcp: ['tcp-handshake-close', 'tcp-syn-only', 'tcp-syn-retransmit', 'tcp-refused', 'tcp-lone-synack', 'tcp-lone-ack',
    'tcp-lone-rst', 'tcp-lone-fin', 'tcp-abort', 'tcp-reopen', 'icmp-error-quoting', 'icmp-error-from-router'],
  udp: ['udp-exchange', 'udp-one-way', 'udp-fragmented', 'icmp-error-quoting', 'icmp-error-untracked'],
  sctp: ['sctp-association', 'sctp-init-only'],
  icmp: ['icmp-echo', 'icmp-echo-reply-alone'],
  other: ['generic-exchange'],
} as const;

export interface PacketMeta {
  readonly family: 4 | 6;
  /** IPv4 identification or IPv6 flow label. */
  readonly id: number;
  readonly flow: number;
  readonly kind: string;
  readonly text: string;
}

export class Conversation {
  private readonly buf = new Uint8Array(1 << 22);
  private used = 0;
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  readonly meta: PacketMeta[] = [];
  private next4 = 1;
  private next6 = 1;

  count(family: 4 | 6): number {
    return family === 4 ? this.next4 - 1 : this.next6 - 1;
  }

  /** Writes the frame of `spec` with the next id of its family; returns the index of the packet. */
  add(spec: PacketSpec, flow: number, kind: string, text: string): void {
    const id = spec.family === 4 ? this.next4++ : this.next6++;
    if (spec.family === 4) spec.ipId = id;
    else spec.flowLabel = id;
    if (id > (spec.family === 4 ? 65535 : 0xfffff)) throw new Error('too many packets for unique ids in one replay');
    const length = writeFrame(this.buf, this.used, spec);
    this.offsets.push(this.used);
    this.lengths.push(length);
    this.used += length;
    this.meta.push({ family: spec.family, id, flow, kind, text });
  }

  /**
   * Writes the datagram of `spec` as fragments of `fragmentBytes` payload each. They share one id: the
   * kernel reassembles them before conntrack and the filter see the datagram, so it records one verdict.
   */
  addFragmented(spec: PacketSpec, fragmentBytes: number, flow: number, kind: string, text: string): void {
    const id = spec.family === 4 ? this.next4++ : this.next6++;
    if (spec.family === 4) spec.ipId = id;
    else spec.flowLabel = id;
    const lengths = new Uint32Array(64);
    const count = writeFragmentFrames(this.buf, this.used, spec, fragmentBytes, lengths);
    for (let k = 0; k < count; k++) {
      this.offsets.push(this.used);
      this.lengths.push(lengths[k]!);
      this.used += lengths[k]!;
      this.meta.push({ family: spec.family, id, flow, kind, text: `${text} fragment ${k + 1}/${count}` });
    }
  }

  frame(i: number): Uint8Array {
    return this.buf.subarray(this.offsets[i]!, this.offsets[i]! + this.lengths[i]!);
  }

  /** A classic little-endian microsecond pcap, 1 µs between packets, Ethernet link type. */
  writePcap(path: string): void {
    const out = Buffer.alloc(24 + this.meta.length * 16 + this.used);
    out.writeUInt32LE(0xa1b2c3d4, 0); out.writeUInt16LE(2, 4); out.writeUInt16LE(4, 6);
    out.writeUInt32LE(65535, 16); out.writeUInt32LE(1, 20);
    let at = 24;
    for (let i = 0; i < this.meta.length; i++) {
      out.writeUInt32LE(1_700_000_000, at); out.writeUInt32LE(i, at + 4);
      out.writeUInt32LE(this.lengths[i]!, at + 8); out.writeUInt32LE(this.lengths[i]!, at + 12);
      out.set(this.frame(i), at + 16);
      at += 16 + this.lengths[i]!;
    }
    writeFileSync(path, out);
  }
}

interface Ends { spec: PacketSpec; flow: number; kind: string; c: Conversation; label: string }

function baseSpec(flow: Flow): PacketSpec {
  const spec = newPacketSpec();
  spec.family = flow.src.family;
  spec.srcMac = GENERATOR_MAC;
  spec.dstMac = FIREWALL_MAC;
  spec.src.fill(0);
  spec.dst.fill(0);
  ipToWords(flow.src, spec.src, 0);
  ipToWords(flow.dst, spec.dst, 0);
  spec.ttl = 64;
  spec.proto = flow.protocol;
  return spec;
}

/** Swaps addresses and ports: the next packet goes the other way. */
function turn(spec: PacketSpec): void {
  for (let k = 0; k < 4; k++) {
    const w = spec.src[k]!;
    spec.src[k] = spec.dst[k]!;
    spec.dst[k] = w;
  }
  const p = spec.srcPort;
  spec.srcPort = spec.dstPort;
  spec.dstPort = p;
}

function tcp(e: Ends, flags: number, seq: number, ack: number, payload = 0, name = ''): void {
  e.spec.tcpFlags = flags;
  e.spec.seq = seq;
  e.spec.ack = ack;
  e.spec.payloadLength = payload;
  e.c.add(e.spec, e.flow, e.kind, `${e.label} ${name}`);
}

const { SYN, ACK, FIN, RST, PSH } = TcpFlag;

/** Client ISN 1000, server ISN 5000, as real stacks would number them. */
function tcpConversation(e: Ends): void {
  const s = e.spec;
  const back = (): void => turn(s);
  switch (e.kind) {
    case 'tcp-handshake-close':
    case 'tcp-reopen':
      tcp(e, SYN, 1000, 0, 0, 'SYN'); back(); tcp(e, SYN | ACK, 5000, 1001, 0, 'SYN-ACK'); back();
      tcp(e, ACK, 1001, 5001, 0, 'ACK'); tcp(e, PSH | ACK, 1001, 5001, 10, 'data'); back();
      tcp(e, ACK, 5001, 1011, 0, 'ACK of data'); back(); tcp(e, FIN | ACK, 1011, 5001, 0, 'FIN'); back();
      tcp(e, FIN | ACK, 5001, 1012, 0, 'FIN'); back(); tcp(e, ACK, 1012, 5002, 0, 'last ACK');
      if (e.kind === 'tcp-reopen') tcp(e, SYN, 90000, 0, 0, 'SYN reopening the closed connection');
      return;
    case 'tcp-syn-only': return tcp(e, SYN, 1000, 0, 0, 'SYN');
    case 'tcp-syn-retransmit': tcp(e, SYN, 1000, 0, 0, 'SYN'); return tcp(e, SYN, 1000, 0, 0, 'SYN again');
    case 'tcp-refused':
      tcp(e, SYN, 1000, 0, 0, 'SYN'); back(); tcp(e, RST | ACK, 0, 1001, 0, 'RST-ACK refusing'); back();
      return tcp(e, ACK, 1001, 1, 0, 'ACK after refusal');
    case 'tcp-lone-synack': return tcp(e, SYN | ACK, 5000, 1001, 0, 'lone SYN-ACK');
    case 'tcp-lone-ack': tcp(e, ACK, 1001, 5001, 0, 'lone ACK'); back(); return tcp(e, ACK, 5001, 1001, 0, 'ACK reply');
    case 'tcp-lone-rst': return tcp(e, RST, 1001, 0, 0, 'lone RST');
    case 'tcp-lone-fin': return tcp(e, FIN | ACK, 1001, 5001, 0, 'lone FIN-ACK');
    case 'tcp-abort':
      tcp(e, SYN, 1000, 0, 0, 'SYN'); back(); tcp(e, SYN | ACK, 5000, 1001, 0, 'SYN-ACK'); back();
      tcp(e, ACK, 1001, 5001, 0, 'ACK'); tcp(e, RST | ACK, 1001, 5001, 0, 'RST'); back();
      return tcp(e, ACK, 5001, 1001, 0, 'ACK after RST');
    default: throw new Error(`unknown TCP kind ${e.kind}`);
  }
}

function send(e: Ends, name: string, payload = 8): void {
  e.spec.payloadLength = payload;
  e.c.add(e.spec, e.flow, e.kind, `${e.label} ${name}`);
}

function udpConversation(e: Ends): void {
  if (e.kind === 'udp-fragmented') {
    e.spec.payloadLength = 1000;
    e.c.addFragmented(e.spec, 400, e.flow, e.kind, `${e.label} datagram`);
    turn(e.spec);
    return send(e, 'response');
  }
  if (e.kind === 'udp-exchange') {
    send(e, 'request'); turn(e.spec); send(e, 'response'); turn(e.spec); return send(e, 'request again');
  }
  send(e, 'datagram');
  send(e, 'datagram again');
}

/** INIT (vtag 0, tag A), INIT-ACK (vtag A, tag B), COOKIE-ECHO (vtag B), COOKIE-ACK (vtag A), DATA (vtag B). */
function sctpConversation(e: Ends): void {
  const s = e.spec;
  const chunk = (type: number, vtag: number, name: string): void => {
    s.sctpChunk = type;
    s.sctpVtag = vtag;
    s.sctpInitiateTag = type === SctpChunk.INIT ? 0x0a0a0a0a : 0x0b0b0b0b;
    s.sctpTsn = 100;
    send(e, name, type === SctpChunk.DATA ? 12 : type === SctpChunk.COOKIE_ECHO ? 8 : 0);
  };
  chunk(SctpChunk.INIT, 0, 'INIT');
  if (e.kind === 'sctp-init-only') return;
  turn(s); chunk(SctpChunk.INIT_ACK, 0x0a0a0a0a, 'INIT-ACK'); turn(s);
  chunk(SctpChunk.COOKIE_ECHO, 0x0b0b0b0b, 'COOKIE-ECHO'); turn(s);
  chunk(SctpChunk.COOKIE_ACK, 0x0a0a0a0a, 'COOKIE-ACK'); turn(s);
  chunk(SctpChunk.DATA, 0x0b0b0b0b, 'DATA');
}

function icmpConversation(e: Ends, echoId: number): void {
  const v6 = e.spec.family === 6;
  const request = v6 ? Icmp6Type.ECHO_REQUEST : IcmpType.ECHO_REQUEST;
  const reply = v6 ? Icmp6Type.ECHO_REPLY : IcmpType.ECHO_REPLY;
  e.spec.icmpId = echoId;
  e.spec.icmpSeq = 1;
  if (e.kind === 'icmp-echo-reply-alone') {
    e.spec.icmpType = reply;
    return send(e, 'echo reply without request');
  }
  e.spec.icmpType = request; send(e, 'echo request'); turn(e.spec);
  e.spec.icmpType = reply; send(e, 'echo reply'); turn(e.spec);
  e.spec.icmpType = request; e.spec.icmpSeq = 2; send(e, 'echo request 2');
}

/** The opening packet, then (unless untracked) an error about it from its destination back to its source. */
function errorConversation(e: Ends, flow: Flow): void {
  const opening = baseSpec(flow);
  opening.srcPort = e.spec.srcPort;
  opening.dstPort = e.spec.dstPort;
  opening.tcpFlags = SYN;
  opening.payloadLength = 8;
  if (e.kind !== 'icmp-error-untracked') e.c.add(opening, e.flow, e.kind, `${e.label} opening`);
  const err = baseSpec(flow);
  turn(err);
  const v4 = flow.src.family === 4;
  err.proto = v4 ? 1 : 58;
  err.inner = opening;
  if (e.kind === 'icmp-error-from-router') {
    // A router on the path: another source, time exceeded (the kernel does not check the outer source).
    setAddress(err.src, v4 ? '192.0.2.1' : '2001:db8:ffff::1');
    err.icmpType = v4 ? IcmpType.TIME_EXCEEDED : Icmp6Type.TIME_EXCEEDED;
    err.icmpCode = 0;
    return e.c.add(err, e.flow, e.kind, `${e.label} ICMP time exceeded from a router quoting it`);
  }
  err.icmpType = v4 ? IcmpType.DEST_UNREACHABLE : Icmp6Type.DEST_UNREACHABLE;
  err.icmpCode = v4 ? 3 : 4; // port unreachable
  e.c.add(err, e.flow, e.kind, `${e.label} ICMP port unreachable quoting it`);
}

/** A GRE header (version 0, carrying IPv4) so the kernel's GRE tracker parses it. */
const GRE_PAYLOAD = Uint8Array.of(0, 0, 0x08, 0x00, 0x45, 0, 0, 20);

/** Appends the conversation of `kind` for `flow` (flow number `n`, which also makes its client port). */
export function addConversation(c: Conversation, flow: Flow, n: number, kind: string): void {
  const spec = baseSpec(flow);
  spec.srcPort = 10000 + (n % 50000);
  spec.dstPort = flow.dstPort;
  const label = `#${n} ${kind} ${formatIp(flow.src)}:${spec.srcPort} > ${formatIp(flow.dst)}:${flow.dstPort} proto ${flow.protocol}:`;
  const e: Ends = { spec, flow: n, kind, c, label };
  if (kind.startsWith('icmp-error')) return errorConversation(e, flow);
  if (flow.protocol === 6) return tcpConversation(e);
  if (flow.protocol === 17) return udpConversation(e);
  if (flow.protocol === 132) return sctpConversation(e);
  if (flow.protocol === 1 || flow.protocol === 58) return icmpConversation(e, 1 + (n % 65000));
  spec.payload = flow.protocol === 47 ? GRE_PAYLOAD : null;
  spec.payloadLength = 8;
  send(e, 'packet', 8); turn(spec); send(e, 'reply', 8);
}

/** The kinds that apply to a flow's protocol. */
export function kindsFor(protocol: number): readonly string[] {
  if (protocol === 6) return KINDS.tcp;
  if (protocol === 17) return KINDS.udp;
  if (protocol === 132) return KINDS.sctp;
  if (protocol === 1 || protocol === 58) return KINDS.icmp;
  return KINDS.other;
}
