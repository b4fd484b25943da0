/**
 * Named offsets and numbers of the headers the decoder reads, so that decoding code says
 * `b[l3 + IPV4_PROTO]` instead of `b[l3 + 9]`. Values are from the RFC (or the libpcap LINKTYPE list)
 * named beside each group; offsets are relative to the start of their header.
 */

/** pcap LINKTYPE_* values (tcpdump.org/linktypes.html) the decoder understands. */
export const LinkType = {
  /** BSD loopback: 4-byte address family in the capturing host's byte order. */
  NULL: 0,
  ETHERNET: 1,
  /** DLT_RAW as most BSDs and Linux number it; libpcap maps it to LINKTYPE_RAW in files, but old files carry it. */
  RAW_DLT12: 12,
  /** DLT_RAW as OpenBSD numbers it (same story as 12). */
  RAW_DLT14: 14,
  RAW: 101,
  /** OpenBSD loopback: like NULL but the address family is always big-endian. */
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** EtherType values (IEEE registry). */
export const EtherType = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  /** 802.1Q customer tag. */
  VLAN: 0x8100,
  /** 802.1ad service tag (QinQ outer tag). */
  QINQ: 0x88a8,
  /** Pre-standard QinQ outer tag some switches still send. */
  QINQ_OLD: 0x9100,
} as const;

// Ethernet II (IEEE 802.3): dst(6) src(6) type(2).
export const ETH_TYPE = 12;
export const ETH_HLEN = 14;
/** An 802.1Q/802.1ad tag: TCI(2) then the next EtherType(2); the tag's own type sits where ETH_TYPE was. */
export const VLAN_TYPE = 2;
export const VLAN_HLEN = 4;
/** Tags we walk before calling the frame malformed (QinQ is 2; a few more are seen in labs). */
export const VLAN_MAX_TAGS = 4;
/** EtherType values below this are 802.3 lengths (an LLC frame), not types. */
export const ETH_MIN_TYPE = 0x0600;

// Linux cooked capture v1 (LINKTYPE_LINUX_SLL): pkttype(2) arphrd(2) addrlen(2) addr(8) protocol(2).
export const SLL_PROTO = 14;
export const SLL_HLEN = 16;
// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1)
// addrlen(1) addr(8).
export const SLL2_PROTO = 0;
export const SLL2_HLEN = 20;

// BSD loopback (NULL / LOOP): a 4-byte address family.
export const LOOP_HLEN = 4;
export const AF_INET = 2;
/** AF_INET6 differs per OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30 (the values libpcap lists). */
export const AF_INET6_LINUX = 10;
export const AF_INET6_BSD = 24;
export const AF_INET6_FREEBSD = 28;
export const AF_INET6_DARWIN = 30;

// IPv4 (RFC 791).
export const IPV4_VER_IHL = 0;
export const IPV4_TOTAL_LEN = 2;
export const IPV4_ID = 4;
export const IPV4_FRAG = 6;
export const IPV4_PROTO = 9;
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
export const IPV4_MIN_HLEN = 20;
export const IPV4_MF = 0x2000;
export const IPV4_OFFSET_MASK = 0x1fff;

// IPv6 (RFC 8200).
export const IPV6_PAYLOAD_LEN = 4;
export const IPV6_NEXT = 6;
export const IPV6_SRC = 8;
export const IPV6_DST = 24;
export const IPV6_HLEN = 40;
/** Extension headers walked before the packet is called malformed (a bound, not an RFC number). */
export const IPV6_MAX_EXT = 8;
// IPv6 fragment header (RFC 8200 section 4.5): next(1) reserved(1) offset+flags(2) id(4).
export const FRAG6_OFFSET = 2;
export const FRAG6_ID = 4;
export const FRAG6_HLEN = 8;
export const FRAG6_OFFSET_MASK = 0xfff8;
export const FRAG6_M = 0x0001;

/** IANA protocol numbers the decoder dispatches on. */
export const IpProto = {
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  SCTP: 132,
  UDPLITE: 136,
} as const;

// TCP (RFC 9293): ports(4) seq(4) ack(4) offset(1) flags(1).
export const TCP_DATA_OFFSET = 12;
export const TCP_FLAGS = 13;
export const TCP_MIN_HLEN = 20;
// UDP (RFC 768) and UDP-Lite: ports(4) length(2) checksum(2).
export const UDP_HLEN = 8;
// SCTP common header (RFC 9260): ports(4) verification tag(4) checksum(4).
export const SCTP_HLEN = 12;
/** Source and destination port: the first four bytes of TCP, UDP, UDP-Lite and SCTP alike. */
export const PORTS_LEN = 4;

// ICMP (RFC 792) and ICMPv6 (RFC 4443): type(1) code(1) checksum(2), then 4 bytes that depend on the
// type (echo: id(2) seq(2)), then for errors the quoted packet.
export const ICMP_CODE = 1;
export const ICMP_ECHO_ID = 4;
export const ICMP_HLEN = 8;
export const ICMP_QUOTE = 8;

/** ICMPv4 types. Errors are the ones that quote the offending datagram (RFC 792, RFC 1812 4.3.2.3). */
export const Icmp4 = { ECHO_REPLY: 0, DEST_UNREACH: 3, SOURCE_QUENCH: 4, REDIRECT: 5, ECHO: 8, TIME_EXCEEDED: 11, PARAM_PROBLEM: 12 } as const;
/** ICMPv6 types: errors are 0-127 (RFC 4443 section 2.1); 1-4 are the ones that quote a packet. */
export const Icmp6 = { DEST_UNREACH: 1, PACKET_TOO_BIG: 2, TIME_EXCEEDED: 3, PARAM_PROBLEM: 4, ECHO: 128, ECHO_REPLY: 129 } as const;
