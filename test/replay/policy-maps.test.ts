/**
 * `replay --policy-maps`: the eBPF policy maps with the packets each entry decided, as
 * `cilium bpf policy get` shows them after traffic; equal for every engine and thread count.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const SEED = ['captures/seed/seed.pcap', '--cluster', 'captures/seed/cluster.yaml'];

interface Entry { index: number; direction: string; identity: number; packets: number; origins: { policy: string; rule: number }[] }

function entries(args: string[]): Entry[] {
  const r = runCli(['replay', ...args, '--policy-maps', '--output', 'json']);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout).ebpfPolicyMaps.entries as Entry[]);
}

describe('replay --policy-maps', () => {
  it('counts the frontend connection on the entry its rule made, and nothing on the others', () => {
    const list = entries([...SEED, '--model', 'ebpf']);
    const frontend = list.find((e) => e.origins.some((o) => o.policy === 'default/backend-allow-frontend'))!;
    // One connection from the frontend: its opening SYN is the one packet the policy map decides;
    // the rest pass as ESTABLISHED in conntrack, before any map lookup (as in bpf_lxc).
    expect(frontend.packets).toBe(1);
    expect(list.filter((e) => e !== frontend).every((e) => e.packets === 0)).toBe(true);
  });

  it('gives the same counts on synthetic traffic with every engine and thread count', () => {
    const dir = mkdtempSync(join(tmpdir(), 'netsieve-maps-'));
    const pcap = join(dir, 'synth.pcap');
    const s = runCli(['synth', '--cluster', 'test/fixtures/manifests/kubectl-get-all.yaml', '--packets', '20000', '--seed', '7', '-o', pcap]);
    expect(s.status, s.stderr).toBe(0);
    const base = [pcap, '--cluster', 'test/fixtures/manifests/kubectl-get-all.yaml', '--model', 'all'];
    const one = entries([...base, '--engine', 'js']);
    expect(one.reduce((n, e) => n + e.packets, 0)).toBeGreaterThan(0);
    expect(entries([...base, '--engine', 'native'])).toEqual(one);
    expect(entries([...base, '--engine', 'js', '--threads', '2'])).toEqual(one);
  });

  it('is refused without the eBPF model', () => {
    const r = runCli(['replay', ...SEED, '--model', 'iptables', '--policy-maps']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--policy-maps needs the eBPF model');
  });
});
