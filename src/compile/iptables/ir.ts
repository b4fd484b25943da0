/**
 * The iptables model's intermediate representation: flat, index-addressed data that the renderer
 * prints as iptables-save / ipset-restore text and the matcher (src/match/iptables.ts) executes
 * directly. Nothing here is parsed back from text.
 *
 * Layout mirrors the kernel's `ipt_entry` table the way gVisor's user-space iptables keeps it: one
 * rule array per family, rules of a chain contiguous, jumps as integer chain ids.
 */
import type { Cidr, Family } from '../../model/ip.js';

/** Rule targets. JUMP pushes a return point; GOTO does not (RETURN then goes to the last JUMP's caller). */
export const Target = { NONE: 0, ACCEPT: 1, DROP: 2, RETURN: 3, JUMP: 4, GOTO: 5, MARK: 6 } as const;
export type TargetCode = (typeof Target)[keyof typeof Target];

/**
 * The mark bit meaning "a policy accepted this packet in the direction being checked". Bits 0x4000 and
 * 0x8000 are kube-proxy's masquerade/drop marks; Calico and kube-router also use bits from 0x10000 up.
 */
export const ACCEPT_MARK = 0x10000;

/** `--ctstate` bits: 1 << CtState value (src/wire/flow-batch.ts). */
export const CtBit = { NEW: 1 << 0, ESTABLISHED: 1 << 1, RELATED: 1 << 2, INVALID: 1 << 3, UNTRACKED: 1 << 4 } as const;

/** The deepest call stack the compiler emits (FORWARD -> top -> dispatch root -> policy chain). */
export const MAX_JUMP_DEPTH = 8;

export type SetType = 'hash:ip' | 'hash:net' | 'hash:ip,port';

export type SetEntry =
  | { readonly kind: 'net'; readonly cidr: Cidr; readonly nomatch: boolean }
  | { readonly kind: 'ipport'; readonly cidr: Cidr; readonly proto: number; readonly port: number };

export interface IpSet {
  readonly name: string;
  readonly family: Family;
  readonly type: SetType;
  /** hash:ip entries are full-length prefixes; hash:net may carry `nomatch` exceptions. */
  readonly entries: readonly SetEntry[];
  /** What the set stands for, for the renderer's comment lines. */
  readonly purpose: string;
}

/** `-m set [!] --match-set NAME src|dst|dst,dst`. `dst,dst` (hash:ip,port) looks up address and port. */
export interface SetMatch {
  readonly set: number;
  readonly dir: 'src' | 'dst' | 'dst,dst';
  readonly negate: boolean;
}

/** An inclusive port range; a single port is lo === hi. */
export interface PortRange {
  readonly lo: number;
  readonly hi: number;
}

export interface Rule {
  readonly chain: number;
  /** `-s` / `-d` address matches (host routes in dispatch and shortcut rules), null when absent. */
  readonly src: Cidr | null;
  readonly dst: Cidr | null;
  /** IANA protocol number; 0 matches every protocol (a rule without `-p`). */
  readonly proto: number;
  /** Destination port ranges, ORed (`--dport` or `-m multiport --dports`); empty: no port match. */
  readonly dports: readonly PortRange[];
  readonly sets: readonly SetMatch[];
  /** CtBit mask the packet's state must be in; 0: no conntrack match. */
  readonly ctstate: number;
  /** `-m mark --mark value/mask`; mask 0: no mark match. */
  readonly markValue: number;
  readonly markMask: number;
  readonly target: TargetCode;
  /** JUMP / GOTO: the chain id; MARK: the `--set-xmark` value (mask in `targetMask`). */
  readonly targetArg: number;
  readonly targetMask: number;
  /** `namespace/policy ingress|egress rule N` for policy rules, otherwise a structural comment. */
  readonly comment: string;
  /** The NetworkPolicy rule this implements (policy rules only), for reports. */
  readonly source: RuleSource | null;
}

export interface RuleSource {
  readonly policy: string;
  readonly direction: 'ingress' | 'egress';
  readonly rule: number;
}

export interface Chain {
  readonly name: string;
  /** Builtin chains (FORWARD) have a policy; user chains end with an explicit default rule. */
  readonly builtin: boolean;
  /** Index of its first rule in the family's rule array, and one past its last. */
  readonly start: number;
  readonly end: number;
}

export interface FamilyProgram {
  readonly family: Family;
  readonly chains: readonly Chain[];
  readonly rules: readonly Rule[];
  /** The chain id of builtin FORWARD: where every forwarded packet starts. */
  readonly entry: number;
  /** The deepest JUMP nesting any path reaches (validated <= MAX_JUMP_DEPTH). */
  readonly maxDepth: number;
}

export interface IptablesProgram {
  readonly v4: FamilyProgram;
  readonly v6: FamilyProgram;
  /** Sets of both families; SetMatch.set indexes this array. */
  readonly sets: readonly IpSet[];
}
