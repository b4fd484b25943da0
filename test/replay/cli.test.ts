import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { BIN, ROOT, runCli } from '../support/cli.js';
import { SEED_CLUSTER, SEED_PCAP, tempDir } from './helpers.js';

interface ReplayJson {
  packets: number;
  connections: { total: number; allowed: number; denied: number };
  denied: Record<string, unknown>[];
  disagreements: number;
  damage: { offset: number; reason: string } | null;
  seconds: number;
  packetsPerSecond: number;
  verdicts: Record<string, { accepted: number; dropped: number }>;
}

function replayJson(args: string[], status = 0): ReplayJson {
  const r = runCli(['replay', ...args, '--cluster', SEED_CLUSTER, '--output', 'json']);
  expect(r.status).toBe(status);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout) as ReplayJson;
}

describe('netsieve replay (CLI)', () => {
  it('prints one JSON document with the contract fields and exits 0', () => {
    const r = runCli(['replay', SEED_PCAP, '--cluster', SEED_CLUSTER, '--output', 'json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout) as ReplayJson;
    expect(doc.packets).toBe(28);
    expect(doc.connections).toMatchObject({ total: 2, allowed: 1, denied: 1 });
    expect(Object.keys(doc.denied[0]!)).toEqual(expect.arrayContaining(['src', 'srcPort', 'dst', 'dstPort', 'protocol', 'srcPod', 'dstPod', 'packets', 'reason']));
    expect(doc.denied[0]).toMatchObject({ srcPod: 'default/other-0', dstPod: 'default/backend-0', dstPort: 80, protocol: 'TCP' });
    expect(doc.disagreements).toBe(0);
    expect(doc.damage).toBeNull();
    expect(typeof doc.seconds).toBe('number');
    expect(doc.packetsPerSecond).toBeGreaterThan(0);
  });

  it('--model all: the three models agree on the seed capture', () => {
    const doc = replayJson([SEED_PCAP, '--model', 'all']);
    expect(Object.keys(doc.verdicts)).toEqual(['reference', 'iptables', 'ebpf']);
    expect(doc.disagreements).toBe(0);
  });

  it('--limit caps the denied connections listed, not the counts', () => {
    const doc = replayJson([SEED_PCAP, '--limit', '0']);
    expect(doc.denied).toEqual([]);
    expect(doc.connections.denied).toBe(1);
  });

  it('exits 3 on a damaged capture, with the report of everything before the damage', () => {
    const bytes = readFileSync(SEED_PCAP);
    const cut = join(tempDir(), 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const r = runCli(['replay', cut, '--cluster', SEED_CLUSTER, '--output', 'json']);
    expect(r.status).toBe(3);
    const doc = JSON.parse(r.stdout) as ReplayJson;
    expect(doc.packets).toBe(27);
    expect(doc.damage!.offset).toBeGreaterThan(24);
    expect(r.stderr).toMatch(/cut\.pcap: read only up to byte offset \d+/);
  });

  it('exits 2 naming the file for a missing capture, a file that is no capture, and a bad --model; never a stack', () => {
    const dir = tempDir();
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, this is no capture at all');
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing.pcap')], /missing\.pcap/],
      [[text], /notes\.txt: not a pcap/],
      [[SEED_PCAP, '--model', 'nft'], /--model/],
      [[SEED_PCAP, '--limit', 'many'], /--limit/],
      ...['0', 'lots', '16777217', '-5'].map((n): [string[], RegExp] => [[SEED_PCAP, '--conntrack-max', n], /--conntrack-max: .* is not a whole number from 1 to 16777216/]),
    ];
    for (const [args, message] of cases) {
      const r = runCli(['replay', ...args, '--cluster', SEED_CLUSTER]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
  });

  it('prints a readable table by default, and no progress bar when stderr is not a terminal', () => {
    const r = runCli(['replay', SEED_PCAP, '--cluster', SEED_CLUSTER]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/connections\s+2: 1 allowed, 1 denied/);
    expect(r.stdout).toMatch(/default\/other-0 \(10\.244\.0\.4:\d+\) -> default\/backend-0 \(10\.244\.0\.2:80\) TCP, 12 packets/);
    expect(r.stdout).toMatch(/isolated by default\/backend-allow-frontend/);
  });

  it('--write-allowed and --write-dropped write pcaps that split the IP packets', () => {
    const dir = tempDir();
    const a = join(dir, 'a.pcap');
    const d = join(dir, 'd.pcap');
    const doc = replayJson([SEED_PCAP, '--write-allowed', a, '--write-dropped', d]);
    const count = (p: string) => {
      const b = readFileSync(p);
      let n = 0;
      for (let at = 24; at < b.length; at += 16 + b.readUInt32LE(at + 8)) n++;
      return n;
    };
    expect(count(a)).toBe(doc.verdicts['reference']!.accepted);
    expect(count(d)).toBe(doc.verdicts['reference']!.dropped);
    expect(count(a) + count(d)).toBe(24);
  });
});

describe('netsieve synth (CLI) and its replay', () => {
  it('writes the same bytes for the same seed, and the models agree on every packet of it', () => {
    const dir = tempDir();
    const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    const out = [join(dir, 'a.pcap'), join(dir, 'b.pcap')];
    for (const o of out) {
      const r = runCli(['synth', '--cluster', SEED_CLUSTER, '--packets', '20000', '--seed', '5', '--size', 'imix', '-o', o]);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/wrote .*20000 packets/);
    }
    expect(sha(out[0]!)).toBe(sha(out[1]!));
    const doc = replayJson([out[0]!, '--model', 'all']);
    expect(doc.packets).toBe(20000);
    expect(doc.connections.allowed).toBeGreaterThan(100);
    expect(doc.connections.denied).toBeGreaterThan(100);
    expect(doc.disagreements).toBe(0);
  });

  it('--conntrack-max sizes every model\'s table; a table that fills is reported, and warned of on stderr', () => {
    const capture = join(tempDir(), 'many.pcap');
    expect(runCli(['synth', '--cluster', SEED_CLUSTER, '--packets', '3000', '--seed', '9', '-o', capture]).status).toBe(0);
    const run = (args: string[]) => {
      const r = runCli(['replay', capture, '--cluster', SEED_CLUSTER, '--model', 'all', '--output', 'json', ...args]);
      expect(r.status).toBe(0);
      return { doc: JSON.parse(r.stdout) as ReplayJson & { conntrack: Record<string, { capacity: number; trackers: number; peakEntries: number; evictions: number }> }, stderr: r.stderr };
    };
    const roomy = run([]);
    expect(roomy.stderr).toBe('');
    const peak = roomy.doc.conntrack['ebpf']!.peakEntries;
    expect(peak).toBeGreaterThan(20);
    for (const m of ['reference', 'iptables', 'ebpf']) expect(roomy.doc.conntrack[m]).toEqual({ capacity: 131_072, trackers: 1, peakEntries: peak, evictions: 0 });

    const small = run(['--conntrack-max', '10']);
    for (const m of ['reference', 'iptables', 'ebpf']) {
      expect(small.doc.conntrack[m]).toMatchObject({ capacity: 10, trackers: 1, peakEntries: 10 });
      expect(small.doc.conntrack[m]!.evictions).toBeGreaterThan(0);
      expect(small.stderr).toMatch(new RegExp(`netsieve: warning: the ${m} model's conntrack table \\(10 entries\\) filled: [\\d,]+ entries were evicted`));
    }
    expect(small.stderr).not.toMatch(/threads/);
    const sharded = run(['--conntrack-max', '10', '--threads', '2']);
    expect(sharded.doc.conntrack['ebpf']).toMatchObject({ capacity: 10, trackers: 2, peakEntries: 20 });
    expect(sharded.stderr).toMatch(/with 2 threads each shard has a table of its own, so verdicts may differ from one thread's/);
  });

  it('refuses a bad --size or --packets with exit 2', () => {
    for (const args of [['--size', '20'], ['--packets', 'x']]) {
      const r = runCli(['synth', '--cluster', SEED_CLUSTER, '--packets', '10', '-o', join(tempDir(), 'x.pcap'), ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--size|--packets/);
    }
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

describe.skipIf(!hasScript)('netsieve replay progress bar', () => {
  it('draws on a terminal for a long replay, and stays quiet with --output json', () => {
    const dir = tempDir();
    const capture = join(dir, 'long.pcap');
    expect(runCli(['synth', '--cluster', SEED_CLUSTER, '--packets', '300000', '--seed', '1', '-o', capture]).status).toBe(0);
    // `script` gives the command a pseudo-terminal; stdout goes to /dev/null, so what comes back is stderr.
    const onTty = (extra: string) => spawnSync('script', ['-qec',
      `node ${BIN} replay ${capture} --cluster ${SEED_CLUSTER} ${extra} > /dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' }).stdout;
    expect(onTty('')).toMatch(/\r\x1b\[2K\[#*\.*\]\s+\d+%\s+[\d,]+ packets/);
    expect(onTty('--output json')).not.toMatch(/packets/);
  });

  it('names the steps before the bar (loading, building the models), each clearing the line; none with --output json', () => {
    const onTty = (args: string) => spawnSync('script', ['-qec', `node ${BIN} ${args} > /dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' }).stdout;
    const shown = onTty(`replay ${SEED_PCAP} --cluster ${SEED_CLUSTER} --model ebpf`);
    expect(shown).toMatch(/\r\x1b\[2Knetsieve: loading the cluster manifests\.\.\.\r\x1b\[2Knetsieve: building the ebpf model of 3 pods and 1 policies\.\.\./);
    // Then the bar, on the same line, and the line cleared at the end, before the report.
    expect(shown).toMatch(/policies\.\.\.\r\x1b\[2K\[#*\.*\].*\r\x1b\[2K$/s);
    expect(onTty(`replay ${SEED_PCAP} --cluster ${SEED_CLUSTER} --model all`)).toMatch(/building the reference, iptables, ebpf models of 3 pods/);
    expect(onTty(`replay ${SEED_PCAP} --cluster ${SEED_CLUSTER} --output json`)).not.toMatch(/netsieve:/);
    // An error's own line comes on a cleared line, not after the status.
    const failed = onTty(`replay ${SEED_PCAP} --cluster ${join(tempDir(), 'missing.yaml')}`);
    expect(failed).toMatch(/loading the cluster manifests\.\.\.\r\x1b\[2Knetsieve: .*missing\.yaml: cannot read cluster manifests/);
  });
});
