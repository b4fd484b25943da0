/**
 * The upstream Kubernetes e2e network-policy suite (`test/e2e/network/netpol/network_policy.go`) as
 * truth tables over the reference evaluator. Every `ginkgo.It` of the three contexts (TCP, UDP, SCTP),
 * with its steps (policy create/update/delete, namespace and pod label changes), named as upstream names
 * it. Written from reading the upstream suite; the policies and expectations are restated, not copied.
 *
 * Differences from upstream, and why:
 * - Upstream (recently) creates only the pods a case needs; here every case runs on all nine pods
 *   (x, y, z times a, b, c), as the suite originally did, and compares full 9x9 tables.
 * - Upstream probes `s-<ns>-<pod>:<port>`; here the probe goes to that Service's ClusterIP and port,
 *   is DNATed by `model/services.ts` to the backend pod and port, and the post-DNAT flow is evaluated.
 * - The diagonal: upstream never fails on pod-to-itself cells (`ignoreLoopback`, kubernetes#95879:
 *   CNIs differ). Here each case runs twice: with the default `allowLoopback: true`, expecting the
 *   upstream table plus an allowed diagonal (upstream's own `AllowLoopback()`), and with
 *   `allowLoopback: false`, expecting upstream's table exactly, diagonal included (policy applies to
 *   a pod talking to itself like to any other peer). Both runs compare all 81 cells.
 * - Every case runs with IPv4 pod addresses and again with IPv6 ones (single-stack each).
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { formatCidr, parseCidr, type Family } from '../../src/model/ip.js';
import type { L4Protocol } from '../../src/model/types.js';
import { NAME_LABEL } from '../support/builders.js';
import { Reachability, World, gen, mismatches, podIp, probe, renderMismatch } from './e2e-harness.js';

interface Check { port: number; protocol: L4Protocol; reach: (r: Reachability) => void }
interface Step { by?: string; apply?: (w: World, family: Family) => void; checks: Check[] }
interface Case { it: string; steps: Step[] }

const hostCidr = (p: string, f: Family) => `${podIp(p, f)}/${f === 4 ? 32 : 128}`;
/** upstream makeLargeCIDRForIP: the /4 that holds the address. */
const largeCidr = (p: string, f: Family) => formatCidr(parseCidr(`${podIp(p, f)}/4`)!.cidr);
const allTrue = () => undefined;
const tcp = (port: number, reach: (r: Reachability) => void = allTrue): Check => ({ port, protocol: 'TCP', reach });

const nsY = { matchLabels: { [NAME_LABEL]: 'y' } };
const podA = { matchLabels: { pod: 'a' } };
const podB = { matchLabels: { pod: 'b' } };

const TCP_CASES: Case[] = [
  { it: "should support a 'default-deny-ingress' policy", steps: [{
    apply: (w) => w.create('x', gen('deny-ingress', {}, { ingress: [] })),
    checks: [tcp(80, (r) => r.expectPeer({}, { namespace: 'x' }, false))] }] },
  { it: "should support a 'default-deny-all' policy", steps: [{
    apply: (w) => w.create('x', gen('deny-all', {}, { ingress: [], egress: [] })),
    checks: [tcp(80, (r) => { r.expectPeer({}, { namespace: 'x' }, false); r.expectPeer({ namespace: 'x' }, {}, false); })] }] },
  { it: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector', steps: [{
    apply: (w) => w.create('x', gen('x-a-allows-x-b', podA, { ingress: [{ from: [{ podSelector: podB }] }] })),
    checks: [tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expect('x/b', 'x/a', true); })] }] },
  { it: 'should enforce policy to allow ingress traffic for a target', steps: [{
    apply: (w) => {
      w.create('x', gen('deny-all', {}, { ingress: [] }));
      w.create('x', gen('allow-all-to-a', podA, { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] }));
    },
    checks: [tcp(80, (r) => { r.expectAllIngress('x/a', true); r.expectAllIngress('x/b', false); r.expectAllIngress('x/c', false); /* x/c: implied by deny-all (9 pods here) */ })] }] },
  { it: 'should enforce policy to allow ingress traffic from pods in all namespaces', steps: [{
    apply: (w) => w.create('x', gen('allow-from-another-ns', podA, { ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] })),
    checks: [tcp(80)] }] },
  { it: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector', steps: [{
    apply: (w) => w.create('x', gen('allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsY }] }] })),
    checks: [tcp(80, (r) => { r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false); r.expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false); })] }] },
  { it: 'should enforce policy based on PodSelector with MatchExpressions', steps: [{
    apply: (w) => w.create('x', gen('x-a-allows-x-b', podA, { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }] })),
    checks: [tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expect('x/b', 'x/a', true); })] }] },
  { it: 'should enforce policy based on NamespaceSelector with MatchExpressions', steps: [{
    apply: (w) => w.create('x', gen('allow-ns-y-match-selector', podA, { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'In', values: ['y'] }] } }] }] })),
    checks: [tcp(80, (r) => { r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false); r.expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false); })] }] },
  { it: 'should enforce policy based on PodSelector or NamespaceSelector', steps: [{
    apply: (w) => w.create('x', gen('allow-ns-y-match-selector', podA, { ingress: [{ from: [
      { namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['x'] }] } },
      { podSelector: podB },
    ] }] })),
    checks: [tcp(80, (r) => { r.expect('x/a', 'x/a', false); r.expect('x/c', 'x/a', false); })] }] },
  { it: 'should enforce policy based on PodSelector and NamespaceSelector', steps: [{
    apply: (w) => w.create('x', gen('allow-ns-y-podselector-and-nsselector', podA, { ingress: [{ from: [
      { namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['x'] }] }, podSelector: podB },
    ] }] })),
    checks: [tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expect('y/b', 'x/a', true); r.expect('z/b', 'x/a', true); })] }] },
  { it: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors', steps: [{
    apply: (w) => w.create('x', gen('allow-ns-y-z-pod-b-c', podA, { ingress: [{ from: [{
      namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['x'] }] },
      podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
    }] }] })),
    checks: [tcp(80, (r) => {
      r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false);
      r.expect('y/a', 'x/a', false);
      r.expect('z/a', 'x/a', false); // implied upstream when z/a exists (the 9-pod suite expected it)
    })] }] },
  { it: 'should enforce policy based on any PodSelectors', steps: [{
    apply: (w) => w.create('x', gen('allow-ns-x-pod-b-c', podA, { ingress: [{ from: [{ podSelector: podB }, { podSelector: { matchLabels: { pod: 'c' } } }] }] })),
    checks: [tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expect('x/b', 'x/a', true); r.expect('x/c', 'x/a', true); })] }] },
  { it: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector', steps: [{
    apply: (w) => w.create('x', gen('allow-ns-y-pod-a-via-namespace-pod-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsY, podSelector: podA }] }] })),
    checks: [tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expect('y/a', 'x/a', true); })] }] },
  { it: 'should enforce policy based on Ports', steps: [{
    apply: (w) => w.create('x', gen('allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 81, protocol: 'TCP' }] }] })),
    checks: [tcp(81, (r) => {
      r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false);
      r.expectPeer({ namespace: 'y' }, { namespace: 'x', pod: 'a' }, true);
      r.expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false);
    })] }] },
  stackedPolicies(),
  { it: 'should support allow-all policy', steps: [{
    apply: (w) => w.create('x', gen('allow-all', { matchLabels: {} }, { ingress: [{}] })),
    checks: [tcp(80), tcp(81)] }] },
  { it: 'should allow ingress access on one named port', steps: [{
    apply: (w) => w.create('x', gen('allow-all', { matchLabels: {} }, { ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })),
    checks: [tcp(81), tcp(80, (r) => r.expectPeer({}, { namespace: 'x' }, false))] }] },
  { it: 'should allow ingress access from namespace on one named port', steps: [{
    apply: (w) => w.create('x', gen('allow-client-a-via-ns-selector-80', podA, { ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 'serve-80-tcp', protocol: 'TCP' }] }] })),
    checks: [
      tcp(80, (r) => { r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false); r.expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false); }),
      tcp(81, (r) => r.expectAllIngress('x/a', false)),
    ] }] },
  { it: 'should allow egress access on one named port', steps: [{
    apply: (w) => w.create('x', gen('allow-egress', { matchLabels: {} }, { egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })),
    checks: [tcp(80), tcp(81, (r) => r.expectPeer({ namespace: 'x' }, {}, false))] }] },
  { it: 'should enforce updated policy', steps: [
    { by: 'allow all', apply: (w) => w.create('x', gen('allow-all-mutate-to-deny-all', { matchLabels: {} }, { ingress: [{}] })), checks: [tcp(81)] },
    { by: 'update the policy to deny all', apply: (w) => w.update('x', gen('allow-all-mutate-to-deny-all', { matchLabels: {} }, { ingress: [] })),
      checks: [tcp(81, (r) => r.expectPeer({}, { namespace: 'x' }, false))] },
  ] },
  { it: 'should allow ingress access from updated namespace', steps: [
    { apply: (w) => w.create('x', gen('allow-client-a-via-ns-selector', podA, { ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns2: 'updated' } } }] }] })),
      checks: [tcp(80, (r) => r.expectAllIngress('x/a', false))] },
    { by: 'add a new label to namespace y', apply: (w) => w.addNamespaceLabel('y', 'ns2', 'updated'),
      checks: [tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expectPeer({ namespace: 'y' }, {}, true); })] },
  ] },
  { it: 'should allow ingress access from updated pod', steps: [
    { apply: (w) => w.create('x', gen('allow-client-a-via-pod-selector', podA, { ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b', pod2: 'updated' } } }] }] })),
      checks: [tcp(80, (r) => r.expectAllIngress('x/a', false))] },
    { by: 'x/b is able to reach x/a when label is updated', apply: (w) => w.addPodLabels('x/b', { pod: 'b', pod2: 'updated' }),
      checks: [tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expect('x/b', 'x/a', true); })] },
  ] },
  { it: 'should deny ingress from pods on other namespaces', steps: [{
    apply: (w) => w.create('x', gen('deny-empty-policy', {}, { ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })),
    checks: [tcp(80, (r) => { r.expectPeer({ namespace: 'y' }, { namespace: 'x' }, false); r.expectPeer({ namespace: 'z' }, { namespace: 'x' }, false); })] }] },
  { it: 'should deny ingress access to updated pod', steps: [
    { by: 'Verify that everything can reach x/a', apply: (w) => w.create('x', gen('deny-ingress-via-label-selector', { matchLabels: { target: 'isolated' } }, { ingress: [] })), checks: [tcp(80)] },
    { apply: (w) => w.addPodLabels('x/a', { target: 'isolated' }), checks: [tcp(80, (r) => r.expectAllIngress('x/a', false))] },
  ] },
  { it: 'should deny egress from pods based on PodSelector', steps: [{
    apply: (w) => w.create('x', gen('deny-egress-pod-a', podA, { egress: [] })),
    checks: [tcp(80, (r) => r.expectAllEgress('x/a', false))] }] },
  { it: 'should deny egress from all pods in a namespace', steps: [{
    apply: (w) => w.create('x', gen('deny-egress-ns-x', {}, { egress: [] })),
    checks: [tcp(80, (r) => r.expectPeer({ namespace: 'x' }, {}, false))] }] },
  { it: 'should work with Ingress, Egress specified together', steps: [{
    apply: (w) => w.create('x', gen('allow-client-a-via-pod-selector', podA, {
      ingress: [{ from: [{ podSelector: podB }] }], egress: [{ ports: [{ port: 80 }] }], policyTypes: ['Egress', 'Ingress'],
    })),
    checks: [
      tcp(80, (r) => { r.expectAllIngress('x/a', false); r.expect('x/b', 'x/a', true); }),
      tcp(81, (r) => { r.expectAllIngress('x/a', false); r.expectAllEgress('x/a', false); r.expect('x/b', 'x/a', true); }),
    ] }] },
  { it: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)', steps: [{
    apply: (w) => {
      w.create('x', gen('allow-to-ns-y-pod-a', podA, { egress: [{ to: [{ namespaceSelector: nsY, podSelector: podA }] }] }));
      const fromXA = [{ from: [{ namespaceSelector: { matchLabels: { [NAME_LABEL]: 'x' } }, podSelector: podA }] }];
      w.create('y', gen('allow-from-xa-on-ya-match-selector', podA, { ingress: fromXA }));
      w.create('y', gen('allow-from-xa-on-yb-match-selector', podB, { ingress: fromXA }));
    },
    checks: [tcp(80, (r) => {
      r.expectPeer({ namespace: 'x', pod: 'a' }, {}, false);
      r.expectPeer({}, { namespace: 'y', pod: 'a' }, false);
      r.expectPeer({ namespace: 'x', pod: 'a' }, { namespace: 'y', pod: 'a' }, true);
      r.expectPeer({}, { namespace: 'y', pod: 'b' }, false);
    })] }] },
  { it: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector', steps: [{
    apply: (w) => w.create('x', gen('allow-to-ns-y-pod-a', podA, { egress: [{ to: [{ namespaceSelector: nsY, podSelector: podA }] }] })),
    checks: [tcp(80, (r) => { r.expectAllEgress('x/a', false); r.expect('x/a', 'y/a', true); })] }] },
  { it: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol', steps: [{
    apply: (w) => w.create('x', gen('allow-ingress-by-proto', podA, { ingress: [{ ports: [{ protocol: 'TCP' }] }] })),
    checks: [tcp(80), { port: 80, protocol: 'UDP', reach: (r) => r.expectPeer({}, { namespace: 'x', pod: 'a' }, false) }] }] },
  { it: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence', steps: [
    { by: 'The policy targets port 80 -- so let\'s make sure traffic on port 81 is blocked',
      apply: (w) => w.create('x', gen('allow-ingress-port-80', { matchLabels: {} }, { ingress: [{ ports: [{ port: 80 }] }] })),
      checks: [tcp(81, (r) => r.expectPeer({}, { namespace: 'x' }, false))] },
    { by: 'Allowing all ports', apply: (w) => w.create('x', gen('allow-ingress', { matchLabels: {} }, { ingress: [{}] })), checks: [tcp(81)] },
  ] },
  { it: 'should enforce multiple egress policies with egress allow-all policy taking precedence', steps: [
    { by: "Making sure ingress doesn't work other than port 80",
      apply: (w) => w.create('x', gen('allow-egress-port-80', { matchLabels: {} }, { egress: [{ ports: [{ port: 80 }] }] })),
      checks: [tcp(81, (r) => r.expectPeer({ namespace: 'x' }, {}, false))] },
    { by: 'Allowing all ports', apply: (w) => w.create('x', gen('allow-egress', { matchLabels: {} }, { egress: [{}] })), checks: [tcp(81)] },
  ] },
  { it: 'should stop enforcing policies after they are deleted', steps: [
    { by: 'Creating a network policy for the server which denies all traffic.',
      apply: (w) => w.create('x', gen('deny-all', {}, { ingress: [], egress: [] })),
      checks: [tcp(80, (r) => { r.expectPeer({ namespace: 'x' }, {}, false); r.expectPeer({}, { namespace: 'x' }, false); })] },
    { by: 'deleting every policy', apply: (w) => w.deleteAllPolicies(), checks: [tcp(80)] },
  ] },
  { it: 'should allow egress access to server in CIDR block', steps: [{
    apply: (w, f) => w.create('x', gen('allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: hostCidr('y/b', f) } }] }] })),
    checks: [tcp(80, (r) => { r.expectAllEgress('x/a', false); r.expect('x/a', 'y/b', true); })] }] },
  { it: 'should enforce except clause while egress access to server in CIDR block', steps: [{
    apply: (w, f) => w.create('x', gen('allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: largeCidr('x/b', f), except: [hostCidr('x/b', f)] } }] }] })),
    checks: [tcp(80, (r) => r.expect('x/a', 'x/b', false))] }] },
  { it: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed', steps: [
    { apply: (w, f) => w.create('x', gen('allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: largeCidr('x/b', f), except: [hostCidr('x/b', f)] } }] }] })),
      checks: [tcp(80, (r) => r.expect('x/a', 'x/b', false))] },
    { by: 'a second policy of the same name (an update) allows x/b',
      apply: (w, f) => w.update('x', gen('allow-client-a-via-cidr-egress-rule', podA, { egress: [{ to: [{ ipBlock: { cidr: hostCidr('x/b', f) } }] }] })),
      checks: [tcp(80, (r) => { r.expectAllEgress('x/a', false); r.expect('x/a', 'x/b', true); })] },
  ] },
  { it: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector', steps: [
    { by: 'Creating a network policy for pod-a which allows Egress traffic to pod-b.',
      apply: (w) => w.create('x', gen('allow-egress-for-target', podA, { egress: [{}] })), checks: [tcp(80)] },
    { by: 'Creating a network policy for pod-a that denies traffic from pod-b.',
      apply: (w) => w.create('x', gen('deny-ingress-via-label-selector', podA, { ingress: [] })),
      checks: [tcp(80, (r) => r.expectAllIngress('x/a', false))] },
  ] },
  { it: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP", steps: [{
    apply: (w) => {
      w.create('x', gen('deny-ingress', {}, { ingress: [] }));
      w.create('x', gen('allow-only-sctp-ingress-on-port-81', podA, { ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] }));
    },
    checks: [tcp(81, (r) => r.expectPeer({}, { namespace: 'x' }, false))] }] },
  { it: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP", steps: [{
    apply: (w) => w.create('x', gen('allow-only-sctp-ingress-on-port-80', podA, { ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })),
    checks: [tcp(81, (r) => r.expectAllIngress('x/a', false))] }] },
  { it: 'should not allow access by TCP when a policy specifies only UDP', steps: [{
    apply: (w) => w.create('x', gen('allow-only-udp-ingress-on-port-81', podA, { ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })),
    checks: [tcp(81, (r) => r.expectAllIngress('x/a', false))] }] },
  { it: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label', steps: [{
    apply: (w) => w.create('x', gen('allow-client-a-via-ns-selector-for-immutable-ns-label', podA, { ingress: [{ from: [{ namespaceSelector: nsY }] }] })),
    checks: [tcp(80, (r) => { r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false); r.expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false); })] }] },
  { it: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label', steps: [{
    apply: (w) => w.create('x', gen('allow-ns-y-match-selector-for-immutable-ns-label', podA, { egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: 'NotIn', values: ['y'] }] } }] }] })),
    checks: [tcp(80, (r) => r.expectPeer({ namespace: 'x', pod: 'a' }, { namespace: 'y' }, false))] }] },
];

function stackedPolicies(): Case {
  const allowOn = (name: string, port: number) => gen(name, podA, { ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port, protocol: 'TCP' }] }] });
  const allow = (r: Reachability) => {
    r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false);
    r.expectPeer({ namespace: 'y' }, { namespace: 'x', pod: 'a' }, true);
    r.expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false);
  };
  return { it: 'should enforce multiple, stacked policies with overlapping podSelectors', steps: [
    { by: 'Verifying traffic on port 81, then on port 80.', apply: (w) => w.create('x', allowOn('allow-client-a-via-ns-selector', 81)),
      checks: [tcp(81, allow), tcp(80, (r) => r.expectAllIngress('x/a', false))] },
    { by: 'Verifying that we can add a policy to unblock port 80', apply: (w) => w.create('x', allowOn('allow-client-a-via-ns-selector-80', 80)),
      checks: [tcp(80, allow)] },
  ] };
}

/** The UDP and SCTP contexts run the same three cases with their protocol. */
function protocolCases(protocol: 'UDP' | 'SCTP'): Case[] {
  const check = (port: number, reach: (r: Reachability) => void): Check => ({ port, protocol, reach });
  return [
    { it: "should support a 'default-deny-ingress' policy", steps: [{
      apply: (w) => w.create('x', gen('deny-all', {}, { ingress: [] })),
      checks: [check(80, (r) => r.expectPeer({}, { namespace: 'x' }, false))] }] },
    { it: 'should enforce policy based on Ports', steps: [{
      apply: (w) => w.create('x', gen('allow-ingress-on-port-81-ns-x', podA, { ingress: [{ from: [{ namespaceSelector: nsY }], ports: [{ port: 81, protocol }] }] })),
      checks: [check(81, (r) => { r.expectPeer({ namespace: 'x' }, { namespace: 'x', pod: 'a' }, false); r.expectPeer({ namespace: 'z' }, { namespace: 'x', pod: 'a' }, false); })] }] },
    { it: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector', steps: [{
      apply: (w) => w.create('x', gen('allow-ns-y-pod-a-via-namespace-pod-selector', podA, { ingress: [{ from: [{ namespaceSelector: nsY, podSelector: podA }] }] })),
      checks: [check(80, (r) => { r.expectAllIngress('x/a', false); r.expect('y/a', 'x/a', true); })] }] },
  ];
}

const CONTEXTS: [string, Case[]][] = [
  ['NetworkPolicy between server and client', TCP_CASES],
  ['NetworkPolicy between server and client using UDP', protocolCases('UDP')],
  ['NetworkPolicy between server and client using SCTP', protocolCases('SCTP')],
];

const MODES = [
  { label: 'IPv4', family: 4 as Family, allowLoopback: true },
  { label: 'IPv6', family: 6 as Family, allowLoopback: true },
  { label: 'IPv4, loopback under policy', family: 4 as Family, allowLoopback: false },
  { label: 'IPv6, loopback under policy', family: 6 as Family, allowLoopback: false },
];

/** Runs a case's steps in order; every check compares a full 9x9 table. Returns the failures, rendered. */
function runCase(c: Case, family: Family, allowLoopback: boolean, ipBlockMatchesPods = true): string[] {
  const world = new World();
  const failures: string[] = [];
  c.steps.forEach((step, i) => {
    step.apply?.(world, family);
    for (const check of step.checks) {
      const r = new Reachability(true);
      check.reach(r);
      if (allowLoopback) r.allowLoopback();
      const observed = probe(world.cluster(family), family, check.port, check.protocol, { ...DEFAULT_EVAL_OPTIONS, allowLoopback, ipBlockMatchesPods });
      if (mismatches(r.expected, observed).length > 0) {
        failures.push(renderMismatch(`step ${i + 1}${step.by ? ` (${step.by})` : ''}: ${check.protocol}/${check.port}`, r.expected, observed, family));
      }
    }
  });
  return failures;
}

for (const [context, cases] of CONTEXTS) {
  describe(`Netpol: ${context}`, () => {
    for (const mode of MODES) {
      describe(mode.label, () => {
        for (const c of cases) test(c.it, () => expect(runCase(c, mode.family, mode.allowLoopback).join('\n\n')).toBe(''));
      });
    }
  });
}

test('the suite holds every upstream case (42 TCP, 3 UDP, 3 SCTP) and every case checks something', () => {
  expect(CONTEXTS.map(([, cs]) => cs.length)).toEqual([42, 3, 3]);
  expect(new Set(TCP_CASES.map((c) => c.it)).size).toBe(42);
  for (const [, cs] of CONTEXTS) for (const c of cs) expect(c.steps.flatMap((s) => s.checks).length).toBeGreaterThan(0);
});

test('a wrong expectation is reported as a cyclonus-like table that marks the differing cell', () => {
  const wrong: Case = { it: 'planted', steps: [{ apply: (w) => w.create('x', gen('deny-ingress', {}, { ingress: [] })), checks: [tcp(80)] }] };
  const report = runCase(wrong, 4, true).join('\n');
  expect(report).toContain('step 1: TCP/80');
  expect(report).toMatch(/^y\/a {5}\| \. {3}\. {3}\. {3}\. {3}\. {3}\. {3}\. {3}\. {3}\. {3}$/m); // expected row: all allowed
  expect(report).toMatch(/^y\/a {5}\| X {3}X {3}X {3}\. {3}\. {3}\. {3}\. {3}\. {3}\. {3}$/m); // observed row, and cmp row
});

test('the CIDR cases need ipBlock to match pod addresses (the documented default); with the switch off they fail', () => {
  const cidrCases = TCP_CASES.filter((c) => c.it.includes('CIDR'));
  expect(cidrCases).toHaveLength(3);
  for (const c of cidrCases) {
    expect(runCase(c, 4, true, true)).toEqual([]);
    expect(runCase(c, 4, true, false).length, c.it).toBeGreaterThan(0);
  }
});
