/**
 * `compile --model ebpf` output: runEbpfCompile's JSON document (the shape README documents), its
 * tables, the files it writes with -o, and a clear InputError when it cannot write them; and the
 * built CLI's progress bars while it writes them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, test, vi } from 'vitest';
import { runEbpfCompile } from '../../../src/cli/compile-ebpf.js';
import { generateCluster } from '../../../src/clustergen/generate.js';
import { compileEbpf } from '../../../src/compile/ebpf/compile.js';
import { toJson } from '../../../src/compile/ebpf/dump.js';
import { InputError } from '../../../src/errors.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { BIN, ROOT } from '../../support/cli.js';
import { EBPF_SCENARIOS } from './scenarios.js';

const index = indexCluster(EBPF_SCENARIOS['seed']!());

describe('runEbpfCompile', () => {
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
  });
  afterEach(() => { vi.restoreAllMocks(); });

  it('prints exactly one JSON document with identities, ipcache, endpoints and entries (packets from hits)', () => {
    const hits = new Float64Array(2);
    hits[0] = 7;
    runEbpfCompile(index, { output: 'json', hits });
    const doc = JSON.parse(out.join(''));
    expect(Object.keys(doc)).toEqual(['model', 'probeSequence', 'options', 'identities', 'ipcache', 'nodes', 'endpoints', 'entries', 'warnings']);
    expect(doc.model).toBe('ebpf');
    expect(doc.probeSequence).toMatch(/^Cilium v1\.17 __policy_can_access/);
    expect(doc.entries[0]).toEqual({
      index: 0, endpoint: 0, direction: 'ingress', identity: 257, protocol: 6, port: 80, prefixLength: 24, deny: false,
      origins: [{ policy: 'default/backend-allow-frontend', direction: 'ingress', rule: 0 }], packets: 7,
    });
    expect(doc.ipcache).toContainEqual({ cidr: '10.244.0.2/32', family: 4, prefix: 32, identity: 256, endpoint: 0, node: -1 });
    expect(err).toEqual([]);
  });

  it('prints the tables with --output table', () => {
    runEbpfCompile(index, { output: 'table' });
    const text = out.join('');
    expect(text).toContain('# identities');
    expect(text).toContain('# ipcache');
    expect(text).toMatch(/^Allow +Ingress +257 +k8s:app=frontend +80\/TCP +0 +24 +default\/backend-allow-frontend ingress\[0\]$/m);
  });

  it('writes ebpf.json and the three tables with -o, and says so on stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-ebpf-'));
    try {
      runEbpfCompile(index, { output: 'json', out: join(dir, 'maps') });
      expect(readdirSync(join(dir, 'maps')).sort()).toEqual(['ebpf.json', 'identities.txt', 'ipcache.txt', 'policy.txt']);
      expect(JSON.parse(readFileSync(join(dir, 'maps', 'ebpf.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(toJson(compileEbpf(index)))));
      expect(out).toEqual([]);
      expect(err.join('')).toMatch(/wrote ebpf\.json.*6 identities, 6 ipcache entries, 2 policy entries/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with an InputError naming -o when the directory cannot be made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-ebpf-'));
    try {
      writeFileSync(join(dir, 'file'), '');
      expect(() => runEbpfCompile(index, { output: 'json', out: join(dir, 'file') })).toThrow(InputError);
      expect(() => runEbpfCompile(index, { output: 'json', out: join(dir, 'file') })).toThrow(/^-o .*file: cannot write the eBPF maps/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('netsieve compile -o DIR on a terminal', () => {
  // `script` gives the command a pseudo-terminal; stdout goes to /dev/null, so what comes back is stderr.
  test.skipIf(spawnSync('script', ['--version']).status !== 0)('eBPF and iptables: a progress bar per large file, none with --output json or off a terminal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-ebpf-progress-'));
    try {
      const clusterFile = join(dir, 'cluster.json');
      // 2,310 policy map entries: the JSON's bar is drawn at 2,048.
      writeFileSync(clusterFile, JSON.stringify(generateCluster({ pods: 1000, namespaces: 20, policies: 100, seed: 5 })));
      const args = (extra: string) => `node ${BIN} compile --model ebpf --cluster ${clusterFile} -o ${join(dir, 'maps')} ${extra}`;
      const onTty = (extra: string) => spawnSync('script', ['-qec', `${args(extra)} > /dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' }).stdout;
      const shown = onTty('');
      expect(shown).toMatch(/netsieve: loading the cluster manifests\.\.\.(\r\x1b\[2K)+netsieve: compiling the eBPF model of 100 policies\.\.\.\r\x1b\[2K/);
      expect(shown).toMatch(/\] +\d+% +2,048 entries written to ebpf\.json/);
      expect(shown).toMatch(/\] +\d+% +[\d,]+ entries written to policy\.txt/);
      expect(shown).toMatch(/wrote ebpf\.json, identities\.txt, ipcache\.txt, policy\.txt/);
      expect(onTty('--output json')).not.toMatch(/entries written/);
      const piped = spawnSync('sh', ['-c', args('')], { cwd: ROOT, encoding: 'utf8' });
      expect(piped.status, piped.stderr).toBe(0);
      expect(piped.stderr).not.toMatch(/entries written|\r/);
      // The iptables files likewise (7,407 IPv4 rules: the bar is drawn at 4,096), on a terminal only.
      const iptables = (extra: string) => args(extra).replace('--model ebpf', '--model iptables');
      const shownIptables = spawnSync('script', ['-qec', `${iptables('')} > /dev/null`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' }).stdout;
      expect(shownIptables).toMatch(/netsieve: compiling the iptables model of 100 policies\.\.\.\r\x1b\[2K/);
      expect(shownIptables).toMatch(/\] +\d+% +[\d,]+ set members written to ipsets\.restore/);
      expect(shownIptables).toMatch(/\] +\d+% +4,096 rules written to rules\.v4/);
      const pipedIptables = spawnSync('sh', ['-c', iptables('')], { cwd: ROOT, encoding: 'utf8' });
      expect(pipedIptables.status, pipedIptables.stderr).toBe(0);
      expect(pipedIptables.stderr).not.toMatch(/written to|\r/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
