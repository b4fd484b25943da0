/**
 * The loader's per-pod objects share their hidden classes. V8 (11.3, Node 20) gives every object that
 * a spread followed by more fields makes (`{ ...shape, name }`) a hidden class of its own; the loader
 * made its pod drafts so, and every later read of a draft's field went through V8's megamorphic
 * lookup: the large tier's cluster (50k pods) loaded in 2.5 s instead of 1.25 s, a cluster of
 * Deployments in 0.79 s instead of 0.26 s (bench/NOTES.md). No timing here: the classes are counted,
 * with V8's own `%HaveSameMap`, in a child Node run with --allow-natives-syntax over the built modules
 * (`npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const DIST = join(ROOT, 'dist', 'src', 'manifests');

/** Pods with and without a node, a Deployment and a StatefulSet to expand, Services without a ClusterIP. */
function manifests(): string {
  const items: unknown[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }];
  for (let i = 0; i < 120; i++) {
    items.push({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: `web-${i}`, namespace: 'shop', labels: { app: 'web' } },
      spec: { ...(i % 2 === 0 ? { nodeName: `node-${i % 3}` } : {}), containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
      status: i % 4 === 0 ? {} : { podIP: `10.1.${i >> 8}.${i & 255}` },
    });
  }
  const template = { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'c' }] } };
  items.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'shop' }, spec: { replicas: 100, template } });
  items.push({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'shop' }, spec: { replicas: 20, template } });
  for (let i = 0; i < 60; i++) {
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'shop' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** Each stage's objects and how many hidden classes they have, as the child reports them. */
function classCounts(): Record<string, [objects: number, classes: number]> {
  const url = (f: string): string => pathToFileURL(join(DIST, f)).href;
  const script = `
    import { readFileSync } from 'node:fs';
    import { objectsOfText } from '${url('read.js')}';
    import { collect } from '${url('collect.js')}';
    import { Warnings } from '${url('context.js')}';
    import { planExpansion, expandWorkload } from '${url('expand.js')}';
    import { place } from '${url('assemble.js')}';
    import { loadClusterFromText } from '${url('load.js')}';
    const classes = (list) => { const seen = []; for (const o of list) if (!seen.some((s) => %HaveSameMap(s, o))) seen.push(o); return [list.length, seen.length]; };
    const text = readFileSync(0, 'utf8');
    const collected = collect(objectsOfText('cluster.json', text), new Warnings());
    const pods = [...collected.pods.values()];
    const expanded = planExpansion([...collected.workloads.values()], pods).flatMap((w) => expandWorkload(w, ['node-0', 'node-1']));
    const placed = place(expanded, ['node-0', 'node-1']);
    const cluster = loadClusterFromText(text, {}, 'cluster.json').cluster;
    const control = Array.from({ length: 10 }, (_, i) => (i % 2 ? { a: i, b: i } : { b: i, a: i }));
    console.log(JSON.stringify({ converted: classes(pods), expanded: classes(expanded), placed: classes(placed),
      pods: classes(cluster.pods), services: classes(cluster.services), control: classes(control) }));
  `;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { input: manifests(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, [number, number]>;
}

describe('the loader\'s per-pod objects', () => {
  it('share a hidden class at each stage (built modules; npm test builds them)', () => {
    if (!existsSync(join(DIST, 'load.js'))) throw new Error(`${DIST} is missing: run \`npm run build\` (npm test does it)`);
    const counts = classCounts();
    // The counter itself: two key orders are two classes.
    expect(counts['control']).toEqual([10, 2]);
    expect(counts['converted']![0]).toBe(120);
    expect(counts['expanded']![0]).toBe(120);
    expect(counts['placed']![0]).toBe(120);
    expect(counts['pods']![0]).toBe(240);
    expect(counts['services']![0]).toBe(60);
    // One class per literal that makes them; the spreads this replaced made more (one per object for drafts).
    for (const stage of ['converted', 'expanded', 'placed', 'pods', 'services']) expect(counts[stage]![1], stage).toBe(1);
  });
});
