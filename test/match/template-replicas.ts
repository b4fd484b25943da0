/**
 * A cluster whose replicas share one policy map template, and one-row batches, for the template packing
 * tests (test/match/ebpf-templates.test.ts, test/native/ebpf-templates.test.ts).
 */
import type { Flow } from '../../src/model/evaluate.js';
import { ipToWords } from '../../src/model/ip.js';
import { CtState, FlowBatch } from '../../src/wire/flow-batch.js';
import { cluster, netpol, node, ns, pod } from '../support/builders.js';

/** Three backend replicas (one template for their ingress maps), a frontend, and an isolated deny-all pod. */
export function replicas(): ReturnType<typeof cluster> {
  return cluster({
    namespaces: [ns('prod')],
    nodes: [node('node-1', ['172.18.0.2'])],
    pods: [
      ...[0, 1, 2].map((i) => pod(`prod/backend-${i}`, { labels: { app: 'backend' }, ips: [`10.244.1.${10 + i}`], node: 'node-1' })),
      pod('prod/frontend', { labels: { app: 'frontend' }, ips: ['10.244.1.5'], node: 'node-1' }),
      pod('prod/locked', { labels: { app: 'locked' }, ips: ['10.244.1.6'], node: 'node-1' }),
    ],
    policies: [
      netpol('prod/backend-from-frontend', {
        podSelector: { matchLabels: { app: 'backend' } }, policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 80 }, { port: 443 }] }],
      }),
      netpol('prod/locked-deny-all', { podSelector: { matchLabels: { app: 'locked' } }, policyTypes: ['Ingress'], ingress: [] }),
    ],
  });
}

/** A one-row batch holding the flow as a connection opening (conntrack NEW). */
export function row(f: Flow): FlowBatch {
  const b = new FlowBatch(1);
  b.family[0] = f.src.family;
  ipToWords(f.src, b.src, 0);
  ipToWords(f.dst, b.dst, 0);
  b.proto[0] = f.protocol;
  b.dstPort[0] = f.dstPort;
  b.ctState[0] = CtState.NEW;
  b.count = 1;
  return b;
}
