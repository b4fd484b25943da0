/**
 * Named scenarios for the iptables golden files and tests, built with the test builders so each reads
 * like its manifests.
 */
import type { Cluster } from '../../../src/model/types.js';
import { cluster, netpol, node, ns, pod, sctpPort, tcpPort, udpPort } from '../../support/builders.js';

/** captures/seed/cluster.yaml as the loader expands it: three pods, one policy (backend <- frontend TCP 80). */
export function seedCluster(): Cluster {
  return cluster({
    namespaces: [ns('default')],
    nodes: [node('node-1', ['172.18.0.2'])],
    pods: [
      pod('default/backend-0', { labels: { app: 'backend' }, ips: ['10.244.0.2'], ports: [tcpPort(80, 'http')], node: 'node-1' }),
      pod('default/frontend-0', { labels: { app: 'frontend' }, ips: ['10.244.0.3'], ports: [tcpPort(80, 'http')], node: 'node-1' }),
      pod('default/other-0', { labels: { app: 'other' }, ips: ['10.244.0.4'], node: 'node-1' }),
    ],
    policies: [netpol('default/backend-allow-frontend', {
      podSelector: { matchLabels: { app: 'backend' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
    })],
  });
}

const basePods = () => [
  pod('prod/web-0', { labels: { app: 'web' }, ips: ['10.244.1.10', 'fd00:10:244:1::10'], ports: [tcpPort(8080, 'http'), udpPort(53, 'dns')], node: 'node-1' }),
  pod('prod/db-0', { labels: { app: 'db' }, ips: ['10.244.1.11', 'fd00:10:244:1::11'], ports: [tcpPort(5432, 'pg'), sctpPort(9000, 'sig')], node: 'node-1' }),
  pod('dev/client-0', { labels: { app: 'client' }, ips: ['10.244.2.10', 'fd00:10:244:2::10'], ports: [tcpPort(9090, 'http')], node: 'node-2' }),
];

const base = (policies: Parameters<typeof cluster>[0]['policies']): Cluster => cluster({
  namespaces: [ns('prod', { env: 'prod' }), ns('dev', { env: 'dev' })],
  nodes: [node('node-1', ['172.18.0.2', 'fc00::2']), node('node-2', ['172.18.0.3', 'fc00::3'])],
  pods: basePods(),
  policies,
});

export const NAMED_SCENARIOS: Readonly<Record<string, () => Cluster>> = {
  seed: seedCluster,
  'default-deny': () => base([netpol('prod/deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]),
  'allow-from-namespace': () => base([netpol('prod/from-dev', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } } }] }],
  })]),
  'ipblock-except': () => base([netpol('prod/from-block', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.1.0/24'] } }, { ipBlock: { cidr: '10.244.2.0/24' } }], ports: [{ port: 5432 }] }],
  })]),
  'named-ports': () => base([netpol('prod/named', {
    podSelector: {},
    ingress: [{ ports: [{ port: 'http' }, { protocol: 'UDP', port: 'dns' }, { protocol: 'SCTP', port: 'sig' }] }],
  })]),
  'end-port': () => base([netpol('prod/ranges', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ ports: [{ port: 8000, endPort: 8100 }, { port: 443, endPort: 443 }, { protocol: 'UDP', port: 53 },
      ...Array.from({ length: 16 }, (_, i) => ({ port: 10000 + i }))] }],
  })]),
  'egress-only': () => base([netpol('dev/egress-dns-web', {
    podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }] },
      { ports: [{ protocol: 'UDP', port: 53 }] }],
  })]),
  'ipblock-zero-halves': () => base([netpol('prod/halves', {
    podSelector: {}, policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['0.0.0.0/1', '0.0.0.0/1', '192.168.0.0/16'] } }, { ipBlock: { cidr: '::/0', except: ['8000::/1'] } }] }],
    egress: [{ to: [{ ipBlock: { cidr: '10.244.1.10/32' } }, { ipBlock: { cidr: 'fd00:10:244:1::/64', except: ['fd00:10:244:1::10/128'] } }] }],
  })]),
  'dispatch-tree': dispatchTree,
  ipv6: () => base([netpol('prod/v6-block', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ from: [{ ipBlock: { cidr: '::/0', except: ['fd00:10:244:2::/64'] } }, { ipBlock: { cidr: '10.0.0.0/8' } }] }],
  })]),
};

/** 40 isolated pods: the dispatch becomes a prefix tree (more than 16 addresses per chain). */
function dispatchTree(): Cluster {
  const pods = Array.from({ length: 40 }, (_, i) => pod(`big/p${String(i).padStart(2, '0')}`, {
    labels: { app: i % 2 === 0 ? 'even' : 'odd' }, ips: [`10.244.${i % 3}.${10 + i}`, `fd00:10:244:${i % 3}::${(10 + i).toString(16)}`],
  }));
  return cluster({
    pods,
    policies: [netpol('big/even-from-odd', {
      podSelector: { matchLabels: { app: 'even' } }, policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'odd' } } }] }],
    }), netpol('big/odd-deny', { podSelector: { matchLabels: { app: 'odd' } } })],
  });
}
