/**
 * Scenarios for the eBPF golden files: the iptables model's named scenarios (the same clusters through
 * both compilers) plus cases that exercise what only the eBPF compiler does.
 */
import type { Cluster } from '../../../src/model/types.js';
import { cluster, netpol, node, ns, pod, tcpPort } from '../../support/builders.js';
import { NAMED_SCENARIOS as SHARED } from '../iptables/scenarios.js';

/** The shared scenarios these goldens cover (a fixed list: new iptables scenarios do not need eBPF goldens). */
const SHARED_NAMES = ['seed', 'default-deny', 'allow-from-namespace', 'ipblock-except', 'named-ports', 'end-port', 'egress-only', 'ipv6'];

function shared(name: string): () => Cluster {
  const make = SHARED[name];
  if (!make) throw new Error(`test/compile/iptables/scenarios.ts no longer defines scenario ${name}`);
  return make;
}

export const EBPF_SCENARIOS: Readonly<Record<string, () => Cluster>> = {
  ...Object.fromEntries(SHARED_NAMES.map((n) => [n, shared(n)])),
  /** Vector 12: `http` is 8080 on one web pod and 9090 on the other: two identities, two egress entries. */
  'named-egress-per-destination': () => cluster({
    namespaces: [ns('prod')],
    nodes: [node('node-1', ['172.18.0.2'])],
    pods: [
      pod('prod/client', { labels: { app: 'client' }, ips: ['10.244.1.5'], node: 'node-1' }),
      pod('prod/web-a', { labels: { app: 'web' }, ips: ['10.244.1.6'], ports: [tcpPort(8080, 'http')], node: 'node-1' }),
      pod('prod/web-b', { labels: { app: 'web' }, ips: ['10.244.1.7'], ports: [tcpPort(9090, 'http')], node: 'node-1' }),
      pod('prod/web-c', { labels: { app: 'web' }, ips: ['10.244.1.8'], ports: [tcpPort(8080, 'http')], node: 'node-1' }),
    ],
    policies: [netpol('prod/client-to-web', {
      podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }] }],
    })],
  }),
  /** ipBlockMatchesPods: the two `app=db` pods fall in different policy CIDRs, so they get different identities. */
  'ipblock-splits-identities': () => cluster({
    namespaces: [ns('prod')],
    pods: [
      pod('prod/api', { labels: { app: 'api' }, ips: ['10.244.1.5', 'fd00::5'] }),
      pod('prod/db-0', { labels: { app: 'db' }, ips: ['10.244.1.6', 'fd00::6'] }),
      pod('prod/db-1', { labels: { app: 'db' }, ips: ['10.244.2.6', 'fd00::1:6'] }),
    ],
    policies: [netpol('prod/api-egress', {
      podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } }], ports: [{ port: 5432, endPort: 5440 }] }],
    })],
  }),
};
