/**
 * Every validation rule, each with its own rejected input and the exact field path and reason it
 * yields. An invalid object stops the load with an InputError: `<file>[ document N]: <Kind> <ns>/<name>:
 * <field.path>: <reason>`.
 */
import { describe, expect, it } from 'vitest';
import { loadError, loadText, policyYaml } from './helpers.js';

const NP = 'NetworkPolicy default/np';
const ingressPort = (port: string): string => policyYaml(`ingress: [{ports: [${port}]}]`);
const fromPeer = (peer: string): string => policyYaml(`ingress: [{from: [${peer}]}]`);
const selector = (sel: string): string => policyYaml(`podSelector: ${sel}`);

function pod(spec: string, meta = 'name: p', status = ''): string {
  return `apiVersion: v1\nkind: Pod\nmetadata: {${meta}}\nspec: ${spec}\n${status ? `status: ${status}\n` : ''}`;
}
const withPorts = (ports: string): string => pod(`{containers: [{name: c, image: i, ports: [${ports}]}]}`);
function service(spec: string, name = 's'): string {
  return `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: ${spec}\n`;
}

/** [rule, manifest, the message must contain this]. */
const CASES: [string, string, string][] = [
  // NetworkPolicyPort
  ['protocol other than TCP/UDP/SCTP (case-sensitive)', ingressPort('{protocol: tcp, port: 80}'),
    `${NP}: spec.ingress[0].ports[0].protocol: Unsupported value "tcp": supported values: "TCP", "UDP", "SCTP"`],
  ['protocol ICMP', ingressPort('{protocol: ICMP}'), `${NP}: spec.ingress[0].ports[0].protocol: Unsupported value "ICMP"`],
  ['port 0', ingressPort('{port: 0}'), `${NP}: spec.ingress[0].ports[0].port: must be between 1 and 65535, inclusive, got 0`],
  ['port above 65535', ingressPort('{port: 65536}'), `${NP}: spec.ingress[0].ports[0].port: must be between 1 and 65535, inclusive, got 65536`],
  ['endPort above 65535', ingressPort('{port: 80, endPort: 70000}'),
    `${NP}: spec.ingress[0].ports[0].endPort: must be between 1 and 65535, inclusive, got 70000`],
  ['endPort below port', ingressPort('{port: 80, endPort: 79}'),
    `${NP}: spec.ingress[0].ports[0].endPort: must be greater than or equal to port (80), got 79`],
  ['endPort with a named port', ingressPort('{port: http, endPort: 90}'),
    `${NP}: spec.ingress[0].ports[0].endPort: may not be specified when \`port\` is non-numeric ("http"), got 90`],
  ['endPort without a port', ingressPort('{protocol: UDP, endPort: 90}'),
    `${NP}: spec.ingress[0].ports[0].endPort: may not be specified when \`port\` is not specified, got 90`],
  ['port name longer than 15 characters', ingressPort('{port: abcdefghijklmnop}'),
    `${NP}: spec.ingress[0].ports[0].port: invalid port name "abcdefghijklmnop": must be no more than 15 characters`],
  ['port name with a character outside [-a-z0-9]', ingressPort('{port: HTTP}'),
    `${NP}: spec.ingress[0].ports[0].port: invalid port name "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`],
  ['port name without a letter (a quoted number is a name)', ingressPort('{port: "80"}'),
    `${NP}: spec.ingress[0].ports[0].port: invalid port name "80": must contain at least one letter (a-z)`],
  ['port name with a double hyphen', ingressPort('{port: a--b}'),
    `${NP}: spec.ingress[0].ports[0].port: invalid port name "a--b": must not contain consecutive hyphens`],
  ['port name with a leading hyphen', ingressPort('{port: -http}'),
    `${NP}: spec.ingress[0].ports[0].port: invalid port name "-http": must not begin or end with a hyphen`],
  ['port name with a trailing hyphen', ingressPort('{port: http-}'),
    `${NP}: spec.ingress[0].ports[0].port: invalid port name "http-": must not begin or end with a hyphen`],
  ['a fractional port', ingressPort('{port: 80.5}'),
    `${NP}: spec.ingress[0].ports[0].port: must be an integer or a string, got number 80.5`],
  // NetworkPolicyPeer and IPBlock
  ['a peer with no field', fromPeer('{}'),
    `${NP}: spec.ingress[0].from[0]: Required value: must specify a peer (podSelector, namespaceSelector or ipBlock)`],
  ['ipBlock together with a selector', fromPeer('{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}'),
    `${NP}: spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer`],
  ['ipBlock without cidr', policyYaml('egress: [{to: [{ipBlock: {except: [10.1.0.0/16]}}]}]'),
    `${NP}: spec.egress[0].to[0].ipBlock.cidr: Required value: an ipBlock needs a cidr`],
  ['cidr without a prefix', fromPeer('{ipBlock: {cidr: 10.0.0.0}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.cidr: must be a valid CIDR (for example 10.0.0.0/16 or fd00::/64), got "10.0.0.0"`],
  ['cidr with a prefix too long', fromPeer('{ipBlock: {cidr: 10.0.0.0/33}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.cidr: must be a valid CIDR (for example 10.0.0.0/16 or fd00::/64), got "10.0.0.0/33"`],
  ['cidr with a leading zero', fromPeer('{ipBlock: {cidr: 010.0.0.0/8}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.cidr: must be a valid CIDR (for example 10.0.0.0/16 or fd00::/64), got "010.0.0.0/8"`],
  ['malformed except', fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/99]}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.except[0]: must be a valid CIDR (for example 10.0.0.0/16 or fd00::/64), got "10.1.0.0/99"`],
  ['except equal to its cidr', fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.except[0]: must be a strict subset of cidr 10.0.0.0/8, got "10.0.0.0/8"`],
  ['except outside its cidr', fromPeer('{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.except[0]: must be a strict subset of cidr 10.0.0.0/8, got "11.0.0.0/16"`],
  ['except wider than its cidr', fromPeer('{ipBlock: {cidr: 10.1.0.0/16, except: [10.0.0.0/8]}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.except[0]: must be a strict subset of cidr 10.1.0.0/16, got "10.0.0.0/8"`],
  ['except of the other family', fromPeer('{ipBlock: {cidr: 0.0.0.0/0, except: ["fd00::/8"]}}'),
    `${NP}: spec.ingress[0].from[0].ipBlock.except[0]: must be a strict subset of cidr 0.0.0.0/0, got "fd00::/8"`],
  // policyTypes
  ['more than two policyTypes', policyYaml('policyTypes: [Ingress, Egress, Ingress]'),
    `${NP}: spec.policyTypes: may not specify more than two policyTypes, got ["Ingress","Egress","Ingress"]`],
  ['an unknown policyType', policyYaml('policyTypes: [Ingress, egress]'),
    `${NP}: spec.policyTypes[1]: Unsupported value "egress": supported values: "Ingress", "Egress"`],
  // LabelSelector
  ['a selector operator other than the four', selector('{matchExpressions: [{key: app, operator: Equals, values: [a]}]}'),
    `${NP}: spec.podSelector.matchExpressions[0].operator: Unsupported value "Equals": supported values: "In", "NotIn", "Exists", "DoesNotExist"`],
  ['In without values', selector('{matchExpressions: [{key: app, operator: In}]}'),
    `${NP}: spec.podSelector.matchExpressions[0].values: must be specified when \`operator\` is 'In' or 'NotIn'`],
  ['NotIn with empty values', fromPeer('{namespaceSelector: {matchExpressions: [{key: env, operator: NotIn, values: []}]}}'),
    `${NP}: spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: must be specified when \`operator\` is 'In' or 'NotIn'`],
  ['Exists with values', selector('{matchExpressions: [{key: app, operator: Exists, values: [a]}]}'),
    `${NP}: spec.podSelector.matchExpressions[0].values: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`],
  ['DoesNotExist with values', fromPeer('{podSelector: {matchExpressions: [{key: app, operator: DoesNotExist, values: [a]}]}}'),
    `${NP}: spec.ingress[0].from[0].podSelector.matchExpressions[0].values: may not be specified when \`operator\` is 'Exists' or 'DoesNotExist'`],
  ['an invalid label key in matchLabels', selector('{matchLabels: {"-app": a}}'),
    `${NP}: spec.podSelector.matchLabels: invalid label key "-app": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`],
  ['a label key with a bad prefix', selector('{matchLabels: {"Example.com/app": a}}'),
    `${NP}: spec.podSelector.matchLabels: invalid label key "Example.com/app": prefix part a lowercase RFC 1123 subdomain must consist of`],
  ['a label key with two slashes', selector('{matchLabels: {"a/b/c": a}}'),
    `${NP}: spec.podSelector.matchLabels: invalid label key "a/b/c": a label key must be a name with an optional DNS subdomain prefix`],
  ['a label key name over 63 characters', selector(`{matchLabels: {${'k'.repeat(64)}: a}}`),
    `${NP}: spec.podSelector.matchLabels: invalid label key "${'k'.repeat(64)}": name part must be no more than 63 characters`],
  ['an invalid label value in matchLabels', selector('{matchLabels: {app: "a b"}}'),
    `${NP}: spec.podSelector.matchLabels.app: invalid label value "a b": a valid label must be an empty string or consist of alphanumeric characters`],
  ['a label value over 63 characters', selector(`{matchLabels: {app: ${'v'.repeat(64)}}}`),
    `${NP}: spec.podSelector.matchLabels.app: invalid label value "${'v'.repeat(64)}": must be no more than 63 characters`],
  ['an invalid key in matchExpressions', selector('{matchExpressions: [{key: "app!", operator: Exists}]}'),
    `${NP}: spec.podSelector.matchExpressions[0].key: invalid label key "app!"`],
  ['an invalid value in matchExpressions', selector('{matchExpressions: [{key: app, operator: In, values: ["-x"]}]}'),
    `${NP}: spec.podSelector.matchExpressions[0].values[0]: invalid label value "-x"`],
  ['a non-string label value (YAML number)', selector('{matchLabels: {version: 2}}'),
    `${NP}: spec.podSelector.matchLabels.version: must be a string (quote it in YAML), got number 2`],
  // Object names and labels
  ['a NetworkPolicy name that is no DNS subdomain', policyYaml('{}', 'Allow_Web'),
    'NetworkPolicy default/Allow_Web: metadata.name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters'],
  ['a missing name', 'apiVersion: v1\nkind: Pod\nmetadata: {namespace: x}\nspec: {containers: []}\n',
    'Pod x/(unnamed): metadata.name: Required value: every object needs a name'],
  ['a Pod name over 253 characters', pod('{containers: []}', `name: ${'p'.repeat(254)}`),
    'metadata.name: must be no more than 253 characters'],
  ['a Namespace name that is no DNS label (dots)', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team.a}\n',
    'Namespace team.a: metadata.name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\''],
  ['an invalid metadata.namespace', pod('{containers: []}', 'name: p, namespace: Prod'),
    'Pod Prod/p: metadata.namespace: a namespace name must be a lowercase RFC 1123 label of at most 63 characters, got "Prod"'],
  ['a Service name starting with a digit (DNS-1035)', service('{ports: [{port: 80}]}', '1web'),
    'Service default/1web: metadata.name: a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character'],
  ['a StatefulSet name with a dot (must be a DNS label)',
    'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db.main}\nspec: {template: {spec: {containers: []}}}\n',
    'StatefulSet default/db.main: metadata.name: a lowercase RFC 1123 label'],
  ['an invalid metadata.labels key', pod('{containers: []}', 'name: p, labels: {"app/": x}'),
    'Pod default/p: metadata.labels: invalid label key "app/": name part must be non-empty'],
  ['an invalid metadata.labels value', pod('{containers: []}', 'name: p, labels: {app: "x/y"}'),
    'Pod default/p: metadata.labels.app: invalid label value "x/y"'],
  ['an invalid pod template label', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {metadata: {labels: {app: "-a"}}, spec: {containers: []}}}\n',
    'Deployment default/d: spec.template.metadata.labels.app: invalid label value "-a"'],
  ['a Namespace whose kubernetes.io/metadata.name label differs from its name',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {kubernetes.io/metadata.name: staging}}\n',
    'Namespace prod: metadata.labels.kubernetes.io/metadata.name: must be the namespace\'s name "prod" (the label is immutable), got "staging"'],
  // Container ports
  ['containerPort 0 / missing', withPorts('{name: http}'),
    'Pod default/p: spec.containers[0].ports[0].containerPort: Required value: a container port needs a number'],
  ['containerPort above 65535', withPorts('{containerPort: 70000}'),
    'Pod default/p: spec.containers[0].ports[0].containerPort: must be between 1 and 65535, inclusive, got 70000'],
  ['an invalid container port name', withPorts('{name: Web_UI, containerPort: 80}'),
    'Pod default/p: spec.containers[0].ports[0].name: invalid port name "Web_UI": must contain only alpha-numeric characters'],
  ['a container port protocol other than TCP/UDP/SCTP', withPorts('{containerPort: 80, protocol: HTTP}'),
    'Pod default/p: spec.containers[0].ports[0].protocol: Unsupported value "HTTP"'],
  ['duplicate port names in one container', withPorts('{name: http, containerPort: 80}, {name: http, containerPort: 8080}'),
    'Pod default/p: spec.containers[0].ports[1].name: Duplicate value "http": already used by spec.containers[0].ports[0]'],
  ['duplicate port names in a CronJob template',
    'apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {spec: {template: {spec: {containers: [{name: a, image: i, ports: [{name: m, containerPort: 1}, {name: m, containerPort: 2}]}]}}}}}\n',
    'CronJob default/c: spec.jobTemplate.spec.template.spec.containers[0].ports[1].name: Duplicate value "m"'],
  // Service ports and IPs
  ['a Service port without a number', service('{ports: [{name: web}]}'),
    'Service default/s: spec.ports[0].port: Required value: a Service port needs a number'],
  ['a Service port 0', service('{ports: [{port: 0}]}'),
    'Service default/s: spec.ports[0].port: must be between 1 and 65535, inclusive, got 0'],
  ['a Service port above 65535', service('{ports: [{port: 65536}]}'),
    'Service default/s: spec.ports[0].port: must be between 1 and 65535, inclusive, got 65536'],
  ['a numeric targetPort out of range', service('{ports: [{port: 80, targetPort: 99999}]}'),
    'Service default/s: spec.ports[0].targetPort: must be between 1 and 65535, inclusive, got 99999'],
  ['an invalid named targetPort', service('{ports: [{port: 80, targetPort: "http--alt"}]}'),
    'Service default/s: spec.ports[0].targetPort: must not contain consecutive hyphens, got "http--alt"'],
  ['unnamed ports when a Service has several', service('{ports: [{port: 80}, {name: b, port: 81}]}'),
    'Service default/s: spec.ports[0].name: Required value: ports must be named when a Service has more than one'],
  ['an invalid Service port name', service('{ports: [{name: Web, port: 80}]}'),
    'Service default/s: spec.ports[0].name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters'],
  ['duplicate Service port names', service('{ports: [{name: a, port: 80}, {name: a, port: 81}]}'),
    'Service default/s: spec.ports[1].name: Duplicate value "a"'],
  ['the same Service port and protocol twice', service('{ports: [{name: a, port: 80}, {name: b, port: 80}]}'),
    'Service default/s: spec.ports[1]: Duplicate value: port 80 TCP is listed twice'],
  ['a Service port protocol other than TCP/UDP/SCTP', service('{ports: [{port: 53, protocol: udp}]}'),
    'Service default/s: spec.ports[0].protocol: Unsupported value "udp"'],
  ['an invalid clusterIP', service('{clusterIP: 10.96.0.300, ports: [{port: 80}]}'),
    'Service default/s: spec.clusterIP: must be a valid IP address or "None", got "10.96.0.300"'],
  ['clusterIPs[0] differing from clusterIP', service('{clusterIP: 10.96.0.10, clusterIPs: [10.96.0.11], ports: [{port: 80}]}'),
    'Service default/s: spec.clusterIPs[0]: must match spec.clusterIP ("10.96.0.10"), got "10.96.0.11"'],
  ['an unknown Service type', service('{type: Internal, ports: [{port: 80}]}'),
    'Service default/s: spec.type: Unsupported value "Internal"'],
  // Pod status and workload counts
  ['an invalid status.podIP', pod('{containers: []}', 'name: p', '{podIP: 10.1.2}'),
    'Pod default/p: status.podIP: must be a valid IP address, got "10.1.2"'],
  ['two IPv4 addresses in status.podIPs', pod('{containers: []}', 'name: p', '{podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]}'),
    'Pod default/p: status.podIPs[1].ip: may specify no more than one IP for each IP family, got a second IPv4 address "10.0.0.2"'],
  ['status.podIPs[0] differing from status.podIP', pod('{containers: []}', 'name: p', '{podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.9}]}'),
    'Pod default/p: status.podIPs[0].ip: must match status.podIP ("10.0.0.1"), got "10.0.0.9"'],
  ['negative replicas', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: -1, template: {spec: {containers: []}}}\n',
    'Deployment default/d: spec.replicas: must be greater than or equal to 0, got -1'],
  ['replicas given as a string', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: "3", template: {spec: {containers: []}}}\n',
    'Deployment default/d: spec.replicas: must be an integer, got string "3"'],
  ['a selector that does not match the template labels',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {selector: {matchLabels: {app: d}}, template: {metadata: {labels: {app: e}}, spec: {containers: []}}}\n',
    'Deployment default/d: spec.template.metadata.labels: {"app":"e"} do not match spec.selector'],
  ['a Node address that is no IP', 'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.256}]}\n',
    'Node n1: status.addresses[0].address: must be a valid IP address, got "10.0.0.256"'],
  ['spec that is not an object', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: [1, 2]\n',
    'Pod default/p: spec: must be an object, got list [1,2]'],
];

describe('validation: each rejected input yields its own message', () => {
  for (const [rule, manifest, fragment] of CASES) {
    it(rule, () => {
      const message = loadError(manifest);
      expect(message.startsWith(`${message.split('bad.yaml')[0]}bad.yaml: `)).toBe(true);
      expect(message).toContain(fragment);
    });
  }

  it('the messages are all different', () => {
    const messages = CASES.map(([, manifest]) => loadError(manifest).replace(/^.*bad\.yaml: /, ''));
    expect(new Set(messages).size).toBe(CASES.length);
  });

  it('names the document of a multi-document file: the brief\'s example, exactly', () => {
    const text = `${policyYaml('{}', 'web')}---\n${policyYaml('ingress: [{ports: [{port: 443}, {port: 80, endPort: 70}]}]', 'db')}`;
    const message = loadError(text);
    expect(message.slice(message.indexOf('bad.yaml'))).toBe(
      'bad.yaml document 2: NetworkPolicy default/db: spec.ingress[0].ports[1].endPort: must be greater than or equal to port (80), got 70');
  });

  it('the same port name in two containers is accepted, as the API does, with a warning', () => {
    const result = loadText(pod('{containers: [{name: a, image: i, ports: [{name: web, containerPort: 80}]}, {name: b, image: i, ports: [{name: web, containerPort: 81}]}]}'));
    expect(result.cluster.pods[0]!.ports.map((p) => `${p.name}:${p.port}`)).toEqual(['web:80', 'web:81']);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/in\.yaml: Pod default\/p: spec\.containers\[1\]\.ports\[0\]\.name: port name "web" is also used by spec\.containers\[0\]\.ports\[0\]; a policy naming it matches both ports$/);
  });

  it('names the List item of a kubectl List', () => {
    const text = `apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n- {apiVersion: v1, kind: Service, metadata: {name: s, namespace: x}, spec: {ports: [{port: 0}]}}\n`;
    expect(loadError(text)).toMatch(/bad\.yaml items\[1\]: Service x\/s: spec\.ports\[0\]\.port: /);
  });
});
