import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadCluster } from '../../src/manifests/load.js';
import { formatIp } from '../../src/model/ip.js';
import { loadError, loadText, podLines, tempTree } from './helpers.js';

function deployment(name: string, replicas: number, namespace = 'default', podSpec = '{containers: [{name: c, image: i}]}'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  replicas: ${replicas}
  template: {metadata: {labels: {app: ${name}}}, spec: ${podSpec}}
`;
}

function pod(name: string, status: string, spec = '{containers: [{name: c, image: i}]}'): string {
  return `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: ${spec}\nstatus: ${status}\n`;
}

const docs = (...d: string[]): string => d.join('---\n');

describe('pod addresses', () => {
  it('skips the network address, .1 and every address an input pod already holds', () => {
    const text = docs(deployment('web', 3), pod('fixed', '{podIP: 10.244.0.3}'));
    expect(podLines(loadText(text).cluster.pods)).toEqual([
      'default/fixed 10.244.0.3 @node-1',
      'default/web-0 10.244.0.2 @node-1',
      'default/web-1 10.244.0.4 @node-1',
      'default/web-2 10.244.0.5 @node-1',
    ]);
  });

  it('two running pods reporting one address is a warning', () => {
    const result = loadText(docs(pod('a', '{podIP: 10.1.0.5}'), pod('b', '{podIP: 10.1.0.5}')));
    expect(result.warnings).toEqual(['pods default/a and default/b both report address 10.1.0.5; traffic to it is attributed to one of them only']);
  });

  it('is deterministic: file order does not change names, nodes or addresses', () => {
    const dir = tempTree({ 'a.yaml': deployment('zeta', 2, 'b'), 'b.yaml': deployment('alpha', 2, 'a') });
    const one = loadCluster([join(dir, 'a.yaml'), join(dir, 'b.yaml')], { nodes: 2 }).cluster;
    const two = loadCluster([join(dir, 'b.yaml'), join(dir, 'a.yaml')], { nodes: 2 }).cluster;
    expect(podLines(one.pods)).toEqual(podLines(two.pods));
    expect(podLines(one.pods)).toEqual([
      'a/alpha-0 10.244.0.2 @node-1', 'a/alpha-1 10.244.0.3 @node-2', 'b/zeta-0 10.244.0.4 @node-1', 'b/zeta-1 10.244.0.5 @node-2',
    ]);
  });

  it('dual stack: --pod-cidr6 gives every addressed pod an IPv6 address too; a pod with its own address keeps it', () => {
    const text = docs(deployment('web', 2), pod('v4only', '{podIP: 10.9.0.7}'));
    const { cluster } = loadText(text, { podCidr6: 'fd00:10:244::/64' });
    expect(podLines(cluster.pods)).toEqual([
      'default/v4only 10.9.0.7 @node-1',
      'default/web-0 10.244.0.2,fd00:10:244::2 @node-1',
      'default/web-1 10.244.0.3,fd00:10:244::3 @node-1',
    ]);
  });

  it('a dual-stack pod from status.podIPs keeps both, IPv4 first whatever the order given', () => {
    const { cluster } = loadText(pod('p', '{podIP: "fd00::9", podIPs: [{ip: "fd00::9"}, {ip: 10.1.1.9}]}'));
    expect(podLines(cluster.pods)).toEqual(['default/p 10.1.1.9,fd00::9 @node-1']);
  });

  it('single-stack IPv6: an IPv6 --pod-cidr', () => {
    const { cluster } = loadText(deployment('web', 2), { podCidr: 'fd00:10:244::/64' });
    expect(podLines(cluster.pods)).toEqual(['default/web-0 fd00:10:244::2 @node-1', 'default/web-1 fd00:10:244::3 @node-1']);
    expect(cluster.services).toEqual([]);
  });

  it('an exhausted CIDR is an error naming the CIDR, the flag and the pod', () => {
    // 10.0.0.0/29: .0 network, .1 gateway, .7 broadcast: .2-.6 are five addresses.
    expect(podLines(loadText(deployment('web', 5), { podCidr: '10.0.0.0/29' }).cluster.pods).at(-1)).toBe('default/web-4 10.0.0.6 @node-1');
    expect(loadError(deployment('web', 6), { podCidr: '10.0.0.0/29' }))
      .toBe('pod CIDR (--pod-cidr) 10.0.0.0/29 has no free address left for pod default/web-5; give a larger CIDR');
  });
});

describe('nodes and hostNetwork pods', () => {
  it('generated nodes take --node-cidr addresses from .2; hostNetwork pods carry their node\'s address', () => {
    const hostSpec = '{hostNetwork: true, containers: [{name: c, image: i}]}';
    const { cluster } = loadText(deployment('hn', 3, 'default', hostSpec), { nodes: 2, nodeCidr: '192.168.50.0/24' });
    expect(cluster.nodes.map((n) => `${n.name} ${n.ips.map(formatIp).join(',')}`)).toEqual(['node-1 192.168.50.2', 'node-2 192.168.50.3']);
    expect(podLines(cluster.pods)).toEqual([
      'default/hn-0 192.168.50.2 @node-1', 'default/hn-1 192.168.50.3 @node-2', 'default/hn-2 192.168.50.2 @node-1',
    ]);
    expect(cluster.pods.every((p) => p.hostNetwork)).toBe(true);
  });

  it('a hostNetwork pod\'s own podIP and a pod\'s hostIP become its node\'s addresses', () => {
    const text = docs(
      pod('hn', '{podIP: 172.20.0.5}', '{hostNetwork: true, nodeName: w1, containers: []}'),
      pod('app', '{podIP: 10.5.0.2, hostIP: 172.20.0.6}', '{nodeName: w2, containers: []}'),
    );
    const { cluster } = loadText(text);
    expect(cluster.nodes.map((n) => `${n.name} ${n.ips.map(formatIp).join(',')}`)).toEqual(['w1 172.20.0.5', 'w2 172.20.0.6']);
  });

  it('a hostIP of a pod that names no node is not pinned on the node it is placed on', () => {
    const { cluster } = loadText(pod('p', '{podIP: 10.5.0.2, hostIP: 172.20.0.6}'));
    expect(cluster.nodes.map((n) => `${n.name} ${n.ips.map(formatIp).join(',')}`)).toEqual(['node-1 172.18.0.2']);
  });

  it('--nodes and the CIDR options are checked', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ nodes: 0 }, '--nodes: must be an integer from 1 to 10000, got 0'],
      [{ nodes: 1.5 }, '--nodes: must be an integer from 1 to 10000, got 1.5'],
      [{ podCidr: '10.244.0.0' }, '--pod-cidr: must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/64, got "10.244.0.0"'],
      [{ podCidr6: '10.245.0.0/16' }, '--pod-cidr6: must be an IPv6 CIDR, got "10.245.0.0/16"'],
      [{ podCidr: 'fd00::/64', podCidr6: 'fd01::/64' }, '--pod-cidr6: --pod-cidr fd00::/64 is already IPv6; give an IPv4 --pod-cidr for dual stack'],
      [{ nodeCidr: 'nodes' }, '--node-cidr: must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/64, got "nodes"'],
      [{ serviceCidr: '10.96.0.0/99' }, '--service-cidr: must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/64, got "10.96.0.0/99"'],
    ];
    for (const [options, message] of bad) {
      expect(() => loadText(deployment('a', 1), options)).toThrow(new InputError(message));
    }
  });

  it('an option CIDR with host bits set is used as its network, with a warning', () => {
    const result = loadText(deployment('a', 1), { podCidr: '10.50.7.9/16' });
    expect(podLines(result.cluster.pods)).toEqual(['default/a-0 10.50.0.2 @node-1']);
    expect(result.warnings).toEqual(['--pod-cidr: "10.50.7.9/16" has host bits set; it is treated as 10.50.0.0/16']);
  });
});

describe('services', () => {
  const svc = (name: string, spec: string): string => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: ${spec}\n`;

  it('defaults protocol to TCP and targetPort to the port; keeps named and numeric targetPorts', () => {
    const { cluster } = loadText(svc('s', '{selector: {app: a}, ports: [{name: a, port: 80}, {name: b, port: 53, protocol: UDP, targetPort: dns}, {name: c, port: 443, targetPort: 8443}]}'));
    expect(cluster.services[0]!.ports).toEqual([
      { name: 'a', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'b', port: 53, protocol: 'UDP', targetPort: 'dns' },
      { name: 'c', port: 443, protocol: 'TCP', targetPort: 8443 },
    ]);
    expect(cluster.services[0]!.selector).toEqual({ app: 'a' });
  });

  it('a selector absent or {} is null (endpoints managed by hand)', () => {
    const { cluster } = loadText(docs(svc('a', '{ports: [{port: 80}]}'), svc('b', '{selector: {}, ports: [{port: 80}]}')));
    expect(cluster.services.map((s) => s.selector)).toEqual([null, null]);
  });

  it('allocates cluster IPs in name order from --service-cidr, skipping given ones; none for headless or ExternalName', () => {
    const text = docs(
      svc('d', '{ports: [{port: 80}]}'),
      svc('c', '{clusterIP: 10.96.0.2, ports: [{port: 80}]}'),
      svc('b', '{clusterIP: None, ports: [{port: 80}]}'),
      svc('a', '{type: ExternalName, externalName: example.com}'),
      svc('e', '{clusterIPs: [10.96.0.50, "fd00:96::50"], ports: [{port: 80}]}'),
      svc('f', '{type: NodePort, ports: [{port: 80}]}'),
    );
    const { cluster } = loadText(text);
    expect(cluster.services.map((s) => `${s.name} ${s.clusterIPs.map(formatIp).join(',')}`)).toEqual([
      'a ', 'b ', 'c 10.96.0.2', 'd 10.96.0.3', 'e 10.96.0.50,fd00:96::50', 'f 10.96.0.4',
    ]);
    expect(loadText(svc('x', '{ports: [{port: 80}]}'), { serviceCidr: '10.100.0.0/24' }).cluster.services[0]!.clusterIPs.map(formatIp)).toEqual(['10.100.0.2']);
  });
});
