import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCluster } from '../../src/clustergen/generate.js';
import { BIN, ROOT, runCli } from '../support/cli.js';

const SEED = 'captures/seed/cluster.yaml';
const MODELS = ['reference', 'iptables', 'ebpf'] as const;

interface ProbeJson { model: string; port: number; protocol: string; results: { from: string; to: string; allowed: boolean }[] }

function probeJson(args: string[]): ProbeJson {
  const r = runCli(['probe', '--cluster', SEED, '--output', 'json', ...args]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as ProbeJson;
}

describe('probe on the seed scenario', () => {
  for (const model of MODELS) {
    it(`the ${model} model allows frontend -> backend and denies every other pod -> backend on TCP 80`, () => {
      const doc = probeJson(['--model', model]);
      expect(Object.keys(doc)).toEqual(['model', 'port', 'protocol', 'results']);
      expect(doc).toMatchObject({ model, port: 80, protocol: 'TCP' });
      expect(doc.results).toHaveLength(9);
      const toBackend = doc.results.filter((r) => r.to === 'default/backend-0');
      expect(toBackend).toEqual([
        { from: 'default/backend-0', to: 'default/backend-0', allowed: true }, // loopback (EvalOptions.allowLoopback)
        { from: 'default/frontend-0', to: 'default/backend-0', allowed: true },
        { from: 'default/other-0', to: 'default/backend-0', allowed: false },
      ]);
      expect(doc.results.filter((r) => r.to !== 'default/backend-0').every((r) => r.allowed)).toBe(true);
    });
  }

  it('the policy allows TCP only: UDP 80 to the backend is denied from the frontend too', () => {
    const doc = probeJson(['--protocol', 'UDP']);
    expect(doc.results.find((r) => r.from === 'default/frontend-0' && r.to === 'default/backend-0')!.allowed).toBe(false);
  });

  it('without the loopback exemption the backend cannot reach itself', () => {
    const doc = probeJson(['--no-allow-loopback']);
    expect(doc.results.find((r) => r.from === 'default/backend-0' && r.to === 'default/backend-0')!.allowed).toBe(false);
  });

  it('prints the upstream-style table: sources as rows, destinations as columns', () => {
    const r = runCli(['probe', '--cluster', SEED]);
    expect(r.status).toBe(0);
    const row = r.stdout.split('\n').find((l) => l.startsWith('| default/other-0'))!;
    expect(row.split('|').map((c) => c.trim()).filter(Boolean)).toEqual(['default/other-0', 'X', '.', '.']);
    expect(r.stdout).toContain('| TCP/80');
  });
});

describe('explain', () => {
  it('names the policy and rule that allowed, per direction', () => {
    const r = runCli(['explain', '--cluster', SEED, '--from', 'default/frontend-0', '--to', 'default/backend-0', '--port', '80', '--output', 'json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.allowed).toBe(true);
    const [e] = doc.explanations;
    expect(e.reference.ingress.allowedBy).toEqual([{ policy: 'default/backend-allow-frontend', direction: 'ingress', rule: 0 }]);
    expect(e.reference.egress.reason).toBe('not-isolated');
  });

  it('says which policies isolate the pod and that no rule allows', () => {
    const r = runCli(['explain', '--cluster', SEED, '--from', 'default/other-0', '--to', 'default/backend-0', '--port', '80']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('DENIED');
    expect(r.stdout).toContain('isolated by default/backend-allow-frontend; no rule allows');
    expect(r.stdout).toContain('rule 0: peer does not match, port matches');
  });

  it('follows a Service to its backend and target port (DNAT before policy)', () => {
    const r = runCli(['explain', '--cluster', SEED, '--from', 'default/frontend-0', '--to', 'svc/default/backend', '--port', '80', '--output', 'json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.service).toBe('default/backend');
    expect(doc.explanations.map((e: { to: string; port: number }) => [e.to, e.port])).toEqual([['default/backend-0 (10.244.0.2)', 80]]);
    expect(doc.allowed).toBe(true);
  });

  for (const model of ['iptables', 'ebpf'] as const) {
    it(`with --model ${model} shows the path walked and agrees with the reference`, () => {
      const r = runCli(['explain', '--cluster', SEED, '--from', 'default/other-0', '--to', 'default/backend-0', '--port', '80', '--model', model, '--output', 'json']);
      expect(r.status).toBe(0);
      const [e] = JSON.parse(r.stdout).explanations;
      expect(e.allowed).toBe(false);
      expect(e.agreesWithReference).toBe(true);
      expect(e.dataplane.path.length).toBeGreaterThan(0);
      expect(e.dataplane.cost).toBeGreaterThan(0);
    });
  }

  it('an external address is constrained only at the pod end', () => {
    const r = runCli(['explain', '--cluster', SEED, '--from', '192.0.2.7', '--to', 'default/backend-0', '--port', '80', '--output', 'json']);
    expect(r.status).toBe(0);
    const [e] = JSON.parse(r.stdout).explanations;
    expect(e.reference.egress.reason).toBe('not-a-pod');
    expect(e.reference.ingress.reason).toBe('no-rule-allows');
  });
});

describe('usage and input errors exit 2 with a message and no stack trace', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown model', ['probe', '--cluster', SEED, '--model', 'nft'], /--model: unknown model "nft"/],
    ['a port out of range', ['probe', '--cluster', SEED, '--port', '70000'], /--port: "70000" is not a port number/],
    ['an unknown protocol', ['probe', '--cluster', SEED, '--protocol', 'GRE'], /--protocol: "GRE"/],
    ['a missing cluster path', ['probe', '--cluster', 'no/such/dir'], /no\/such\/dir/],
    ['an unknown pod', ['explain', '--cluster', SEED, '--from', 'default/nope', '--to', 'default/backend-0', '--port', '80'], /no pod default\/nope/],
    ['a Service port that does not exist', ['explain', '--cluster', SEED, '--from', 'default/other-0', '--to', 'svc/default/backend', '--port', '81'], /has no TCP port 81/],
    ['a missing required option', ['explain', '--cluster', SEED, '--from', 'default/other-0'], /required option/],
    ['an unknown command', ['frobnicate'], /unknown command/],
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      const r = runCli(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    });
  }

  it('an invalid manifest names the file, the object, the field and the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-cli-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, [
      'apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', 'metadata: {name: db, namespace: prod}',
      'spec:', '  podSelector: {}', '  ingress:', '  - ports:', '    - {port: 80, endPort: 70}', '',
    ].join('\n'));
    const r = runCli(['probe', '--cluster', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('NetworkPolicy prod/db');
    expect(r.stderr).toContain('spec.ingress[0].ports[0].endPort');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe.skipIf(spawnSync('script', ['--version']).status !== 0)('probe of a larger cluster on a terminal', () => {
  it('names its steps and draws a bar of source pods while the table goes to a file; the file is the table a pipe gets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-probe-'));
    const clusterFile = join(dir, 'cluster.json');
    writeFileSync(clusterFile, JSON.stringify(generateCluster({ pods: 600, namespaces: 10, policies: 30, seed: 4 })));
    const table = join(dir, 'table.txt');
    // `script` gives the command a pseudo-terminal for stderr; stdout goes to the file.
    const stderr = spawnSync('script', ['-qec', `node ${BIN} probe --cluster ${clusterFile} > ${table}`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' }).stdout;
    expect(stderr).toMatch(/netsieve: loading the cluster manifests\.\.\.(\r\x1b\[2K)+netsieve: building the reference model\.\.\./);
    expect(stderr).toMatch(/\r\x1b\[2K\[#*\.*\]\s+\d+%\s+[\d,]+ source pods/);
    const piped = runCli(['probe', '--cluster', clusterFile]);
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');
    expect(readFileSync(table, 'utf8')).toBe(piped.stdout);
    expect(piped.stdout.split('\n').filter((l) => l.startsWith('| ns-')).length).toBe(600); // a row per generated pod
  });
});
