/**
 * Decoder cases the format captures do not spell out: every truncation point of a packet, limits on
 * tag and extension-header chains, the loopback address families, TSO and jumbogram lengths, and the
 * flows quoted by ICMP errors (echo, fragments, cut quotes).
 */
import { describe, expect, it } from 'vitest';
import { FlowBatch, RowFlag } from '../../src/wire/flow-batch.js';
import { decodePacket } from '../../src/wire/decode.js';
import { LinkType } from '../../src/wire/offsets.js';

const batch = new FlowBatch(1);

function decode(bytes: number[] | Uint8Array, linkType: number = LinkType.RAW, wire?: number, caplen?: number) {
  const b = Uint8Array.from(bytes);
  decodePacket(b, 0, caplen ?? b.length, wire ?? b.length, linkType, batch, 0);
  return {
    family: batch.family[0], proto: batch.proto[0], srcPort: batch.srcPort[0], dstPort: batch.dstPort[0],
    tcpFlags: batch.tcpFlags[0], icmpType: batch.icmpType[0], flags: batch.flags[0], fragmentId: batch.fragmentId[0],
    src: Array.from(batch.src.subarray(0, 4)), innerProto: batch.innerProto[0],
    innerSrcPort: batch.innerSrcPort[0], innerDstPort: batch.innerDstPort[0], innerSrc: batch.innerSrc[0],
  };
}

const be16 = (v: number): number[] => [v >> 8, v & 255];
function ipv4(proto: number, l4: number[], opts: { total?: number; frag?: number; id?: number; ihl?: number } = {}): number[] {
  const ihl = opts.ihl ?? 5;
  const total = opts.total ?? ihl * 4 + l4.length;
  return [0x40 | ihl, 0, ...be16(total), ...be16(opts.id ?? 7), ...be16(opts.frag ?? 0), 64, proto, 0, 0,
    10, 0, 0, 1, 10, 0, 0, 2, ...new Array(ihl * 4 - 20).fill(1), ...l4];
}
function ipv6(next: number, rest: number[], plen?: number): number[] {
  const src = [0xfd, 0, ...new Array(13).fill(0), 1], dst = [0xfd, 0, ...new Array(13).fill(0), 2];
  return [0x60, 0, 0, 0, ...be16(plen ?? rest.length), next, 64, ...src, ...dst, ...rest];
}
const tcpSyn = [...be16(40000), ...be16(80), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
const udp = [...be16(5000), ...be16(53), 0, 8, 0, 0];
const eth = (type: number, payload: number[], tags: number[][] = []): number[] =>
  [...new Array(12).fill(2), ...tags.flat(), ...be16(type), ...payload];

describe('truncation', () => {
  it('a TCP SYN cut at every length decodes as far as it goes and flags the rest MALFORMED', () => {
    const full = eth(0x0800, ipv4(6, tcpSyn));
    expect(decode(full, LinkType.ETHERNET)).toMatchObject({ family: 4, srcPort: 40000, dstPort: 80, tcpFlags: 2, flags: 0 });
    for (let cut = 0; cut < full.length; cut++) {
      const got = decode(full, LinkType.ETHERNET, full.length, cut);
      expect(got.flags & RowFlag.MALFORMED, `cut at ${cut}`).toBe(RowFlag.MALFORMED);
      expect(got.family, `cut at ${cut}`).toBe(cut >= 34 ? 4 : 0); // addresses need the whole IPv4 header
      expect(got.srcPort, `cut at ${cut}`).toBe(cut >= 38 ? 40000 : 0);
      expect(got.tcpFlags, `cut at ${cut}`).toBe(cut >= 48 ? 2 : 0);
    }
  });

  it('an IPv4 total length beyond the frame is MALFORMED; Ethernet padding after it is not', () => {
    expect(decode(ipv4(17, udp, { total: 60 })).flags).toBe(RowFlag.MALFORMED);
    expect(decode([...ipv4(17, udp), 0, 0, 0, 0]).flags).toBe(0);
  });

  it('a header length below 5 words, or a wrong version, is MALFORMED', () => {
    const bad = ipv4(17, udp);
    bad[0] = 0x44;
    expect(decode(bad)).toMatchObject({ family: 4, flags: RowFlag.MALFORMED, srcPort: 0 });
    expect(decode(ipv6(17, udp), LinkType.IPV4)).toMatchObject({ family: 0, flags: RowFlag.MALFORMED });
  });

  it('IPv4 total length 0 (TCP segmentation offload) takes the length from the frame', () => {
    expect(decode(ipv4(6, tcpSyn, { total: 0 }))).toMatchObject({ family: 4, srcPort: 40000, tcpFlags: 2, flags: 0 });
  });

  it('a TCP data offset below 5 is MALFORMED', () => {
    const t = [...tcpSyn];
    t[12] = 0x40;
    expect(decode(ipv4(6, t)).flags).toBe(RowFlag.MALFORMED);
  });
});

describe('link layers', () => {
  it('walks up to four 802.1Q/802.1ad tags and calls a fifth malformed', () => {
    const tag = [0x81, 0, 0, 1];
    expect(decode(eth(0x8100, [0, 1, 0x81, 0, 0, 2, 0x08, 0, ...ipv4(17, udp)]), LinkType.ETHERNET)).toMatchObject({ family: 4, dstPort: 53 });
    const four = eth(0x88a8, [0, 1, ...tag, ...tag, 0x81, 0, 0, 1, 0x08, 0, ...ipv4(17, udp)]);
    expect(decode(four, LinkType.ETHERNET)).toMatchObject({ family: 4, dstPort: 53, flags: 0 });
    const five = eth(0x88a8, [0, 1, ...tag, ...tag, ...tag, 0x81, 0, 0, 1, 0x08, 0, ...ipv4(17, udp)]);
    expect(decode(five, LinkType.ETHERNET)).toMatchObject({ family: 0, flags: RowFlag.MALFORMED });
  });

  it('an 802.3 length field (LLC frame) and ARP are not IP, and not malformed', () => {
    expect(decode(eth(0x0040, new Array(64).fill(0)), LinkType.ETHERNET)).toMatchObject({ family: 0, flags: 0 });
    expect(decode(eth(0x0806, new Array(28).fill(0)), LinkType.ETHERNET)).toMatchObject({ family: 0, flags: 0 });
  });

  it('BSD loopback: AF_INET and every AF_INET6 value, in either byte order; other families are not IP', () => {
    for (const af of [10, 24, 28, 30]) {
      expect(decode([af, 0, 0, 0, ...ipv6(17, udp)], LinkType.NULL).family, `AF ${af} LE`).toBe(6);
      expect(decode([0, 0, 0, af, ...ipv6(17, udp)], LinkType.NULL).family, `AF ${af} BE`).toBe(6);
      expect(decode([0, 0, 0, af, ...ipv6(17, udp)], LinkType.LOOP).family, `AF ${af} LOOP`).toBe(6);
    }
    expect(decode([2, 0, 0, 0, ...ipv4(17, udp)], LinkType.NULL).family).toBe(4);
    expect(decode([7, 0, 0, 0, ...ipv4(17, udp)], LinkType.NULL)).toMatchObject({ family: 0, flags: 0 });
  });

  it('an unknown link type is not IP; a link header cut short is malformed', () => {
    expect(decode(ipv4(17, udp), 147)).toMatchObject({ family: 0, flags: 0 });
    expect(decode([0x08, 0], LinkType.ETHERNET)).toMatchObject({ family: 0, flags: RowFlag.MALFORMED });
    expect(decode([0, 0, 0], LinkType.LINUX_SLL2)).toMatchObject({ family: 0, flags: RowFlag.MALFORMED });
  });
});

describe('IPv6', () => {
  const hop = (next: number): number[] => [next, 0, 1, 4, 0, 0, 0, 0];
  it('more than 8 extension headers is MALFORMED', () => {
    let chain: number[] = [];
    for (let i = 0; i < 9; i++) chain = [...chain, ...hop(i === 8 ? 17 : 60)];
    expect(decode(ipv6(0, [...chain, ...udp]))).toMatchObject({ family: 6, flags: RowFlag.MALFORMED, srcPort: 0 });
    expect(decode(ipv6(0, [...hop(60), ...hop(17), ...udp]))).toMatchObject({ proto: 17, dstPort: 53, flags: 0 });
  });

  it('ESP ends the walk: protocol 50, no ports', () => {
    expect(decode(ipv6(50, [0, 0, 1, 0, 0, 0, 0, 1, 9, 9]))).toMatchObject({ family: 6, proto: 50, srcPort: 0, flags: 0 });
  });

  it('a jumbogram (payload length 0 with hop-by-hop) takes its length from the frame', () => {
    expect(decode(ipv6(0, [...hop(17), ...udp], 0))).toMatchObject({ proto: 17, dstPort: 53, flags: 0 });
  });

  it('a fragment id above 2^31 survives intact', () => {
    const frag = [17, 0, 0, 1, 0xfe, 0xdc, 0xba, 0x98];
    expect(decode(ipv6(44, [...frag, ...udp]))).toMatchObject({ flags: RowFlag.FIRST_FRAGMENT, fragmentId: 0xfedcba98, dstPort: 53 });
  });
});

describe('ICMP errors and echo', () => {
  it('an error quoting an echo request carries the echo id as the inner ports', () => {
    const echo = ipv4(1, [8, 0, 0, 0, 0x12, 0x34, 0, 1]);
    expect(decode(ipv4(1, [11, 0, 0, 0, 0, 0, 0, 0, ...echo]))).toMatchObject({
      icmpType: 11, flags: RowFlag.ICMP_ERROR, innerProto: 1, innerSrcPort: 0x1234, innerDstPort: 0x1234, innerSrc: 0x0a000001,
    });
  });

  it('an error quoting a later fragment has the inner addresses and protocol, no ports, and is not malformed', () => {
    const later = ipv4(17, [1, 2, 3, 4, 5, 6, 7, 8], { frag: 3 });
    expect(decode(ipv4(1, [3, 4, 0, 0, 0, 0, 5, 0xdc, ...later]))).toMatchObject({
      flags: RowFlag.ICMP_ERROR, innerProto: 17, innerSrcPort: 0, innerDstPort: 0,
    });
  });

  it('a quote cut before the inner ports is ICMP_ERROR and MALFORMED', () => {
    const quoted = ipv4(6, tcpSyn).slice(0, 22);
    expect(decode(ipv4(1, [3, 3, 0, 0, 0, 0, 0, 0, ...quoted]))).toMatchObject({
      flags: RowFlag.ICMP_ERROR | RowFlag.MALFORMED, innerProto: 6, innerSrcPort: 0,
    });
  });

  it('ICMPv6 packet-too-big quotes the flow; ICMPv6 in IPv4 is not read as ICMPv6', () => {
    const quoted = ipv6(6, tcpSyn);
    expect(decode(ipv6(58, [2, 0, 0, 0, 0, 0, 5, 0, ...quoted]))).toMatchObject({
      icmpType: 2, flags: RowFlag.ICMP_ERROR, innerProto: 6, innerSrcPort: 40000, innerDstPort: 80,
    });
    expect(decode(ipv4(58, [128, 0, 0, 0, 0, 9, 0, 1]))).toMatchObject({ proto: 58, icmpType: 0, flags: 0 });
  });

  it('an echo reply cut after its id is MALFORMED but keeps the id', () => {
    expect(decode(ipv4(1, [0, 0, 0, 0, 0, 9]))).toMatchObject({ flags: RowFlag.ICMP_ECHO | RowFlag.MALFORMED, srcPort: 9, dstPort: 9 });
  });
});

describe('SCTP', () => {
  const common = [...be16(5000), ...be16(6000), 0, 0, 0, 1, 0, 0, 0, 0];
  it('records the first chunk type plus one; none without a chunk', () => {
    expect(decode(ipv4(132, [...common, 4, 0, 0, 4]))).toMatchObject({ srcPort: 5000, dstPort: 6000, flags: 0 });
    expect(batch.sctpChunk[0]).toBe(5); // HEARTBEAT (4)
    decode(ipv4(132, common));
    expect(batch.sctpChunk[0]).toBe(0);
    decode(ipv4(132, [...common, 0, 3, 0, 4]));
    expect(batch.sctpChunk[0]).toBe(1); // DATA (0)
    decode(ipv4(17, udp));
    expect(batch.sctpChunk[0]).toBe(0);
  });
});

describe('rows are cleared between uses', () => {
  it('an ARP frame after an ICMP error leaves no inner flow, ports or flags behind', () => {
    decode(ipv4(1, [3, 3, 0, 0, 0, 0, 0, 0, ...ipv4(17, udp)]));
    expect(batch.innerProto[0]).toBe(17);
    expect(decode(eth(0x0806, new Array(28).fill(0)), LinkType.ETHERNET)).toMatchObject({
      family: 0, proto: 0, flags: 0, innerProto: 0, innerSrcPort: 0, innerSrc: 0, src: [0, 0, 0, 0],
    });
  });
});
