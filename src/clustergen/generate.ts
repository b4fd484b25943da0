/**
 * Benchmark clusters with the shapes real clusters have, for `cluster-gen` and the benchmark tiers:
 * namespaces owned by teams, apps of a few replicas each with named ports, and policies most of which
 * select one app and allow one peer on one port, a share of namespace-wide default-deny, some
 * namespace-selector peers, some CIDR egress, and DNS egress to kube-system.
 *
 * With `services`, that many apps also get a ClusterIP Service (port 80 to their `http` port), as most
 * apps of a real cluster have: their traffic then goes through the replay's Service DNAT. The Services
 * come last and draw nothing from the generator, so the rest of the cluster is the same with or without
 * them (the benchmark tiers have none).
 *
 * Output is a `kind: List` of plain manifests (Namespaces, Pods with status.podIP, NetworkPolicies,
 * Services without a clusterIP: the loader assigns them from its service range), the shape
 * `kubectl get -A -o json` writes, so the normal loader reads it.
 */
import { Prng } from './prng.js';

export interface GenerateOptions {
  readonly pods: number;
  readonly namespaces: number;
  readonly policies: number;
  readonly seed: number;
  /** ClusterIP Services, one per app for the first `services` apps (at most one per app); default none. */
  readonly services?: number;
}

type Manifest = Record<string, unknown>;

const TEAMS = ['payments', 'search', 'identity', 'platform', 'data', 'growth', 'media', 'infra'];
const ENVS = ['prod', 'staging', 'dev'];
const TIERS = ['web', 'api', 'worker', 'db', 'cache'];
const PORTS: Readonly<Record<string, number>> = { http: 8080, grpc: 9000, metrics: 9090, db: 5432, cache: 6379 };

interface App { readonly namespace: string; readonly name: string; readonly tier: string }

export function generateCluster(options: GenerateOptions): Manifest {
  const rng = new Prng(options.seed);
  const namespaces = Array.from({ length: Math.max(1, options.namespaces) }, (_, i) => `ns-${i.toString().padStart(5, '0')}`);
  const items: Manifest[] = [namespaceManifest('kube-system', { team: 'infra', env: 'prod' })];
  for (const ns of namespaces) items.push(namespaceManifest(ns, { team: rng.pick(TEAMS), env: rng.pick(ENVS) }));
  const apps = generateApps(rng, namespaces, options.pods);
  // A loop, not push(...spread): spreading 150k pods as arguments overflows the stack.
  for (const pod of generatePods(rng, apps, options.pods)) items.push(pod);
  items.push(podManifest('kube-system', 'coredns-0', { app: 'coredns', tier: 'dns' }, ipAt(options.pods), [['dns', 53, 'UDP']]));
  const byNamespace = groupBy(apps, (a) => a.namespace);
  for (let i = 0; i < options.policies; i++) items.push(generatePolicy(rng, i, namespaces, byNamespace));
  for (const app of apps.slice(0, servicesWanted(options, apps.length))) items.push(serviceManifest(app));
  return { apiVersion: 'v1', kind: 'List', items };
}

/** The apps a cluster of these options has (for `cluster-gen --services`, which allows one Service per app). */
export function appCount(options: Pick<GenerateOptions, 'pods' | 'namespaces'>): number {
  return Math.max(1, Math.min(options.pods, Math.max(Math.max(1, options.namespaces), Math.ceil(options.pods / 3))));
}

function servicesWanted(options: GenerateOptions, apps: number): number {
  const wanted = options.services ?? 0;
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > apps) throw new RangeError(`services: ${wanted} is not a whole number from 0 to ${apps} (one per app)`);
  return wanted;
}

/** Apps of 1-8 replicas; about one app per 3 pods, at least one per namespace while pods last. */
function generateApps(rng: Prng, namespaces: readonly string[], pods: number): App[] {
  const count = appCount({ pods, namespaces: namespaces.length });
  return Array.from({ length: count }, (_, i) => ({
    namespace: namespaces[i % namespaces.length]!,
    name: `app-${Math.floor(i / namespaces.length)}`,
    tier: rng.pick(TIERS),
  }));
}

function generatePods(rng: Prng, apps: readonly App[], pods: number): Manifest[] {
  const out: Manifest[] = [];
  for (let i = 0; i < pods; i++) {
    const app = apps[i % apps.length]!;
    const ports: [string, number, string][] = [['http', PORTS['http']!, 'TCP'], ['metrics', PORTS['metrics']!, 'TCP']];
    if (app.tier === 'db') ports.push(['db', PORTS['db']!, 'TCP']);
    if (app.tier === 'cache') ports.push(['cache', PORTS['cache']!, 'TCP']);
    if (rng.chance(0.3)) ports.push(['grpc', PORTS['grpc']!, 'TCP']);
    const replica = Math.floor(i / apps.length);
    out.push(podManifest(app.namespace, `${app.name}-${replica}`, { app: app.name, tier: app.tier }, ipAt(i), ports));
  }
  return out;
}

/** Pod addresses from 10.0.0.0/8 in order, skipping .0 and .255 of every /24 for readability. */
function ipAt(i: number): string {
  const host = Math.floor(i / 254) * 256 + (i % 254) + 1;
  return `10.${(host >>> 16) & 255}.${(host >>> 8) & 255}.${host & 255}`;
}

function generatePolicy(rng: Prng, i: number, namespaces: readonly string[], apps: ReadonlyMap<string, App[]>): Manifest {
  const namespace = namespaces[i % namespaces.length]!;
  const local = apps.get(namespace) ?? [];
  const name = `np-${i}`;
  const roll = rng.next();
  if (roll < 0.15 || local.length === 0) return policy(namespace, `default-deny-${i}`, {}, { policyTypes: ['Ingress'] });
  const target = rng.pick(local);
  const selector = { matchLabels: { app: target.name } };
  const port = { protocol: 'TCP', port: rng.chance(0.5) ? rng.pick(Object.keys(PORTS)) : rng.pick(Object.values(PORTS)) };
  if (roll < 0.75) {
    const from = [{ podSelector: { matchLabels: { app: rng.pick(local).name } } }];
    return policy(namespace, name, selector, { ingress: [{ from, ports: [port] }] });
  }
  if (roll < 0.85) {
    const from = [{ namespaceSelector: { matchLabels: { team: rng.pick(TEAMS) } } }];
    return policy(namespace, name, selector, { ingress: [{ from, ports: [port] }] });
  }
  if (roll < 0.95) {
    const cidr = `${10 + rng.int(200)}.${rng.int(256)}.0.0/16`;
    const to = [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }, { ipBlock: { cidr } }];
    return policy(namespace, name, selector, { policyTypes: ['Egress'], egress: [{ to, ports: [{ protocol: 'TCP', port: 443 }] }] });
  }
  const dns = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { app: 'coredns' } } }];
  return policy(namespace, name, selector, { policyTypes: ['Egress'], egress: [{ to: dns, ports: [{ protocol: 'UDP', port: 53 }] }] });
}

function namespaceManifest(name: string, labels: Record<string, string>): Manifest {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels, 'kubernetes.io/metadata.name': name } } };
}

function podManifest(namespace: string, name: string, labels: Record<string, string>, ip: string, ports: [string, number, string][]): Manifest {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'main', image: 'registry.example/app:1', ports: ports.map(([n, p, proto]) => ({ name: n, containerPort: p, protocol: proto })) }] },
    status: { podIP: ip, podIPs: [{ ip }] },
  };
}

function serviceManifest(app: App): Manifest {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name: app.name, namespace: app.namespace },
    spec: { selector: { app: app.name }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  };
}

function policy(namespace: string, name: string, podSelector: Manifest, spec: Manifest): Manifest {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: { podSelector, ...spec } };
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item); else map.set(k, [item]);
  }
  return map;
}
