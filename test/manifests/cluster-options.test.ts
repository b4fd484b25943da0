import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addClusterOptions, loadClusterFromOptions, loadOptionsFrom, type ClusterOptionValues } from '../../src/cli/cluster-options.js';
import { InputError } from '../../src/errors.js';
import { formatIp } from '../../src/model/ip.js';
import { policyYaml, tempTree } from './helpers.js';

function parse(args: string[]): ClusterOptionValues {
  const cmd = addClusterOptions(new Command('probe').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} }));
  cmd.parse(args, { from: 'user' });
  return cmd.opts<ClusterOptionValues>();
}

describe('--cluster options', () => {
  afterEach(() => vi.restoreAllMocks());

  it('parses several --cluster paths and the defaults', () => {
    const opts = parse(['--cluster', 'a.yaml', 'dir/', '--cluster', 'c.json']);
    expect(opts.cluster).toEqual(['a.yaml', 'dir/', 'c.json']);
    expect(loadOptionsFrom(opts)).toEqual({ nodes: 1, podCidr: '10.244.0.0/16', podCidr6: null, nodeCidr: '172.18.0.0/16', serviceCidr: null });
  });

  it('passes the other flags through', () => {
    const opts = parse(['--cluster', 'x', '--nodes', '3', '--pod-cidr', '10.1.0.0/16', '--pod-cidr6', 'fd00::/64', '--node-cidr', '10.2.0.0/24', '--service-cidr', '10.3.0.0/24']);
    expect(loadOptionsFrom(opts)).toEqual({ nodes: 3, podCidr: '10.1.0.0/16', podCidr6: 'fd00::/64', nodeCidr: '10.2.0.0/24', serviceCidr: '10.3.0.0/24' });
  });

  it('--cluster is required (a usage error, exit 2 in the CLI)', () => {
    expect(() => parse(['--nodes', '2'])).toThrow(/required option '--cluster <path\.\.\.>' not specified/);
  });

  it('a --nodes value that is no whole number is an InputError naming the flag', () => {
    expect(() => loadOptionsFrom(parse(['--cluster', 'x', '--nodes', 'three']))).toThrow(new InputError('--nodes: must be a whole number of nodes, got "three"'));
    expect(() => loadOptionsFrom(parse(['--cluster', 'x', '--nodes', '-1']))).toThrow(InputError);
  });

  it('loads and prints each warning to stderr as `netsieve: warning: ...`', () => {
    const dir = tempTree({ 'np.yaml': policyYaml('ingress: [{from: [{ipBlock: {cidr: 10.0.0.1/8}}]}]') });
    const writes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { writes.push(String(chunk)); return true; });
    const result = loadClusterFromOptions(parse(['--cluster', dir, '--pod-cidr', '10.9.9.9/16']));
    expect(result.cluster.policies).toHaveLength(1);
    expect(writes).toHaveLength(2);
    expect(writes[0]).toBe('netsieve: warning: --pod-cidr: "10.9.9.9/16" has host bits set; it is treated as 10.9.0.0/16\n');
    expect(writes[1]).toMatch(/^netsieve: warning: .*np\.yaml: NetworkPolicy default\/np: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: "10\.0\.0\.1\/8" has host bits set; it is treated as 10\.0\.0\.0\/8\n$/);
  });

  it('bad CIDR flags surface as InputErrors from loadClusterFromOptions', () => {
    const dir = tempTree({ 'np.yaml': policyYaml('{}') });
    expect(() => loadClusterFromOptions(parse(['--cluster', dir, '--pod-cidr6', 'nope']))).toThrow(
      new InputError('--pod-cidr6: must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/64, got "nope"'));
  });

  it('uses --nodes and --node-cidr when loading', () => {
    const dir = tempTree({ 'ds.yaml': 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}\nspec: {template: {spec: {containers: []}}}\n' });
    const { cluster } = loadClusterFromOptions(parse(['--cluster', dir, '--nodes', '2', '--node-cidr', '10.10.0.0/24']));
    expect(cluster.pods.map((p) => p.name)).toEqual(['ds-node-1', 'ds-node-2']);
    expect(cluster.nodes.map((n) => n.ips.map(formatIp)[0])).toEqual(['10.10.0.2', '10.10.0.3']);
  });
});
