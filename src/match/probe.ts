/**
 * The reachability truth table: every ordered pair of pods, one opening packet each, through one model.
 * Row by row (probeRows): at the real tier's 5.4k pods the table has 29M cells, more than a Map holds
 * (2^24 entries) and, rendered, more than a string can (the JSON would be 2 GB), so the CLI streams it
 * (src/cli/probe.ts); probeAll gathers the cells of a small cluster for tests.
 */
import type { ClusterIndex } from '../model/cluster-index.js';
import type { IpAddr } from '../model/ip.js';
import { qualifiedName, type Pod } from '../model/types.js';
import type { Dataplane } from './dataplane.js';

export interface ProbeCell {
  readonly from: string;
  readonly to: string;
  /** null when the two pods share no address family (nothing can be sent). */
  readonly allowed: boolean | null;
}

export interface ProbeTable {
  readonly pods: readonly string[];
  readonly cells: readonly ProbeCell[];
}

/** A cell of a row from probeRows. */
export const Reach = { DENIED: 0, ALLOWED: 1, NO_FAMILY: 2 } as const;

/** Picks the addresses a pair would use: IPv4 when both have one, else IPv6, else none. */
export function pairAddresses(from: Pod, to: Pod, family?: 4 | 6): [IpAddr, IpAddr] | null {
  for (const f of family ? [family] : [4, 6] as const) {
    const src = from.ips.find((ip) => ip.family === f);
    const dst = to.ips.find((ip) => ip.family === f);
    if (src && dst) return [src, dst];
  }
  return null;
}

/**
 * Each source pod's row, in the cluster's pod order: `row[k]` is the Reach of destination pod k. The
 * row's array is reused: `onRow` reads it before it returns.
 */
export function probeRows(
  index: ClusterIndex, dataplane: Dataplane, protocol: number, port: number, family: 4 | 6 | undefined,
  onRow: (from: number, row: Uint8Array) => void,
): void {
  const pods = index.cluster.pods;
  const row = new Uint8Array(pods.length);
  pods.forEach((from, f) => {
    pods.forEach((to, t) => {
      const pair = pairAddresses(from, to, family);
      row[t] = pair === null ? Reach.NO_FAMILY
        : dataplane.decideOpening({ src: pair[0], dst: pair[1], protocol, dstPort: port }).allowed ? Reach.ALLOWED : Reach.DENIED;
    });
    onRow(f, row);
  });
}

/** Every cell as an object: for small clusters (tests). */
export function probeAll(
  index: ClusterIndex, dataplane: Dataplane, protocol: number, port: number, family?: 4 | 6,
): ProbeTable {
  const pods = index.cluster.pods.map(qualifiedName);
  const cells: ProbeCell[] = [];
  probeRows(index, dataplane, protocol, port, family, (f, row) => {
    row.forEach((reach, t) => cells.push({ from: pods[f]!, to: pods[t]!, allowed: reach === Reach.NO_FAMILY ? null : reach === Reach.ALLOWED }));
  });
  return { pods, cells };
}
