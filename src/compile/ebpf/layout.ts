/**
 * The fixed-width layout of the eBPF model's maps, shared by the TypeScript matcher (src/match/ebpf.ts)
 * and the real BPF program (native/bpf/netsieve_policy.bpf.c mirrors every constant here; change both).
 *
 * Policy map key, three 32-bit words (a HASH map; Cilium >= 1.16 uses an LPM_TRIE over the same fields,
 * which the matcher emulates by probing the prefix lengths an endpoint actually uses, longest first):
 *   word 0: remote security identity (0 = any identity, Cilium's "L4-only" wildcard)
 *   word 1: endpoint index << 6 | direction << 5 | port prefix length (0..24)
 *   word 2: protocol << 16 | destination port, both masked to the prefix length
 * The prefix length counts Cilium's `lpm_prefix_length` bits over {protocol (8), dport (16)}:
 *   0 = any protocol and port, 8 = one protocol, any port, 9..24 = one protocol and a port prefix.
 */

/** Reserved identities with Cilium's numbers (pkg/identity/numericidentity.go). */
export const ReservedIdentity = {
  /** Key value meaning "any remote identity" in a policy map entry. */
  ANY: 0,
  HOST: 1,
  WORLD: 2,
  UNMANAGED: 3,
  HEALTH: 4,
  INIT: 5,
  REMOTE_NODE: 6,
  KUBE_APISERVER: 7,
  INGRESS: 8,
  WORLD_IPV4: 9,
  WORLD_IPV6: 10,
} as const;

/** Cluster-scoped (endpoint) identities start here, as Cilium's allocator does. */
export const FIRST_ENDPOINT_IDENTITY = 256;
/** Node-local CIDR identities carry the local-scope bit (1 << 24), as in Cilium. */
export const FIRST_CIDR_IDENTITY = 1 << 24;

export const DIR_INGRESS = 0;
export const DIR_EGRESS = 1;

export const PLEN_ANY = 0;
export const PLEN_PROTO = 8;
export const PLEN_FULL = 24;

/** Cilium's default `bpf-policy-map-max`: entries one endpoint's policy map can hold. */
export const POLICY_MAP_MAX = 16_384;

export const POLICY_KEY_WORDS = 3;
/** ipcache key: family << 8 | prefix length, then the four address words masked to the prefix. */
export const IPCACHE_KEY_WORDS = 5;

/** Endpoint flag bits. */
export const EP_INGRESS_ISOLATED = 1;
export const EP_EGRESS_ISOLATED = 2;

export function policyKeyWord1(endpoint: number, direction: number, plen: number): number {
  return ((endpoint << 6) | (direction << 5) | plen) >>> 0;
}

/** Protocol and port masked to a prefix length, as word 2 of the key. Cilium never masks part of the protocol. */
export function policyKeyWord2(proto: number, dport: number, plen: number): number {
  if (plen === PLEN_ANY) return 0;
  if (plen <= PLEN_PROTO) return (proto << 16) >>> 0;
  const portMask = (0xffff << (PLEN_FULL - plen)) & 0xffff;
  return ((proto << 16) | (dport & portMask)) >>> 0;
}
