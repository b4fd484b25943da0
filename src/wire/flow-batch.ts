/**
 * The batch every hot path works on: a structure of arrays, one row per captured record, filled by the
 * decoder, read by connection tracking and the matchers, which write their outputs in place.
 *
 * This layout is a contract between `traffic/` (writes the inputs), `conntrack/` (reads inputs, writes
 * `ctState`), `match/` (reads inputs and `ctState`, writes `verdict`, `cost`, `decidedBy`) and the native
 * addon, which mirrors it. Nothing on the hot path allocates: a batch is made once and refilled.
 *
 * Addresses are four big-endian 32-bit words per row (IPv4 in word 0, words 1-3 zero), see `ipToWords`.
 */

/** Verdict codes. Integers, never strings, on the hot path. */
export const Verdict = { DROP: 0, ACCEPT: 1, /** not an IP packet, or not decodable: no verdict */ NONE: 2 } as const;

/** Connection-tracking states, as `-m conntrack --ctstate` names them. */
export const CtState = { NEW: 0, ESTABLISHED: 1, RELATED: 2, INVALID: 3, UNTRACKED: 4 } as const;

/** Bits of `FlowBatch.flags`. */
export const RowFlag = {
  /** An IPv4/IPv6 fragment with offset 0 and more-fragments set: carries the L4 header. */
  FIRST_FRAGMENT: 1 << 0,
  /** A fragment with a non-zero offset: no L4 header; follows the verdict of its first fragment. */
  LATER_FRAGMENT: 1 << 1,
  /** An ICMP/ICMPv6 error quoting a packet: `inner*` fields hold the quoted flow (for RELATED). */
  ICMP_ERROR: 1 << 2,
  /** An ICMP/ICMPv6 echo request or reply: the echo id is in srcPort and dstPort. */
  ICMP_ECHO: 1 << 3,
  /** The L4 header was cut short or inconsistent: decoded as far as possible, counted as malformed. */
  MALFORMED: 1 << 4,
} as const;

export class FlowBatch {
  count = 0;
  /** 0: not IP (or undecodable), 4 or 6. */
  readonly family: Uint8Array;
  readonly src: Uint32Array;
  readonly dst: Uint32Array;
  /** IANA protocol number of the transport header (after IPv6 extension headers). */
  readonly proto: Uint8Array;
  readonly srcPort: Uint16Array;
  readonly dstPort: Uint16Array;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, ...). */
  readonly tcpFlags: Uint8Array;
  readonly icmpType: Uint8Array;
  readonly icmpCode: Uint8Array;
  /** RowFlag bits. */
  readonly flags: Uint8Array;
  /** IPv4 identification or IPv6 fragment id, for matching later fragments to their first. */
  readonly fragmentId: Uint32Array;
  /** The flow quoted by an ICMP error (ICMP_ERROR rows): addresses, protocol, ports as sent. */
  readonly innerSrc: Uint32Array;
  readonly innerDst: Uint32Array;
  readonly innerProto: Uint8Array;
  readonly innerSrcPort: Uint16Array;
  readonly innerDstPort: Uint16Array;
  /**
   * SCTP rows: the type of the packet's first chunk plus one; 0 when not SCTP or not decoded. Connection
   * tracking needs it: the kernel lets only INIT, HEARTBEAT, HEARTBEAT-ACK and SHUTDOWN-ACK start an
   * association (anything else without an entry is INVALID). Added by H6 (conntrack), additive.
   */
  readonly sctpChunk: Uint8Array;
  /** Original length on the wire, for byte counters. */
  readonly wireLength: Uint32Array;
  /** Capture timestamp: whole seconds since the epoch, and the nanoseconds within that second. */
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  /** Index of the record in its capture, from 0. */
  readonly recordIndex: Float64Array;
  /** Link type of the record (pcap LINKTYPE_*), per row since pcapng interfaces differ. */
  readonly linkType: Uint16Array;
  /**
   * Where the record's captured bytes sit in the reader's current chunk, and how many were captured.
   * Valid only until the reader's next fill: writers of `--write-allowed` copy them out before then.
   */
  readonly dataOffset: Uint32Array;
  readonly capturedLength: Uint32Array;

  /** Outputs. */
  readonly ctState: Uint8Array;
  readonly verdict: Uint8Array;
  /** Cost of deciding the row: rules evaluated (iptables) or hash probes (eBPF). */
  readonly cost: Uint32Array;
  /** The rule index (iptables) or map entry index (eBPF) that decided, -1 when a default decided. */
  readonly decidedBy: Int32Array;

  constructor(readonly capacity: number) {
    this.family = new Uint8Array(capacity);
    this.src = new Uint32Array(capacity * 4);
    this.dst = new Uint32Array(capacity * 4);
    this.proto = new Uint8Array(capacity);
    this.srcPort = new Uint16Array(capacity);
    this.dstPort = new Uint16Array(capacity);
    this.tcpFlags = new Uint8Array(capacity);
    this.icmpType = new Uint8Array(capacity);
    this.icmpCode = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.fragmentId = new Uint32Array(capacity);
    this.innerSrc = new Uint32Array(capacity * 4);
    this.innerDst = new Uint32Array(capacity * 4);
    this.innerProto = new Uint8Array(capacity);
    this.innerSrcPort = new Uint16Array(capacity);
    this.innerDstPort = new Uint16Array(capacity);
    this.sctpChunk = new Uint8Array(capacity);
    this.wireLength = new Uint32Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Uint32Array(capacity);
    this.recordIndex = new Float64Array(capacity);
    this.linkType = new Uint16Array(capacity);
    this.dataOffset = new Uint32Array(capacity);
    this.capturedLength = new Uint32Array(capacity);
    this.ctState = new Uint8Array(capacity);
    this.verdict = new Uint8Array(capacity);
    this.cost = new Uint32Array(capacity);
    this.decidedBy = new Int32Array(capacity);
  }
}
