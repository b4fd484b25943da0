import { constants } from 'node:buffer';
import { closeSync, openSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadCluster, loadClusterFromText } from '../../src/manifests/load.js';
import { readFileText } from '../../src/manifests/read.js';
import { FIXTURES, loadError, loadText, podLines, tempTree } from './helpers.js';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

const ns = (name: string, extra = ''): string => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}${extra}}\n`;

describe('reading files and directories', () => {
  it('walks a directory recursively: *.yaml, *.yml and *.json only, hidden files left alone', () => {
    const result = loadCluster([`${FIXTURES}/tree`]);
    expect(result.objects).toBe(3);
    expect(result.cluster.namespaces).toEqual([{ name: 'web', labels: { env: 'prod', 'kubernetes.io/metadata.name': 'web' } }]);
    expect(podLines(result.cluster.pods)).toEqual(['web/frontend-0 10.244.0.2 @node-1']);
    expect(result.cluster.policies.map((p) => [p.name, p.source.file])).toEqual([['default-deny', `${FIXTURES}/tree/policies/deny-all.json`]]);
  });

  it('merges several paths; a duplicate object is a warning and the later one wins', () => {
    const dir = tempTree({ 'a.yaml': ns('team', ', labels: {v: one}'), 'b.yaml': ns('team', ', labels: {v: two}') });
    const result = loadCluster([join(dir, 'a.yaml'), join(dir, 'b.yaml')]);
    expect(result.cluster.namespaces[0]!.labels['v']).toBe('two');
    expect(result.warnings).toEqual([`${join(dir, 'b.yaml')}: Namespace team: duplicate of the object in ${join(dir, 'a.yaml')}; the later one wins`]);
  });

  it('reads multi-document YAML, ignoring empty documents and comments', () => {
    const result = loadText(`# leading comment\n---\n${ns('a')}---\n---\n${ns('b')}---\n`);
    expect(result.cluster.namespaces.map((n) => n.name)).toEqual(['a', 'b']);
    expect(result.objects).toBe(2);
  });

  it('flattens any *List kind with items, and counts skipped kinds', () => {
    const text = `apiVersion: v1\nkind: ConfigMapList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n---\n${ns('x')}---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n`;
    const result = loadText(text);
    expect(result.skipped).toEqual({ ConfigMap: 2, Ingress: 1 });
    expect(result.objects).toBe(4);
  });

  it('a known kind from another API group (Calico NetworkPolicy, Knative Service) is skipped, not misread', () => {
    const text = `apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c}\nspec: {selector: "app == 'x'"}\n---\n`
      + `apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k}\nspec: {template: {}}\n---\n`
      + `apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: old}\nspec: {podSelector: {}}\n`;
    const result = loadText(text);
    expect(result.skipped).toEqual({ 'NetworkPolicy (projectcalico.org/v3)': 1, 'Service (serving.knative.dev/v1)': 1 });
    expect(result.cluster.policies.map((p) => p.name)).toEqual(['old']);
    expect(result.cluster.services).toEqual([]);
  });

  it('a namespaced object without metadata.namespace goes to default', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n';
    expect(loadText(text).cluster.pods.map((p) => p.namespace)).toEqual(['default']);
  });

  it('loads text from memory the same way, the given name standing for the file', () => {
    const fromText = loadClusterFromText(readFileSync('captures/seed/cluster.yaml', 'utf8'), {}, 'captures/seed/cluster.yaml');
    expect(fromText).toEqual(loadCluster(['captures/seed/cluster.yaml']));
    expect(errorOf(() => loadClusterFromText('{"kind": "Pod", "metadata": {"name": "P"}}', {}, 'mem.json')))
      .toContain('mem.json: Pod default/P: metadata.name: a lowercase RFC 1123 subdomain');
    expect(errorOf(() => loadClusterFromText('# nothing\n'))).toBe('cluster.yaml: no Kubernetes objects found');
  });

  it('a missing path is an error naming it', () => {
    expect(errorOf(() => loadCluster(['/nonexistent/cluster.yaml']))).toBe('/nonexistent/cluster.yaml: cannot read cluster manifests: no such file or directory');
  });

  it('reads JSON and YAML with a byte-order mark and CRLF line ends', () => {
    const dir = tempTree({
      'a.json': '\uFEFF{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}\r\n',
      'b.yaml': '\uFEFFapiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: b\r\n',
    });
    expect(loadCluster([dir]).cluster.namespaces.map((n) => n.name)).toEqual(['a', 'b']);
  });

  it('an unreadable file is an error naming it', () => {
    const dir = tempTree({});
    expect(errorOf(() => readFileText(dir))).toBe(`${dir}: cannot read file: is a directory`);
  });

  it('a file longer than one string can hold is an error naming it, its size and what to do', () => {
    // Sparse: no disk written; reading it takes the file's length in memory, once.
    const dir = tempTree({});
    const file = join(dir, 'huge.json');
    const bytes = constants.MAX_STRING_LENGTH + 4096;
    closeSync(openSync(file, 'w'));
    truncateSync(file, bytes);
    expect(errorOf(() => readFileText(file))).toBe(`${file}: cannot read file: ${bytes} bytes, more text than Node.js holds in one string ` +
      `(${constants.MAX_STRING_LENGTH} characters); give the manifests as several files (every command takes several cluster paths)`);
    rmSync(file);
  });

  it('no paths at all is an error', () => {
    expect(errorOf(() => loadCluster([]))).toContain('no cluster manifests given');
  });

  it('an empty set of objects is an error naming the paths', () => {
    const dir = tempTree({ 'README.md': '# nothing', 'empty.yaml': '# only a comment\n' });
    expect(errorOf(() => loadCluster([dir]))).toBe(`${dir}: no Kubernetes objects found (read *.yaml, *.yml and *.json files)`);
  });

  it('a YAML syntax error names the file and the line', () => {
    const message = loadError(`${ns('a')}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: [b\n`);
    expect(message).toMatch(/bad\.yaml: line 9, column 1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a \]$/);
  });

  it('a duplicate YAML key is a syntax error too', () => {
    expect(loadError('apiVersion: v1\nkind: Namespace\nkind: Pod\nmetadata: {name: a}\n')).toMatch(/bad\.yaml: line 3, column 1: YAML syntax error: Map keys must be unique$/);
  });

  it('a JSON syntax error names the file and the line', () => {
    const message = loadError('{\n  "apiVersion": "v1",\n  "kind": "Namespace",\n  "metadata": {"name": "a"},,\n}\n', {}, 'bad.json');
    expect(message).toMatch(/bad\.json: line 4, column 29: JSON syntax error: \S/);
  });

  it('a List whose items is not a list is refused; an empty List is no objects', () => {
    expect(loadError('apiVersion: v1\nkind: List\nitems: {a: 1}\n')).toMatch(/bad\.yaml: List: items: must be a list of objects$/);
    expect(loadError('apiVersion: v1\nkind: List\nitems: []\n')).toMatch(/bad\.yaml: no Kubernetes objects found/);
  });

  it('a document that is not a mapping, or has no kind, is refused', () => {
    expect(loadError('- a\n- b\n')).toMatch(/bad\.yaml: not a Kubernetes object: expected a mapping with apiVersion and kind$/);
    expect(loadError(`${ns('a')}---\nfoo: bar\n`)).toMatch(/bad\.yaml document 2: not a Kubernetes object: it has no kind$/);
  });
});

describe('YAML scalars', () => {
  it('an unquoted true is a boolean, so a label value written that way is refused', () => {
    expect(loadError('apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {public: true}}\n'))
      .toContain('Namespace a: metadata.labels.public: must be a string (quote it in YAML), got boolean true');
    expect(loadText('apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {public: "true"}}\n').cluster.namespaces[0]!.labels['public']).toBe('true');
  });

  it('y, n, yes and on stay strings (YAML 1.2): the e2e suite\'s namespace y loads', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: n, namespace: y, labels: {pod: yes, flag: on}}\nspec: {containers: []}\n';
    const pod = loadText(text).cluster.pods[0]!;
    expect([pod.namespace, pod.name, pod.labels]).toEqual(['y', 'n', { pod: 'yes', flag: 'on' }]);
  });
});
