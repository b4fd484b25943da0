/**
 * tshark as a second, independent oracle for the decoder: every capture under captures/ (but the damaged
 * ones) is dissected by tshark and decoded by netsieve, and timestamps, lengths, addresses, ports, TCP
 * flags, ICMP fields, echo ids and the flows quoted by ICMP errors must agree. Skipped where tshark is
 * not installed (Debian package `tshark`, which brings mergecap).
 *
 * tshark takes seconds to start, so the captures are first concatenated by mergecap into one pcapng
 * (which also has netsieve read a pcapng written by another program: one interface per input, EPBs with
 * options) and dissected once. mergecap 4.0 fails on a file with several sections, so those are dissected
 * on their own.
 *
 * tshark is run without IP reassembly, so a fragment's transport header is only compared where tshark
 * shows one; malformed rows are not compared (tshark and we stop at different places, by design).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIp, ipFromWords } from '../../../src/model/ip.js';
import { RowFlag } from '../../../src/wire/flow-batch.js';
import { readAll, type RecordRow } from './rows.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const CAPTURES = join(import.meta.dirname, '../../../captures');
const FIELDS = ['frame.encap_type', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
  'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'udp.srcport', 'udp.dstport', 'sctp.srcport', 'sctp.dstport',
  'icmp.type', 'icmp.code', 'icmp.ident', 'icmpv6.type', 'icmpv6.code', 'icmpv6.echo.identifier'] as const;
type Field = (typeof FIELDS)[number];

function captures(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    if (statSync(p).isDirectory()) return n === 'damaged' ? [] : captures(p);
    return /\.pcap(ng)?$/.test(n) ? [p] : [];
  });
}

function dissect(path: string): Record<Field, string[]>[] {
  const args = ['-r', path, '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields',
    '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=/t', ...FIELDS.flatMap((f) => ['-e', f])];
  const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
  return out.split('\n').filter((l) => l !== '').map((line) => {
    const cols = line.split('\t');
    return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ? cols[i]!.split(',') : []])) as Record<Field, string[]>;
  }).filter((t) => t['frame.encap_type'].length > 0); // custom blocks are shown as records without a link type
}

const addr = (family: number, words: number[]): string => formatIp(ipFromWords(family as 4 | 6, Uint32Array.from(words), 0));
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

function compare(ours: RecordRow, t: Record<Field, string[]>, where: string): void {
  // A simple packet block has no timestamp: tshark shows none, we say 0.
  expect(`${ours.tsSec}.${String(ours.tsNsec).padStart(9, '0')}`, where).toBe(t['frame.time_epoch'][0] ?? '0.000000000');
  expect(ours.wireLength, where).toBe(num(t['frame.len'][0]));
  expect(ours.capturedLength, where).toBe(num(t['frame.cap_len'][0]));
  if (ours.flags & RowFlag.MALFORMED) return;
  const v4 = t['ip.src'].length > 0, v6 = t['ipv6.src'].length > 0;
  expect(ours.family, where).toBe(v4 ? 4 : v6 ? 6 : 0);
  if (ours.family === 0) return;
  const src = v4 ? t['ip.src'] : t['ipv6.src'], dst = v4 ? t['ip.dst'] : t['ipv6.dst'];
  expect(addr(ours.family, ours.src), where).toBe(src[0]);
  expect(addr(ours.family, ours.dst), where).toBe(dst[0]);
  const sport = t['tcp.srcport'][0] ?? t['udp.srcport'][0] ?? t['sctp.srcport'][0];
  const dport = t['tcp.dstport'][0] ?? t['udp.dstport'][0] ?? t['sctp.dstport'][0];
  const icmpType = t['icmp.type'][0] ?? t['icmpv6.type'][0], icmpCode = t['icmp.code'][0] ?? t['icmpv6.code'][0];
  if (icmpType !== undefined) {
    expect(ours.icmpType, where).toBe(num(icmpType));
    expect(ours.icmpCode, where).toBe(num(icmpCode));
  }
  if (ours.flags & RowFlag.ICMP_ERROR) {
    // The quoted packet: tshark lists its addresses second and its transport ports first.
    expect(addr(ours.family, ours.innerSrc), where).toBe(src[1]);
    expect(addr(ours.family, ours.innerDst), where).toBe(dst[1]);
    if (sport !== undefined) expect([ours.innerSrcPort, ours.innerDstPort], where).toEqual([num(sport), num(dport)]);
    return;
  }
  if (ours.flags & RowFlag.ICMP_ECHO) {
    const id = t['icmp.ident'][0] ?? t['icmpv6.echo.identifier'][0];
    expect([ours.srcPort, ours.dstPort], where).toEqual([Number(id), Number(id)]);
    return;
  }
  if (sport !== undefined) expect([ours.srcPort, ours.dstPort], where).toEqual([num(sport), num(dport)]);
  else if (!(ours.flags & (RowFlag.FIRST_FRAGMENT | RowFlag.LATER_FRAGMENT))) expect([ours.srcPort, ours.dstPort], where).toEqual([0, 0]);
  if (t['tcp.flags'][0] !== undefined) expect(ours.tcpFlags, where).toBe(Number(t['tcp.flags'][0]) & 0xff);
}

function agree(path: string, label: string): number {
  const ours = readAll(path, 64);
  const theirs = dissect(path);
  expect(ours.damage).toBeNull();
  expect(ours.rows.length).toBe(theirs.length);
  ours.rows.forEach((r, i) => compare(r, theirs[i]!, `${label} record ${i}`));
  return ours.rows.length;
}

describe.skipIf(!hasTshark)('netsieve decodes what tshark dissects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-tshark-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const all = captures(CAPTURES);
  const sectioned = all.filter((p) => p.endsWith('two-sections.pcapng'));
  const merged = all.filter((p) => !sectioned.includes(p));

  it(`${merged.length} captures concatenated by mergecap, read as one pcapng`, () => {
    const out = join(dir, 'merged.pcapng');
    execFileSync('mergecap', ['-a', '-F', 'pcapng', '-w', out, ...merged], { stdio: 'ignore' });
    expect(agree(out, 'merged')).toBeGreaterThan(130);
  });

  for (const path of sectioned) it(path.slice(CAPTURES.length + 1), () => { agree(path, path); });
});
