/**
 * The netfilter kernel oracle's plumbing (see /work/shared/docs/kernel-oracle.md): two network
 * namespaces the test creates and removes, a generator and a firewall, joined by a veth pair; the
 * firewall forwards everything out of a second veth (ARP off, so no neighbour resolution is needed) whose
 * peer sits back in the generator, where the packets die. Nothing leaves these namespaces.
 *
 * The firewall loads the compiled output as a user would (ipset restore, then iptables-restore /
 * ip6tables-restore of one backend, nft or legacy) and a separate `table inet` records, per packet id
 * (IPv4 identification, IPv6 flow label), what the stack did: seen in PREROUTING; seen just before the
 * iptables filter FORWARD chain (priority -10) with its conntrack state; seen just after it (+10), i.e.
 * accepted. Names carry a per-run prefix; stale namespaces of earlier runs are removed first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Backend = 'nft' | 'legacy';

/** Every namespace and interface name this harness makes starts with this. */
export const PREFIX = 'nsvk';

const TOOLS = ['ip', 'nft', 'ipset', 'tcpreplay', 'conntrack', 'sysctl'];
const BACKEND_TOOLS: Record<Backend, string[]> = {
  nft: ['iptables-nft-restore', 'ip6tables-nft-restore'],
  legacy: ['iptables-legacy-restore', 'ip6tables-legacy-restore'],
};

/** The MAC the firewall's ingress veth answers to: crafted frames must carry it or the stack drops them. */
export const FIREWALL_MAC = Uint8Array.of(0x02, 0x6e, 0x73, 0x76, 0x00, 0x02);
export const GENERATOR_MAC = Uint8Array.of(0x02, 0x6e, 0x73, 0x76, 0x00, 0x01);
const FIREWALL_MAC_TEXT = '02:6e:73:76:00:02';
const GENERATOR_MAC_TEXT = '02:6e:73:76:00:01';

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** Why the oracle cannot run here, or null when it can. */
export function netfilterUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces, veth and netfilter need root)';
  const missing = [...TOOLS, ...BACKEND_TOOLS.nft, ...BACKEND_TOOLS.legacy].filter((t) => !have(t));
  if (missing.length > 0) {
    return `missing ${missing.join(', ')} (apt-get install -y iptables ipset nftables conntrack tcpreplay iproute2)`;
  }
  const probe = `${PREFIX}-${process.pid}-probe`;
  const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (made.status !== 0) return `cannot create a network namespace: ${made.stderr.trim()}`;
  return null;
}

export interface Topology {
  readonly backend: Backend;
  readonly gen: string;
  readonly fw: string;
  /** The generator's end of the veth into the firewall: tcpreplay sends here. */
  readonly genIf: string;
}

export function sh(cmd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr?.trim() || err.message}`);
  }
}

export function inNs(ns: string, cmd: string, args: readonly string[], input?: string): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes namespaces an earlier, interrupted run of this harness left behind (their veths go with them).
 * Names carry the creating process's pid: only namespaces whose process is gone are removed, so runs in
 * parallel (another worker, another checkout) never pull each other's namespaces away.
 */
export function removeStaleNamespaces(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name);
    if (m && !processAlive(Number(m[1]))) spawnSync('ip', ['netns', 'del', name]);
  }
}

/** Creates the two namespaces and their links; on any failure removes what it made and rethrows. */
export function createTopology(backend: Backend): Topology {
  const id = `${PREFIX}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const top: Topology = { backend, gen: `${id}-gen`, fw: `${id}-fw`, genIf: 'nsvg0' };
  try {
    build(top);
    return top;
  } catch (e) {
    destroyTopology(top);
    throw e;
  }
}

/**
 * Interface names only need to be unique inside their namespace: `ip link add ... netns` creates each
 * end directly in its namespace, so the fixed short names below never meet another run's.
 */
function build(top: Topology): void {
  const { gen, fw } = top;
  sh('ip', ['netns', 'add', gen]);
  sh('ip', ['netns', 'add', fw]);
  sh('ip', ['link', 'add', 'nsvg0', 'netns', gen, 'address', GENERATOR_MAC_TEXT, 'type', 'veth', 'peer', 'name', 'nsvf0', 'netns', fw, 'address', FIREWALL_MAC_TEXT]);
  sh('ip', ['link', 'add', 'nsvs1', 'netns', gen, 'type', 'veth', 'peer', 'name', 'nsvf1', 'netns', fw]);
  for (const [ns, dev] of [[gen, 'lo'], [gen, 'nsvg0'], [gen, 'nsvs1'], [fw, 'lo'], [fw, 'nsvf0'], [fw, 'nsvf1']] as const) {
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }
  sh('ip', ['-n', fw, 'link', 'set', 'nsvf1', 'arp', 'off']);
  inNs(fw, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.conf.all.rp_filter=0',
    'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.nsvf0.rp_filter=0', 'net.netfilter.nf_conntrack_tcp_be_liberal=1',
    'net.netfilter.nf_conntrack_tcp_loose=1', 'net.netfilter.nf_conntrack_checksum=1']);
  sh('ip', ['-n', fw, 'route', 'add', 'default', 'dev', 'nsvf1']);
  sh('ip', ['-n', fw, '-6', 'route', 'add', 'default', 'dev', 'nsvf1']);
}

export function destroyTopology(top: Topology): void {
  spawnSync('ip', ['netns', 'del', top.gen]);
  spawnSync('ip', ['netns', 'del', top.fw]);
}

const RECORDER = `
table inet nsvrec {
  set p4 { typeof ip id; flags dynamic; size 65536; }
  set p6 { typeof ip6 flowlabel; flags dynamic; size 1048576; }
  set b4 { typeof ip id . ct state; flags dynamic; size 65536; }
  set b6 { typeof ip6 flowlabel . ct state; flags dynamic; size 1048576; }
  set a4 { typeof ip id; flags dynamic; size 65536; }
  set a6 { typeof ip6 flowlabel; flags dynamic; size 1048576; }
  chain pre { type filter hook prerouting priority -450; policy accept;
    meta nfproto ipv4 add @p4 { ip id }; meta nfproto ipv6 add @p6 { ip6 flowlabel }; }
  chain before { type filter hook forward priority -10; policy accept;
    meta nfproto ipv4 add @b4 { ip id . ct state }; meta nfproto ipv6 add @b6 { ip6 flowlabel . ct state }; }
  chain after { type filter hook forward priority 10; policy accept;
    meta nfproto ipv4 add @a4 { ip id }; meta nfproto ipv6 add @a6 { ip6 flowlabel }; }
}
`;

const EMPTY_FILTER = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n';

/**
 * Loads a ruleset into the firewall after clearing the previous one: empty filter tables (so no rule
 * names a set), every ipset destroyed, the recorder re-created empty, the conntrack table flushed last.
 * One shell in the namespace runs it all (each process start costs a lot on a busy machine).
 */
export function loadRuleset(top: Topology, ipsets: string, rulesV4: string, rulesV6: string): void {
  const [v4, v6] = BACKEND_TOOLS[top.backend];
  const dir = mkdtempSync(join(tmpdir(), 'netsieve-rules-'));
  try {
    const files = { empty: EMPTY_FILTER, sets: ipsets, v4: rulesV4, v6: rulesV6, rec: RECORDER };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const script = [
      'set -e', `${v4} < empty`, `${v6} < empty`, 'ipset destroy', 'ipset restore < sets', `${v4} < v4`, `${v6} < v6`,
      'nft delete table inet nsvrec 2>/dev/null || true', 'nft -f rec', 'conntrack -F 2>/dev/null || true',
    ].join('\n');
    sh('ip', ['netns', 'exec', top.fw, 'sh', '-c', `cd '${dir}' && ${script.replace(/\n/g, ' && ').replace('set -e && ', '')}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sends a pcap from the generator, in order, as fast as possible. */
export function replay(top: Topology, pcapPath: string): void {
  inNs(top.gen, 'tcpreplay', ['-q', '-t', '-i', top.genIf, pcapPath]);
}

export type KernelCtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

export interface Recorded {
  /** Ids seen in PREROUTING, before the filter table (with the ct state), after it (accepted). */
  readonly pre: Set<number>;
  readonly before: Map<number, KernelCtState>;
  readonly after: Set<number>;
}

interface NftElem { concat?: [number, string] }
interface NftSet { name: string; elem?: unknown[] }

/** Every recorder set in one `nft -j list table`. */
function readSets(top: Topology): Map<string, unknown[]> {
  const json = JSON.parse(inNs(top.fw, 'nft', ['-j', 'list', 'table', 'inet', 'nsvrec'])) as { nftables: Array<{ set?: NftSet }> };
  const sets = new Map<string, unknown[]>();
  for (const item of json.nftables) if (item.set) sets.set(item.set.name, item.set.elem ?? []);
  return sets;
}

export interface RecordedBoth { readonly v4: Recorded; readonly v6: Recorded }

export function readRecorded(top: Topology): RecordedBoth {
  const sets = readSets(top);
  const family = (s: string): Recorded => {
    const before = new Map<number, KernelCtState>();
    for (const e of (sets.get(`b${s}`) ?? []) as NftElem[]) before.set(e.concat![0], e.concat![1] as KernelCtState);
    return { pre: new Set((sets.get(`p${s}`) ?? []) as number[]), before, after: new Set((sets.get(`a${s}`) ?? []) as number[]) };
  };
  return { v4: family('4'), v6: family('6') };
}

/** Waits until PREROUTING has seen every packet (the veth delivers asynchronously), then reads everything. */
export async function settleAndRead(top: Topology, count4: number, count6: number): Promise<RecordedBoth> {
  let rec = readRecorded(top);
  for (let tries = 0; tries < 40 && (rec.v4.pre.size < count4 || rec.v6.pre.size < count6); tries++) {
    await new Promise((r) => setTimeout(r, 50));
    rec = readRecorded(top);
  }
  return rec;
}
