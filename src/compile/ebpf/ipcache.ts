/**
 * The ipcache: address or prefix -> {identity, endpoint, node}, looked up by longest prefix, as Cilium's
 * `cilium_ipcache` LPM map resolves a packet's remote address to a security identity.
 *
 * Cilium keeps one ipcache per node in which that node's own addresses carry the `host` identity and
 * other nodes' carry `remote-node`. netsieve keeps one ipcache for the cluster and stores the node an
 * address belongs to; the matcher turns "an address of the endpoint's own node" into `host` (identity 1),
 * which is what each node's own ipcache would have said. Node addresses otherwise resolve like external
 * addresses (their CIDR identity), as Cilium does with `policy-cidr-match-mode=nodes`, because the
 * reference lets ipBlocks select node addresses.
 */
import type { ClusterIndex } from '../../model/cluster-index.js';
import { formatCidr, ipKey, type Cidr, type IpAddr } from '../../model/ip.js';
import { cidrKey } from './cidr.js';
import { externalIdentity, worldIdentity, type IdentityTable } from './identities.js';
import type { IpcacheEntry } from './program.js';

interface Slot { prefix: Cidr; identity: number; endpoint: number; node: number }

function hostPrefix(ip: IpAddr): Cidr {
  return { family: ip.family, base: ip.value, prefix: ip.family === 4 ? 32 : 128 };
}

/**
 * @param endpointOfAddress ipKey of a pod address -> endpoint index
 */
export function buildIpcache(
  index: ClusterIndex, ids: IdentityTable, nodeIndex: ReadonlyMap<string, number>, endpointOfAddress: ReadonlyMap<string, number>,
): IpcacheEntry[] {
  const slots = new Map<string, Slot>();
  const put = (s: Slot): void => { slots.set(cidrKey(s.prefix), s); };
  for (const family of [4, 6] as const) put({ prefix: { family, base: 0n, prefix: 0 }, identity: worldIdentity(family), endpoint: -1, node: -1 });
  for (const c of ids.cidrIdentities) put({ prefix: c.prefix, identity: c.id, endpoint: -1, node: -1 });
  for (const node of index.cluster.nodes) {
    for (const ip of node.ips) {
      put({ prefix: hostPrefix(ip), identity: externalIdentity(ids, ip), endpoint: -1, node: nodeIndex.get(node.name) ?? -1 });
    }
  }
  for (const [key, endpoint] of endpointOfAddress) {
    const identity = ids.byPodAddress.get(key)!;
    const pod = index.podByIp.get(key)!;
    const ip = pod.ips.find((a) => ipKey(a) === key)!;
    const node = index.nodeByIp.get(key);
    put({ prefix: hostPrefix(ip), identity, endpoint, node: node ? nodeIndex.get(node.name) ?? -1 : -1 });
  }
  return [...slots.keys()].sort().map((k) => {
    const s = slots.get(k)!;
    return { cidr: formatCidr(s.prefix), family: s.prefix.family, prefix: s.prefix.prefix, identity: s.identity, endpoint: s.endpoint, node: s.node };
  });
}
