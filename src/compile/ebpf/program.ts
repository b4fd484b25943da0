/**
 * The compiled eBPF model as plain data: identities, the ipcache, endpoints and their policy map
 * entries. `compileEbpf` builds it; the matcher loads it into typed arrays; `compile --model ebpf`
 * prints it (the JSON shape is this type, see README "compile --model ebpf").
 */
import type { EvalOptions, RuleRef } from '../../model/evaluate.js';
import type { Direction } from '../../model/types.js';

export type IdentityKind = 'reserved' | 'endpoint' | 'cidr';

export interface SecurityIdentity {
  readonly id: number;
  readonly kind: IdentityKind;
  /** Cilium-style labels: `k8s:app=web`, `k8s:io.kubernetes.pod.namespace=prod`, `cidr:10.0.0.0/8`, `reserved:world`. */
  readonly labels: readonly string[];
  /** `namespace/name` of the pods (endpoint identities) that carry it, in model order. */
  readonly pods: readonly string[];
}

export interface IpcacheEntry {
  /** `address/prefix`, canonical text. */
  readonly cidr: string;
  readonly family: 4 | 6;
  readonly prefix: number;
  readonly identity: number;
  /** Index into `endpoints` when the address is a local pod's, else -1. */
  readonly endpoint: number;
  /** Index into `nodes` when the address is a node's, else -1 (resolves to `host` for that node's pods). */
  readonly node: number;
}

export interface EndpointInfo {
  readonly index: number;
  /** `namespace/name`. */
  readonly pod: string;
  readonly node: number;
  readonly ingressIsolated: boolean;
  readonly egressIsolated: boolean;
  /** Identities of the pod's addresses (one per family when they differ). */
  readonly identities: readonly number[];
  readonly entries: number;
}

/** Why an entry exists: the first rule (model order) that produced its key, then any others. */
export type EntryOrigin = RuleRef | { readonly policy: 'allow-localhost'; readonly direction: Direction; readonly rule: -1 };

export interface PolicyEntry {
  readonly index: number;
  readonly endpoint: number;
  readonly direction: Direction;
  /** Remote identity; 0 = any. */
  readonly identity: number;
  /** IANA protocol, 0 = any. */
  readonly protocol: number;
  /** Destination port (masked to the prefix); 0 with prefix <= 8. */
  readonly port: number;
  /** Cilium's lpm_prefix_length over protocol (8 bits) and port (16 bits): 0, 8, or 9..24. */
  readonly prefixLength: number;
  /** Always false for v1 NetworkPolicy; the key layout leaves room for the admin tiers' deny. */
  readonly deny: boolean;
  readonly origins: readonly EntryOrigin[];
}

/**
 * Every policy map entry, in columns. Endpoints that the same policies select (the replicas of an app)
 * get the same map, so entries are stored once per distinct map, a "template" of rows, and each
 * endpoint's map names its template: 5M entries at the real tier are about a third as many rows.
 * Entry indexes are global and in map order: map `m` (an endpoint and direction with entries) holds
 * entries `mapStart[m] .. mapStart[m + 1] - 1`, which are rows `templateStart[t] ..` of template
 * `t = mapTemplate[m]`, in order. A row's origins are ids into `originTable` (one shared object per
 * rule): `originPool[originStart[r] .. originStart[r + 1] - 1]`, the first producing rule first.
 * columns.ts turns an entry index into its row and builds PolicyEntry objects.
 */
export interface PolicyColumns {
  /** Entries in all maps. */
  readonly count: number;
  readonly mapCount: number;
  readonly mapEndpoint: Int32Array;
  /** DIR_INGRESS or DIR_EGRESS (layout.ts). */
  readonly mapDirection: Uint8Array;
  /** mapCount + 1 entry offsets. */
  readonly mapStart: Int32Array;
  readonly mapTemplate: Int32Array;
  /** templates + 1 row offsets. */
  readonly templateStart: Int32Array;
  /** Per row: */
  readonly identity: Uint32Array;
  readonly protocol: Uint8Array;
  readonly port: Uint16Array;
  readonly prefixLength: Uint8Array;
  readonly deny: Uint8Array;
  /** rows + 1 offsets into originPool. */
  readonly originStart: Int32Array;
  readonly originPool: Int32Array;
  readonly originTable: readonly EntryOrigin[];
}

export interface EbpfProgram {
  readonly options: EvalOptions;
  /** The probe sequence mirrored, named with its Cilium release. */
  readonly probeSequence: string;
  readonly identities: readonly SecurityIdentity[];
  readonly ipcache: readonly IpcacheEntry[];
  readonly nodes: readonly string[];
  readonly endpoints: readonly EndpointInfo[];
  /** The policy map entries; what the matcher loads. */
  readonly policyMap: PolicyColumns;
  /** The same entries as objects, built on first use (JSON dump, tables, tests): see columns.ts. */
  readonly entries: readonly PolicyEntry[];
  readonly warnings: readonly string[];
}

export const PROBE_SEQUENCE =
  'Cilium v1.17 __policy_can_access (bpf/lib/policy.h): L3 lookup {remote identity, proto, dport} by longest ' +
  'port prefix; unless it is a deny, L4-only lookup {identity 0, proto, dport}; pick a deny, else the longer ' +
  'prefix, else the L3 entry. The matcher emulates the LPM over {proto, dport} with a HASH map of template rows ' +
  '(endpoints with the same map share them) hashed on {identity, template} only: one run of buckets holds every ' +
  'prefix length, the longest match wins.';
