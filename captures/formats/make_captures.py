#!/usr/bin/env python3
"""Writes the small format captures in captures/formats/ and the damaged ones in captures/damaged/,
and captures/formats/expected.json: what a correct reader must return for each file.

Python standard library only, so the files can be remade anywhere:  python3 captures/formats/make_captures.py
The output is deterministic (fixed timestamps, no randomness): running it again gives the same bytes.

Every packet is built here with valid checksums (IPv4 header, TCP/UDP/ICMP/ICMPv6 with their
pseudo-headers, SCTP CRC32c), so tshark reads them without complaint; the expected decode of each
packet is written down from how it was built, not from what any reader returns.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DAMAGED = os.path.join(os.path.dirname(HERE), 'damaged')

# ---------------------------------------------------------------------------------------------- checksums

def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def crc32c(data):
    crc = 0xffffffff
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


def ip4(s):
    return bytes(int(x) for x in s.split('.'))


def ip6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def words(addr):
    """The FlowBatch form of an address: four big-endian u32 words, IPv4 in word 0."""
    b = ip4(addr) if '.' in addr else ip6(addr)
    b = b + b'\0' * (16 - len(b))
    return list(struct.unpack('!4I', b))

# ---------------------------------------------------------------------------------------------- L4

def tcp(sport, dport, flags, payload=b'', offset_words=5):
    def build(pseudo):
        h = struct.pack('!HHIIBBHHH', sport, dport, 1000, 2000 if flags & 0x10 else 0, offset_words << 4, flags, 65535, 0, 0)
        h += b'\0' * (offset_words * 4 - 20) if offset_words > 5 else b''
        seg = h + payload
        c = csum(pseudo(6, len(seg)) + seg)
        return seg[:16] + struct.pack('!H', c) + seg[18:]
    return 6, build


# A DNS query for kubernetes.default. IN A: what UDP to port 53 carries here, so that dissectors agree.
DNS_QUERY = (struct.pack('!HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + b'\x0akubernetes\x07default\x00'
             + struct.pack('!HH', 1, 1))


def udp(sport, dport, payload=DNS_QUERY):
    def build(pseudo):
        seg = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
        c = csum(pseudo(17, len(seg)) + seg) or 0xffff
        return seg[:6] + struct.pack('!H', c) + seg[8:]
    return 17, build


def sctp(sport, dport):
    def build(pseudo):
        init = struct.pack('!BBHIIHHI', 1, 0, 20, 0x11223344, 65535, 10, 10, 1)  # INIT chunk
        pkt = struct.pack('!HHII', sport, dport, 0, 0) + init
        c = crc32c(pkt)
        return pkt[:8] + struct.pack('<I', c) + pkt[12:]
    return 132, build


def icmp(type_, code, rest=b'\0\0\0\0', body=b''):
    def build(pseudo):
        msg = struct.pack('!BBH', type_, code, 0) + rest + body
        return msg[:2] + struct.pack('!H', csum(msg)) + msg[4:]
    return 1, build


def icmp6(type_, code, rest=b'\0\0\0\0', body=b''):
    def build(pseudo):
        msg = struct.pack('!BBH', type_, code, 0) + rest + body
        return msg[:2] + struct.pack('!H', csum(pseudo(58, len(msg)) + msg)) + msg[4:]
    return 58, build


def raw_l4(proto, data):
    return proto, lambda pseudo: data

# ---------------------------------------------------------------------------------------------- L3

def ipv4(src, dst, l4, options=b'', ident=0x1234, frag=0, ttl=64, total_override=None, cut_l4=None):
    proto, build = l4
    pseudo = lambda p, n: ip4(src) + ip4(dst) + struct.pack('!BBH', 0, p, n)
    payload = build(pseudo)
    if cut_l4 is not None:
        payload = payload[:cut_l4]
    ihl = 5 + len(options) // 4
    total = total_override if total_override is not None else ihl * 4 + len(payload)
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, total, ident, frag, ttl, proto, 0, ip4(src), ip4(dst)) + options
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, l4, ext=(), payload_override=None):
    """ext: list of (type, bytes-without-next-header) in order; each gets its next-header byte."""
    proto, build = l4
    pseudo = lambda p, n: ip6(src) + ip6(dst) + struct.pack('!IxxxB', n, p)
    payload = build(pseudo)
    chain = b''
    types = [t for t, _ in ext] + [proto]
    for i, (t, body) in enumerate(ext):
        chain += bytes([types[i + 1]]) + body
    first = types[0]
    plen = payload_override if payload_override is not None else len(chain) + len(payload)
    return struct.pack('!IHBB16s16s', 0x60000000, plen, first, 64, ip6(src), ip6(dst)) + chain + payload


def opts6(n8=1):
    """A hop-by-hop / destination options header body (without next-header): length byte, PadN."""
    size = n8 * 8
    return bytes([n8 - 1, 1, size - 4]) + b'\0' * (size - 4)


def frag6(offset, more, ident):
    return b'\0' + struct.pack('!HI', (offset << 3) | (1 if more else 0), ident)


def ah():
    """AH (RFC 4302): payload len in 4-byte units minus 2; 12 bytes + 12 bytes ICV = 24 bytes -> len 4."""
    return bytes([4]) + b'\0\0' + struct.pack('!II', 0x100, 1) + b'\xaa' * 12

# ---------------------------------------------------------------------------------------------- L2

MAC_A = bytes.fromhex('020000000001')
MAC_B = bytes.fromhex('020000000002')


def eth(l3, etype=None, tags=()):
    etype = etype if etype is not None else (0x0800 if l3[0] >> 4 == 4 else 0x86dd)
    hdr = MAC_B + MAC_A
    for tpid, vid in tags:
        hdr += struct.pack('!HH', tpid, vid)
    return hdr + struct.pack('!H', etype) + l3


def sll(l3, proto=None):
    proto = proto if proto is not None else (0x0800 if l3[0] >> 4 == 4 else 0x86dd)
    return struct.pack('!HHH8sH', 0, 1, 6, MAC_A + b'\0\0', proto) + l3


def sll2(l3, proto=None):
    proto = proto if proto is not None else (0x0800 if l3[0] >> 4 == 4 else 0x86dd)
    return struct.pack('!HHIHBB8s', proto, 0, 2, 1, 0, 6, MAC_A + b'\0\0') + l3


def null_hdr(af, little=True):
    return struct.pack('<I' if little else '>I', af)

# ---------------------------------------------------------------------------------------------- expectations

FLAG = {'FIRST_FRAGMENT': 1, 'LATER_FRAGMENT': 2, 'ICMP_ERROR': 4, 'ICMP_ECHO': 8, 'MALFORMED': 16}


def row(family=0, src=None, dst=None, proto=0, sport=0, dport=0, tcp_flags=0, icmp_type=0, icmp_code=0, flags=(),
        frag_id=0, inner=None, sctp_chunk=0):
    r = {'family': family, 'src': words(src) if src else [0, 0, 0, 0], 'dst': words(dst) if dst else [0, 0, 0, 0],
         'proto': proto, 'srcPort': sport, 'dstPort': dport, 'tcpFlags': tcp_flags, 'icmpType': icmp_type,
         'icmpCode': icmp_code, 'flags': sum(FLAG[f] for f in flags), 'fragmentId': frag_id,
         'innerSrc': [0, 0, 0, 0], 'innerDst': [0, 0, 0, 0], 'innerProto': 0, 'innerSrcPort': 0, 'innerDstPort': 0,
         'sctpChunk': sctp_chunk}  # first chunk type + 1 (INIT is 1, so 2)
    if inner:
        isrc, idst, iproto, isp, idp = inner
        r.update(innerSrc=words(isrc), innerDst=words(idst), innerProto=iproto, innerSrcPort=isp, innerDstPort=idp)
    return r

A4, B4, C4 = '10.0.1.5', '10.0.2.7', '192.0.2.1'
A6, B6 = 'fd00::1:5', 'fd00::2:7'
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def basic4():
    """(l3 bytes, expected row) for the everyday IPv4 cases."""
    quoted = ipv4(B4, A4, udp(53, 40000))[:28]  # the IP header and 8 bytes, as RFC 792 asks
    return [
        (ipv4(A4, B4, tcp(40000, 80, SYN)), row(4, A4, B4, 6, 40000, 80, SYN)),
        (ipv4(B4, A4, tcp(80, 40000, SYN | ACK)), row(4, B4, A4, 6, 80, 40000, SYN | ACK)),
        (ipv4(A4, B4, udp(40001, 53)), row(4, A4, B4, 17, 40001, 53)),
        (ipv4(A4, B4, sctp(5000, 6000)), row(4, A4, B4, 132, 5000, 6000, sctp_chunk=2)),
        (ipv4(A4, B4, icmp(8, 0, struct.pack('!HH', 0x4242, 1), b'ping')),
         row(4, A4, B4, 1, 0x4242, 0x4242, icmp_type=8, flags=['ICMP_ECHO'])),
        (ipv4(C4, A4, icmp(3, 3, b'\0\0\0\0', quoted)),
         row(4, C4, A4, 1, icmp_type=3, icmp_code=3, flags=['ICMP_ERROR'], inner=(B4, A4, 17, 53, 40000))),
    ]


def basic6():
    quoted = ipv6(B6, A6, tcp(443, 41000, SYN | ACK))
    return [
        (ipv6(A6, B6, tcp(41000, 443, SYN)), row(6, A6, B6, 6, 41000, 443, SYN)),
        (ipv6(A6, B6, udp(41001, 53)), row(6, A6, B6, 17, 41001, 53)),
        (ipv6(A6, B6, icmp6(128, 0, struct.pack('!HH', 0x77, 1))),
         row(6, A6, B6, 58, 0x77, 0x77, icmp_type=128, flags=['ICMP_ECHO'])),
        (ipv6(B6, A6, icmp6(1, 4, b'\0\0\0\0', quoted)),
         row(6, B6, A6, 58, icmp_type=1, icmp_code=4, flags=['ICMP_ERROR'], inner=(B6, A6, 6, 443, 41000))),
    ]


def ip_edge_cases():
    """IPv4 options and fragments, IPv6 extension headers and fragments, AH, malformed, not IP."""
    opt = bytes([0x94, 4, 0, 0])  # Router Alert, 4 bytes
    big = tcp(40002, 8080, PSH | ACK, b'x' * 40)
    first = ipv4(A4, B4, big)
    l4 = first[20:]
    hdr = lambda frag, part: ipv4(A4, B4, raw_l4(6, part), ident=0x5151, frag=frag)
    return [
        (ipv4(A4, B4, tcp(40001, 22, SYN), options=opt), row(4, A4, B4, 6, 40001, 22, SYN)),
        (hdr(0x2000, l4[:32]), row(4, A4, B4, 6, 40002, 8080, PSH | ACK, flags=['FIRST_FRAGMENT'], frag_id=0x5151)),
        (hdr(4, l4[32:]), row(4, A4, B4, 6, flags=['LATER_FRAGMENT'], frag_id=0x5151)),
        (ipv6(A6, B6, tcp(41002, 80, SYN), ext=[(0, opts6()), (43, bytes([0, 0, 0]) + b'\0' * 4), (60, opts6(2))]),
         row(6, A6, B6, 6, 41002, 80, SYN)),
        (ipv6(A6, B6, udp(41003, 4789), ext=[(44, frag6(0, True, 0xabcdef01))]),
         row(6, A6, B6, 17, 41003, 4789, flags=['FIRST_FRAGMENT'], frag_id=0xabcdef01)),
        (ipv6(A6, B6, raw_l4(17, b'y' * 16), ext=[(44, frag6(2, False, 0xabcdef01))]),
         row(6, A6, B6, 17, flags=['LATER_FRAGMENT'], frag_id=0xabcdef01)),
        (ipv6(A6, B6, tcp(41004, 179, SYN), ext=[(51, ah())]), row(6, A6, B6, 6, 41004, 179, SYN)),
        (ipv4(A4, B4, tcp(40003, 80, SYN), cut_l4=10, total_override=40), row(4, A4, B4, 6, 40003, 80, flags=['MALFORMED'])),
        (ipv4(A4, B4, udp(1, 2))[:12], row(flags=['MALFORMED'])),
    ]


ARP = struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, 1, MAC_A, ip4(A4), b'\0' * 6, ip4(B4))

# ---------------------------------------------------------------------------------------------- files

T0 = 1700000000


def pcap(path, linktype, frames, nano=False, big=False, snaplen=262144, ts_step=1):
    """frames: list of bytes (or (bytes, caplen_override, wirelen_override))."""
    e = '>' if big else '<'
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = struct.pack(e + 'IHHiIII', magic, 2, 4, 0, 0, snaplen, linktype)
    offsets = []
    for i, f in enumerate(frames):
        data, caplen, wire = (f if isinstance(f, tuple) else (f, len(f), len(f)))
        sub = (123456789 + i) if nano else (123456 + i)
        offsets.append(len(out))
        out += struct.pack(e + 'IIII', T0 + i * ts_step, sub, caplen, wire) + data
    write(path, out)
    return offsets


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def block(e, btype, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(e + 'II', btype, n) + body + struct.pack(e + 'I', n)


def shb(e):
    return block(e, 0x0a0d0d0a, struct.pack(e + 'IHHq', 0x1a2b3c4d, 1, 0, -1))


def option(e, code, value):
    return struct.pack(e + 'HH', code, len(value)) + value + b'\0' * (-len(value) % 4)


def idb(e, linktype, snaplen=262144, opts=b''):
    if opts:
        opts += struct.pack(e + 'HH', 0, 0)
    return block(e, 1, struct.pack(e + 'HHI', linktype, 0, snaplen) + opts)


def epb(e, ifid, ts, data, wire=None):
    wire = len(data) if wire is None else wire
    return block(e, 6, struct.pack(e + 'IIIII', ifid, ts >> 32, ts & 0xffffffff, len(data), wire) + data)


def spb(e, data, wire):
    return block(e, 3, struct.pack(e + 'I', wire) + data)


def legacy_pb(e, ifid, ts, data):
    return block(e, 2, struct.pack(e + 'HHIIII', ifid, 0, ts >> 32, ts & 0xffffffff, len(data), len(data)) + data)


def ts_rows(rows, stamps):
    return [dict(r, tsSec=s, tsNsec=n) for r, (s, n) in zip(rows, stamps)]


EXPECTED = {}


def expect(name, fmt, rows, link_types, damage=None, error=None):
    EXPECTED[name] = {'format': fmt, 'records': len(rows), 'linkTypes': link_types, 'rows': rows,
                      'damage': damage, 'error': error}


def classic_files():
    cases = basic4() + basic6()
    frames = [eth(l3) for l3, _ in cases] + [eth(ARP, 0x0806)]
    rows = [r for _, r in cases] + [row()]
    stamps_us = [(T0 + i, (123456 + i) * 1000) for i in range(len(rows))]
    stamps_ns = [(T0 + i, 123456789 + i) for i in range(len(rows))]
    pcap(f'{HERE}/ethernet-le-usec.pcap', 1, frames)
    expect('formats/ethernet-le-usec.pcap', 'pcap', ts_rows(rows, stamps_us), [1])
    pcap(f'{HERE}/ethernet-be-nsec.pcap', 1, frames, nano=True, big=True)
    expect('formats/ethernet-be-nsec.pcap', 'pcap', ts_rows(rows, stamps_ns), [1])
    pcap(f'{HERE}/ethernet-be-usec.pcap', 1, frames, big=True)
    expect('formats/ethernet-be-usec.pcap', 'pcap', ts_rows(rows, stamps_us), [1])
    pcap(f'{HERE}/ethernet-le-nsec.pcap', 1, frames, nano=True)
    expect('formats/ethernet-le-nsec.pcap', 'pcap', ts_rows(rows, stamps_ns), [1])

    edge = ip_edge_cases()
    pcap(f'{HERE}/ip-edge-cases.pcap', 1, [eth(l3, 0x0800 if r['family'] != 6 else 0x86dd) for l3, r in edge])
    expect('formats/ip-edge-cases.pcap', 'pcap', ts_rows([r for _, r in edge], stamps_us), [1])

    tagged = [(eth(basic4()[0][0], tags=[(0x8100, 100)]), basic4()[0][1]),
              (eth(basic6()[0][0], tags=[(0x88a8, 10), (0x8100, 100)]), basic6()[0][1]),
              (eth(basic4()[2][0], tags=[(0x9100, 10), (0x8100, 20)]), basic4()[2][1]),
              (eth(ARP, 0x0806, tags=[(0x8100, 5)]), row())]
    pcap(f'{HERE}/ethernet-vlan-qinq.pcap', 1, [f for f, _ in tagged])
    expect('formats/ethernet-vlan-qinq.pcap', 'pcap', ts_rows([r for _, r in tagged], stamps_us), [1])

    mixed = basic4()[:3] + basic6()[:3]
    mrows = ts_rows([r for _, r in mixed], stamps_us)
    links = [
        ('linux-sll', 113, lambda l3: sll(l3)),
        ('linux-sll2', 276, lambda l3: sll2(l3)),
        ('raw-101', 101, lambda l3: l3),
        ('raw-12', 12, lambda l3: l3),
        ('raw-14', 14, lambda l3: l3),
        ('null-le', 0, lambda l3: null_hdr(2 if l3[0] >> 4 == 4 else 30) + l3),
        ('null-be', 0, lambda l3: null_hdr(2 if l3[0] >> 4 == 4 else 24, little=False) + l3),
        ('loop', 108, lambda l3: null_hdr(2 if l3[0] >> 4 == 4 else 28, little=False) + l3),
    ]
    for name, lt, wrap in links:
        extra = [sll(ARP, 0x0806)] if lt == 113 else [sll2(ARP, 0x0806)] if lt == 276 else []
        pcap(f'{HERE}/{name}.pcap', lt, [wrap(l3) for l3, _ in mixed] + extra)
        expect(f'formats/{name}.pcap', 'pcap', mrows + ts_rows([row()] * len(extra), stamps_us[len(mixed):]), [lt])
    only4, only6 = basic4()[:3], basic6()[:3]
    pcap(f'{HERE}/raw-228-ipv4.pcap', 228, [l3 for l3, _ in only4])
    expect('formats/raw-228-ipv4.pcap', 'pcap', ts_rows([r for _, r in only4], stamps_us), [228])
    pcap(f'{HERE}/raw-229-ipv6.pcap', 229, [l3 for l3, _ in only6])
    expect('formats/raw-229-ipv6.pcap', 'pcap', ts_rows([r for _, r in only6], stamps_us), [229])
    # Snapshot length 54: Ethernet + IPv4 + 20 of TCP fits, a longer UDP/ICMP packet is cut (not MALFORMED: L4 fits).
    cut = [eth(basic4()[0][0]), eth(ipv4(A4, B4, udp(40001, 53, b'q' * 100)))]
    pcap(f'{HERE}/snaplen-54.pcap', 1, [(f[:54], min(54, len(f)), len(f)) for f in cut], snaplen=54)
    expect('formats/snaplen-54.pcap', 'pcap', ts_rows([basic4()[0][1], row(4, A4, B4, 17, 40001, 53)], stamps_us), [1])


def pcapng_files():
    cases = basic4()[:3] + basic6()[:2]
    rows = [r for _, r in cases]
    ts_us = [(T0 + i + (250000 * i) // 10**6, (250000 * i) % 10**6 * 1000) for i in range(len(rows))]
    for e, tag in (('<', 'le'), ('>', 'be')):
        data = shb(e) + idb(e, 1) + b''.join(
            epb(e, 0, (T0 + i) * 1000000 + 250000 * i, eth(l3)) for i, (l3, _) in enumerate(cases))
        write(f'{HERE}/ethernet-{tag}.pcapng', data)
        expect(f'formats/ethernet-{tag}.pcapng', 'pcapng', ts_rows(rows, ts_us), [1])

    # Two sections in different byte orders; the second's interface 0 is raw IP, not the first's Ethernet.
    s1 = shb('<') + idb('<', 1) + epb('<', 0, T0 * 1000000, eth(cases[0][0]))
    s2 = shb('>') + idb('>', 101) + epb('>', 0, (T0 + 1) * 1000000, cases[3][0])
    write(f'{HERE}/two-sections.pcapng', s1 + s2)
    expect('formats/two-sections.pcapng', 'pcapng', ts_rows([rows[0], rows[3]], [(T0, 0), (T0 + 1, 0)]), [1, 101])

    # Interfaces with their own clocks: nanoseconds (10^-9), 2^-20 s, and microseconds with if_tsoffset.
    e = '<'
    ns = T0 * 10**9 + 123456789
    ticks = (T0 << 20) + (1 << 19)  # half a second
    data = (shb(e) + idb(e, 1, opts=option(e, 9, b'\x09')) + idb(e, 101, opts=option(e, 9, bytes([0x80 | 20])))
            + idb(e, 113, opts=option(e, 14, struct.pack(e + 'q', 1000)))
            + epb(e, 0, ns, eth(cases[0][0])) + epb(e, 1, ticks, cases[1][0]) + epb(e, 2, 5 * 10**6 + 7, sll(cases[2][0])))
    write(f'{HERE}/tsresol.pcapng', data)
    expect('formats/tsresol.pcapng', 'pcapng',
           ts_rows(rows[:3], [(T0, 123456789), (T0, 500000000), (1005, 7000)]), [1, 101, 113])

    # Simple packet blocks: interface 0, no timestamp, captured length min(original, snaplen 60).
    big = eth(ipv4(A4, B4, udp(40001, 7777, b'z' * 200)))
    data = shb(e) + idb(e, 1, snaplen=60) + spb(e, eth(cases[0][0]), len(eth(cases[0][0]))) + spb(e, big[:60], len(big))
    write(f'{HERE}/simple-packet-blocks.pcapng', data)
    expect('formats/simple-packet-blocks.pcapng', 'pcapng',
           ts_rows([rows[0], row(4, A4, B4, 17, 40001, 7777)], [(0, 0), (0, 0)]), [1])

    # Blocks a reader must skip: name resolution (4), interface statistics (5), a custom block (0xBAD),
    # decryption secrets (0xA) and a block type nobody defined; plus the obsolete packet block (2).
    nrb = block(e, 4, struct.pack(e + 'HH', 1, 8) + ip4(A4) + b'a\0\0\0' + struct.pack(e + 'HH', 0, 0))
    isb = block(e, 5, struct.pack(e + 'III', 0, 0, 0))
    custom = block(e, 0xbad, struct.pack(e + 'I', 32473) + b'hello')
    dsb = block(e, 0x0a, struct.pack(e + 'II', 0x544c534b, 4) + b'keys')
    odd = block(e, 0x7777, b'\1\2\3')
    data = (shb(e) + nrb + idb(e, 1) + custom + epb(e, 0, T0 * 10**6, eth(cases[0][0])) + isb + dsb + odd
            + legacy_pb(e, 0, (T0 + 1) * 10**6, eth(cases[1][0])) + isb)
    write(f'{HERE}/skipped-blocks.pcapng', data)
    expect('formats/skipped-blocks.pcapng', 'pcapng', ts_rows(rows[:2], [(T0, 0), (T0 + 1, 0)]), [1])


def damaged_files():
    frames = [eth(l3) for l3, _ in basic4()[:4]]
    rows = [r for _, r in basic4()[:4]]
    stamps = [(T0 + i, (123456 + i) * 1000) for i in range(4)]
    full = f'{DAMAGED}/truncated-record.pcap'
    offs = pcap(full, 1, frames)
    data = open(full, 'rb').read()
    write(full, data[:offs[3] + 16 + 10])
    expect('damaged/truncated-record.pcap', 'pcap', ts_rows(rows[:3], stamps), [1],
           damage={'offset': offs[3], 'reason': 'file ends inside a record'})
    write(f'{DAMAGED}/truncated-header.pcap', data[:offs[2] + 7])
    expect('damaged/truncated-header.pcap', 'pcap', ts_rows(rows[:2], stamps), [1],
           damage={'offset': offs[2], 'reason': 'inside a record header'})
    f2 = list(frames)
    f2[2] = (frames[2], 2000, 2000)  # claims 2000 captured bytes, snaplen 1500
    offs = pcap(f'{DAMAGED}/caplen-over-snaplen.pcap', 1, f2, snaplen=1500)
    expect('damaged/caplen-over-snaplen.pcap', 'pcap', ts_rows(rows[:2], stamps), [1],
           damage={'offset': offs[2], 'reason': 'exceeds the snapshot length 1500'})
    f3 = list(frames)
    f3[1] = (frames[1], 0x7fff0000, 60)
    offs = pcap(f'{DAMAGED}/absurd-caplen.pcap', 1, f3, snaplen=0)
    expect('damaged/absurd-caplen.pcap', 'pcap', ts_rows(rows[:1], stamps), [1],
           damage={'offset': offs[1], 'reason': 'absurd'})

    e = '<'
    head = shb(e) + idb(e, 1)
    blocks = [epb(e, 0, (T0 + i) * 10**6, f) for i, f in enumerate(frames)]
    ng_stamps = [(T0 + i, 0) for i in range(4)]
    bad = bytearray(blocks[2])
    struct.pack_into(e + 'I', bad, 4, len(bad) + 2)  # not a multiple of 4
    write(f'{DAMAGED}/bad-block-length.pcapng', head + blocks[0] + blocks[1] + bytes(bad) + blocks[3])
    expect('damaged/bad-block-length.pcapng', 'pcapng', ts_rows(rows[:2], ng_stamps), [1],
           damage={'offset': len(head) + len(blocks[0]) + len(blocks[1]), 'reason': 'not a multiple of 4'})
    bad = bytearray(blocks[1])
    struct.pack_into(e + 'I', bad, len(bad) - 4, len(bad) + 4)
    write(f'{DAMAGED}/trailer-mismatch.pcapng', head + blocks[0] + bytes(bad) + blocks[2])
    expect('damaged/trailer-mismatch.pcapng', 'pcapng', ts_rows(rows[:1], ng_stamps), [1],
           damage={'offset': len(head) + len(blocks[0]), 'reason': 'trailing block length'})
    whole = head + b''.join(blocks)
    write(f'{DAMAGED}/truncated.pcapng', whole[:len(whole) - 9])
    expect('damaged/truncated.pcapng', 'pcapng', ts_rows(rows[:3], ng_stamps), [1],
           damage={'offset': len(whole) - len(blocks[3]), 'reason': 'file ends inside'})
    write(f'{DAMAGED}/unknown-interface.pcapng', head + blocks[0] + epb(e, 3, T0 * 10**6, frames[1]))
    expect('damaged/unknown-interface.pcapng', 'pcapng', ts_rows(rows[:1], ng_stamps), [1],
           damage={'offset': len(head) + len(blocks[0]), 'reason': 'interface 3'})

    write(f'{DAMAGED}/empty.pcap', b'')
    expect('damaged/empty.pcap', None, [], [], error='empty file')
    write(f'{DAMAGED}/not-a-capture.pcap', b'apiVersion: v1\nkind: Pod\n')
    expect('damaged/not-a-capture.pcap', None, [], [], error='not a pcap or pcapng capture')
    write(f'{DAMAGED}/file-header-cut.pcap', struct.pack('<IHH', 0xa1b2c3d4, 2, 4))
    expect('damaged/file-header-cut.pcap', None, [], [], error='file header cut short')


def main():
    classic_files()
    pcapng_files()
    damaged_files()
    with open(f'{HERE}/expected.json', 'w') as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
