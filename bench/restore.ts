/**
 * The compiled iptables output loaded by the kernel: `ipset restore`, `iptables-restore` and
 * `ip6tables-restore` inside a private network namespace (`unshare -n`, root only), each timed, and the
 * rules the kernel then holds counted, so that a load that silently kept nothing cannot pass for fast.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface RestoreResult {
  readonly ok: boolean;
  readonly note: string;
  readonly ipsetSeconds: number;
  readonly iptablesSeconds: number;
  readonly ip6tablesSeconds: number;
  /** `-A` lines `iptables-save` prints afterwards (IPv4). */
  readonly rulesLoaded: number;
}

const SCRIPT = `set -e
t0=$(date +%s%N); ipset restore < "$1/ipsets.restore"
t1=$(date +%s%N); iptables-restore < "$1/rules.v4"
t2=$(date +%s%N); ip6tables-restore < "$1/rules.v6"
t3=$(date +%s%N); echo "$t0 $t1 $t2 $t3 $(iptables-save -t filter | grep -c '^-A')"`;

export function restoreInNamespace(dir: string): RestoreResult {
  const none = { ipsetSeconds: 0, iptablesSeconds: 0, ip6tablesSeconds: 0, rulesLoaded: 0 };
  if (process.getuid?.() !== 0) return { ok: false, note: 'not root: unshare -n needs root', ...none };
  const r = spawnSync('unshare', ['-n', 'sh', '-c', SCRIPT, 'restore', dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.error || r.status !== 0) return { ok: false, note: `failed: ${(r.error?.message ?? r.stderr).trim().slice(0, 300)}`, ...none };
  const [t0, t1, t2, t3, rules] = r.stdout.trim().split(/\s+/).map(Number) as [number, number, number, number, number];
  return { ok: true, note: join(dir), ipsetSeconds: (t1 - t0) / 1e9, iptablesSeconds: (t2 - t1) / 1e9, ip6tablesSeconds: (t3 - t2) / 1e9, rulesLoaded: rules };
}
