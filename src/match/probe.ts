/**
 * The reachability truth table: every ordered pair of pods, one opening packet each, through one model.
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

/** Picks the addresses a pair would use: IPv4 when both have one, else IPv6, else none. */
export function pairAddresses(from: Pod, to: Pod, family?: 4 | 6): [IpAddr, IpAddr] | null {
  for (const f of family ? [family] : [4, 6] as const) {
    const src = from.ips.find((ip) => ip.family === f);
    const dst = to.ips.find((ip) => ip.family === f);
    if (src && dst) return [src, dst];
  }
  return null;
}

export function probeAll(
  index: ClusterIndex, dataplane: Dataplane, protocol: number, port: number, family?: 4 | 6,
): ProbeTable {
  const pods = index.cluster.pods;
  const cells: ProbeCell[] = [];
  for (const from of pods) {
    for (const to of pods) {
      const pair = pairAddresses(from, to, family);
      const allowed = pair
        ? dataplane.decideOpening({ src: pair[0], dst: pair[1], protocol, dstPort: port }).allowed
        : null;
      cells.push({ from: qualifiedName(from), to: qualifiedName(to), allowed });
    }
  }
  return { pods: pods.map(qualifiedName), cells };
}
