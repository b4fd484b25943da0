/**
 * `netsieve compare` as users run it (the built CLI): the JSON fields the CLI contract names, agreement
 * on the seed capture and on synthetic traffic, the self-contained HTML report, and bad input.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BIN, ROOT, runCli } from '../support/cli.js';

const SEED = ['captures/seed/seed.pcap', '--cluster', 'captures/seed/cluster.yaml'];
const dir = mkdtempSync(join(tmpdir(), 'netsieve-compare-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectContractShape(doc: Record<string, any>): void {
  expect(doc['agreement']).toMatchObject({ packets: expect.any(Number), disagreements: expect.any(Number) });
  for (const key of ['pps', 'rulesPerPacket', 'compileSeconds', 'rules']) expect(doc['models'].iptables[key], `iptables.${key}`).toBeGreaterThan(0);
  for (const key of ['pps', 'probesPerPacket', 'compileSeconds', 'mapEntries']) expect(doc['models'].ebpf[key], `ebpf.${key}`).toBeGreaterThan(0);
}

describe('netsieve compare', () => {
  test('on the seed capture: one JSON document with the contract fields, 28 packets, no disagreement', () => {
    const r = runCli(['compare', ...SEED, '--output', 'json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expectContractShape(doc);
    expect(doc.agreement).toMatchObject({ packets: 28, ipPackets: 24, disagreements: 0 });
    // The seed policy compiles to a handful of rules and 2 map entries (frontend -> backend, TCP 80; and
    // nothing else): sizes that a broken size report would miss.
    expect(doc.models.ebpf.mapEntries).toBe(2);
    expect(doc.models.iptables.size.sets).toBeGreaterThan(0);
    expect(doc.damage).toBeNull();
    // No synthetic traffic: no exchanges to name.
    expect(doc.exchanges).toBeNull();
  });

  const SWEEP = ['compare', '--synth', '500', '--cluster', 'captures/seed/cluster.yaml', '--sweep', '--sweep-sizes', '4,8', '--sweep-pods', '40'];

  test('--sweep: a point per size, and no progress lines on stderr when the output is not a terminal', () => {
    const r = runCli([...SWEEP, '--output', 'json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc.sweep.map((p: { policies: number; disagreements: number }) => [p.policies, p.disagreements])).toEqual([[4, 0], [8, 0]]);
  });

  test.skipIf(spawnSync('script', ['--version']).status !== 0)('--sweep on a terminal: a progress line per size, none with --output json', () => {
    // `script` gives the command a pseudo-terminal; stdout goes to /dev/null, so what comes back is stderr.
    const onTty = (extra: string[]) => spawnSync('script', ['-qec', `node ${BIN} ${[...SWEEP, ...extra].join(' ')} > /dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' }).stdout;
    expect(onTty([])).toMatch(/sweep: 4 policies done\r?\n.*sweep: 8 policies done/s);
    expect(onTty(['--output', 'json'])).not.toMatch(/policies done/);
  });

  test.skipIf(spawnSync('script', ['--version']).status !== 0)('on a terminal, a status line per step before the report; none with --output json', () => {
    const onTty = (extra: string[]) => spawnSync('script', ['-qec', `node ${BIN} compare ${[...SEED, ...extra].join(' ')} > /dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' }).stdout;
    const shown = onTty([]);
    expect(shown).toMatch(/netsieve: loading the cluster manifests\.\.\.\r\x1b\[2Knetsieve: reading the captures\.\.\.\r\x1b\[2Knetsieve: compiling both models and running 28 packets through each\.\.\.\r\x1b\[2K/);
    expect(onTty(['--output', 'json'])).not.toMatch(/netsieve:/);
  });

  test('--synth N: N synthetic packets, no disagreement, and a self-contained HTML report with inline SVG', () => {
    const html = join(dir, 'report.html');
    const r = runCli(['compare', '--synth', '3000', '--cluster', 'captures/seed/cluster.yaml', '--output', 'json', '--html', html]);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expectContractShape(doc);
    expect(doc.synth).toBe(3000);
    expect(doc.agreement).toMatchObject({ packets: 3000, disagreements: 0 });
    const text = readFileSync(html, 'utf8');
    expect(text).toMatch(/^<!DOCTYPE html>/);
    expect(text).toContain('<svg');
    // Self-contained: nothing a browser would fetch (no URL, no src/href, no CSS url() or @import).
    expect(text).not.toMatch(/https?:|\/\/[a-z]|\bsrc=|\bhref=|url\(|@import|<link|<script/i);
  });

  test('each model\'s conntrack table: as replay reports it on the same capture; --conntrack-max sizes it, and a full one is warned of', () => {
    const doc = JSON.parse(runCli(['compare', ...SEED, '--output', 'json']).stdout);
    const replayed = JSON.parse(runCli(['replay', ...SEED, '--model', 'all', '--output', 'json']).stdout);
    for (const m of ['iptables', 'ebpf']) {
      expect(doc.models[m].conntrack, m).toEqual(replayed.conntrack[m]);
      expect(doc.models[m].conntrack, m).toEqual({ capacity: 131072, trackers: 1, peakEntries: 2, evictions: 0 });
    }
    const small = runCli(['compare', '--synth', '3000', '--cluster', 'captures/seed/cluster.yaml', '--conntrack-max', '10', '--output', 'json']);
    expect(small.status, small.stderr).toBe(0);
    const filled = JSON.parse(small.stdout);
    expect(filled.agreement.disagreements).toBe(0);
    const ipt = filled.models.iptables.conntrack;
    expect(ipt).toMatchObject({ capacity: 10, trackers: 1, peakEntries: 10 });
    expect(ipt.evictions).toBeGreaterThan(1000);
    expect(filled.models.ebpf.conntrack).toEqual(ipt);
    const table = `conntrack table (10 entries) filled: ${ipt.evictions.toLocaleString('en-US')} entries were evicted`;
    expect(small.stderr).toContain(`netsieve: warning: the iptables model's ${table}`);
    expect(small.stderr).toContain(`netsieve: warning: the ebpf model's ${table}`);
    const text = runCli(['compare', ...SEED]).stdout;
    expect(text).toMatch(/conntrack table: peak entries of capacity \(evicted\)\s+2 of 131072 \(0\)\s+2 of 131072 \(0\)/);
  });

  test('the table output names both models and the agreement', () => {
    const r = runCli(['compare', ...SEED]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^28 packets \(24 IP\): 0 on which the models disagree/);
    expect(r.stdout).toMatch(/iptables\s+eBPF/);
  });

  test('--exchanges: the synthetic traffic has longer connections, so fewer of its packets open one; the report says so', () => {
    const run = (extra: string[]) => {
      const html = join(dir, `exchanges${extra.join('')}.html`);
      const r = runCli(['compare', '--synth', '3000', '--cluster', 'captures/seed/cluster.yaml', '--output', 'json', '--html', html, ...extra]);
      expect(r.status, r.stderr).toBe(0);
      return { doc: JSON.parse(r.stdout), html: readFileSync(html, 'utf8') };
    };
    const short = run([]), long = run(['--exchanges', '8']);
    expect([short.doc.exchanges, long.doc.exchanges]).toEqual([1, 8]);
    expect(long.doc.agreement).toMatchObject({ packets: 3000, disagreements: 0 });
    // The denied flows' packets all open (none is answered), so the share falls by less than 22/8.
    expect(long.doc.models.ebpf.connectionOpenings).toBeLessThan(short.doc.models.ebpf.connectionOpenings * 0.75);
    expect(long.html).toContain('3000 synthetic packets (8 request/response exchanges per allowed TCP connection)');
    expect(short.html).toContain('3000 synthetic packets.');
    const bad = runCli(['compare', '--synth', '10', '--cluster', 'captures/seed/cluster.yaml', '--exchanges', '65536']);
    expect([bad.status, bad.stderr]).toEqual([2, 'netsieve: --exchanges: "65536" is not a whole number from 1 to 65535\n']);
  });

  test('bad input exits 2 with a message and no stack trace', () => {
    const none = runCli(['compare', '--cluster', 'captures/seed/cluster.yaml']);
    expect([none.status, none.stderr]).toEqual([2, 'netsieve: compare: give a capture, or --synth N for synthetic traffic\n']);
    const zero = runCli(['compare', '--synth', '0', '--cluster', 'captures/seed/cluster.yaml']);
    expect(zero.status).toBe(2);
    expect(zero.stderr).toContain('--synth');
    const missing = runCli(['compare', join(dir, 'absent.pcap'), '--cluster', 'captures/seed/cluster.yaml']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('absent.pcap');
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    for (const bad of ['0', '16777217', 'ten']) {
      const r = runCli(['compare', ...SEED, '--conntrack-max', bad]);
      expect([r.status, r.stderr], bad).toEqual([2, `netsieve: --conntrack-max: "${bad}" is not a whole number from 1 to 16777216\n`]);
    }
  });
});
