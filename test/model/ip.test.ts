import { describe, expect, test } from 'vitest';
import {
  cidrContains, cidrContainsCidr, formatCidr, formatIp, ipEquals, ipFromWords, ipKey, ipToWords, mustParseCidr,
  mustParseIp, parseCidr, parseIp, prefixMask,
} from '../../src/model/ip.js';
import { makeRng } from '../support/rng.js';

describe('parseIp', () => {
  test.each([
    ['0.0.0.0', 4, 0n],
    ['255.255.255.255', 4, 0xffffffffn],
    ['10.244.1.7', 4, 0x0af40107n],
    ['::', 6, 0n],
    ['::1', 6, 1n],
    ['1::', 6, 1n << 112n],
    ['2001:DB8::1', 6, 0x20010db8000000000000000000000001n],
    ['2001:db8:0:0:0:0:2:1', 6, 0x20010db8000000000000000000020001n],
    ['::ffff:192.0.2.1', 6, 0xffffc0000201n],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n],
    ['0:0:0:0:0:ffff:192.0.2.1', 6, 0xffffc0000201n],
    ['1:2:3:4:5:6:1.2.3.4', 6, 0x00010002000300040005000601020304n],
  ])('%s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value });
  });

  test.each([
    '', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.04', '1.2.3.-1', ' 1.2.3.4', '1.2.3.4 ',
    ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '1:2:3:4:5:6:7::8',
    '::1.2.3', '::256.1.1.1', '1.2.3.4::', '1.2.3.4::1', '::1.2.3.4:1', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', '[::1]',
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  test('mustParseIp throws on garbage and names it', () => {
    expect(() => mustParseIp('10.0.0')).toThrow(/"10\.0\.0"/);
  });
});

describe('formatIp (RFC 5952 canonical text)', () => {
  test.each([
    ['10.0.0.1', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'], // 4.3 lower case; 4.2.1 longest run
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'], // 4.1 no leading zeros
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2 a single 0 group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3 the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3 the first of equal runs
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['0:1:2:3:4:5:6:7', '0:1:2:3:4:5:6:7'],
  ])('%s -> %s', (text, canonical) => {
    expect(formatIp(mustParseIp(text))).toBe(canonical);
  });

  test('format then parse is the identity on random addresses of both families', () => {
    const rng = makeRng(99);
    for (let i = 0; i < 2000; i++) {
      const v6 = i % 2 === 1;
      let value = 0n;
      for (let w = 0; w < (v6 ? 8 : 2); w++) value = (value << 16n) | BigInt(rng.chance(0.4) ? 0 : rng.int(0, 0xffff));
      const ip = { family: v6 ? 6 : 4, value } as const;
      expect(parseIp(formatIp(ip))).toEqual(ip);
    }
  });
});

describe('CIDRs', () => {
  test('parseCidr clears host bits and says so (accepted with a warning, as the API server does)', () => {
    expect(parseCidr('10.0.0.1/24')).toEqual({ cidr: { family: 4, base: 0x0a000000n, prefix: 24 }, hostBitsSet: true });
    expect(parseCidr('10.0.0.0/24')!.hostBitsSet).toBe(false);
    expect(formatCidr(parseCidr('2001:db8::1/32')!.cidr)).toBe('2001:db8::/32');
    expect(formatCidr(mustParseCidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
    expect(formatCidr(mustParseCidr('::/0'))).toBe('::/0');
  });

  test.each(['10.0.0.0', '10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/', '/8', '10.0.0/8', '10.0.0.0/8/8', '10.0.0.0/ 8'])(
    'rejects %j', (text) => {
      expect(parseCidr(text)).toBeNull();
    });

  test('prefixMask', () => {
    expect(prefixMask(4, 0)).toBe(0n);
    expect(prefixMask(4, 8)).toBe(0xff000000n);
    expect(prefixMask(4, 32)).toBe(0xffffffffn);
    expect(prefixMask(6, 128)).toBe((1n << 128n) - 1n);
    expect(prefixMask(6, 1)).toBe(1n << 127n);
  });

  test('cidrContains: edges of the block, /0, /32 and /128, and never across families', () => {
    const c = mustParseCidr('10.1.0.0/16');
    expect(['10.1.0.0', '10.1.255.255', '10.0.255.255', '10.2.0.0'].map((t) => cidrContains(c, mustParseIp(t)))).toEqual([true, true, false, false]);
    expect(cidrContains(mustParseCidr('0.0.0.0/0'), mustParseIp('255.1.2.3'))).toBe(true);
    expect(cidrContains(mustParseCidr('0.0.0.0/0'), mustParseIp('::1'))).toBe(false);
    expect(cidrContains(mustParseCidr('::/0'), mustParseIp('1.2.3.4'))).toBe(false);
    expect(cidrContains(mustParseCidr('::/0'), mustParseIp('::ffff:1.2.3.4'))).toBe(true);
    expect(cidrContains(mustParseCidr('10.0.0.7/32'), mustParseIp('10.0.0.7'))).toBe(true);
    expect(cidrContains(mustParseCidr('10.0.0.7/32'), mustParseIp('10.0.0.6'))).toBe(false);
    expect(cidrContains(mustParseCidr('fd00::a/128'), mustParseIp('fd00::a'))).toBe(true);
    expect(cidrContains(mustParseCidr('fd00::/64'), mustParseIp('fd00::1:0:0:0:1'))).toBe(false);
  });

  test('cidrContainsCidr', () => {
    const outer = mustParseCidr('10.0.0.0/8');
    expect(cidrContainsCidr(outer, mustParseCidr('10.1.0.0/16'))).toBe(true);
    expect(cidrContainsCidr(outer, outer)).toBe(true);
    expect(cidrContainsCidr(outer, mustParseCidr('11.0.0.0/16'))).toBe(false);
    expect(cidrContainsCidr(mustParseCidr('10.1.0.0/16'), outer)).toBe(false);
    expect(cidrContainsCidr(mustParseCidr('::/0'), mustParseCidr('10.0.0.0/8'))).toBe(false);
  });
});

describe('words, keys, equality', () => {
  test('ipToWords writes big-endian words, IPv4 in word 0 and zeros after it', () => {
    const out = new Uint32Array(8).fill(0xdeadbeef);
    ipToWords(mustParseIp('10.0.0.1'), out, 0);
    ipToWords(mustParseIp('2001:db8::ff:1'), out, 4);
    expect([...out]).toEqual([0x0a000001, 0, 0, 0, 0x20010db8, 0, 0, 0x00ff0001]);
  });

  test('words round trip for random addresses of both families, at any offset', () => {
    const rng = makeRng(5);
    const buf = new Uint32Array(16);
    for (let i = 0; i < 1000; i++) {
      const family = i % 2 === 0 ? 4 : 6;
      let value = 0n;
      for (let w = 0; w < (family === 4 ? 1 : 4); w++) value = (value << 32n) | BigInt(rng.int(0, 0xffffffff));
      const offset = rng.int(0, 12);
      ipToWords({ family, value }, buf, offset);
      expect(ipFromWords(family, buf, offset)).toEqual({ family, value });
    }
    ipToWords(mustParseIp('255.255.255.255'), buf, 0);
    expect(ipFromWords(4, buf, 0).value).toBe(0xffffffffn); // unsigned, not -1
  });

  test('ipKey and ipEquals keep families apart', () => {
    const v4 = mustParseIp('0.0.0.1');
    const v6 = mustParseIp('::1');
    expect(v4.value).toBe(v6.value);
    expect(ipKey(v4)).not.toBe(ipKey(v6));
    expect(ipEquals(v4, v6)).toBe(false);
    expect(ipEquals(v6, mustParseIp('0:0::0:1'))).toBe(true);
  });
});
