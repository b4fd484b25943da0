/**
 * Hand-made policy maps for the probe sequence's precedence rules, which v1 NetworkPolicy alone never
 * exercises (it only allows): deny entries and competing L3 / L4-only entries on the seed scenario's
 * backend (endpoint 0, ingress), probed from the frontend (identity 257). Used by the matcher's tests
 * and by the kernel oracle, so both implementations are held to the same cases.
 */
import { columnsFromEntries } from '../../../src/compile/ebpf/columns.js';
import { compileEbpf } from '../../../src/compile/ebpf/compile.js';
import type { EbpfProgram, PolicyEntry } from '../../../src/compile/ebpf/program.js';
import { indexCluster } from '../../../src/model/cluster-index.js';
import { mustParseIp } from '../../../src/model/ip.js';
import type { Flow } from '../../../src/model/evaluate.js';
import { EBPF_SCENARIOS } from './scenarios.js';

export const FRONTEND = 257;

type EntrySpec = [identity: number, protocol: number, port: number, prefixLength: number, deny: boolean];

export interface PrecedenceCase {
  readonly name: string;
  readonly entries: readonly EntrySpec[];
  readonly port: number;
  /** Index into `entries` of the entry that must decide, or -1 for none (default drop). */
  readonly decides: number;
  readonly allowed: boolean;
}

export const PRECEDENCE_CASES: readonly PrecedenceCase[] = [
  { name: 'the longer L3 prefix beats a protocol-only L4 entry', entries: [[FRONTEND, 6, 80, 24, false], [0, 6, 0, 8, false]], port: 80, decides: 0, allowed: true },
  { name: 'a longer L4-only prefix beats a shorter L3 entry', entries: [[FRONTEND, 6, 0, 8, false], [0, 6, 80, 24, false]], port: 80, decides: 1, allowed: true },
  { name: 'on equal prefixes the L3 entry wins', entries: [[FRONTEND, 6, 80, 24, false], [0, 6, 80, 24, false]], port: 80, decides: 0, allowed: true },
  { name: 'an L4-only deny beats a more specific L3 allow', entries: [[FRONTEND, 6, 80, 24, false], [0, 0, 0, 0, true]], port: 80, decides: 1, allowed: false },
  { name: 'an L3 deny decides without the L4-only lookup', entries: [[FRONTEND, 0, 0, 0, true], [0, 6, 80, 24, false]], port: 80, decides: 0, allowed: false },
  { name: 'a port prefix 64-127 holds port 100', entries: [[FRONTEND, 6, 64, 18, false]], port: 100, decides: 0, allowed: true },
  { name: 'a port prefix 64-127 does not hold port 128', entries: [[FRONTEND, 6, 64, 18, false]], port: 128, decides: -1, allowed: false },
  { name: 'the longest of three nested port prefixes decides', entries: [[FRONTEND, 6, 0, 9, false], [FRONTEND, 6, 96, 20, false], [FRONTEND, 6, 64, 18, true]], port: 100, decides: 1, allowed: true },
];

/** The seed program with the backend's ingress map replaced by the case's entries. */
export function precedenceProgram(c: PrecedenceCase): EbpfProgram {
  const base = compileEbpf(indexCluster(EBPF_SCENARIOS['seed']!()));
  const entries: PolicyEntry[] = c.entries.map(([identity, protocol, port, prefixLength, deny], index) => ({
    index, endpoint: 0, direction: 'ingress', identity, protocol, port, prefixLength, deny,
    origins: [{ policy: 'test/precedence', direction: 'ingress', rule: index }],
  }));
  const endpoints = base.endpoints.map((e) => (e.index === 0 ? { ...e, ingressIsolated: true, entries: entries.length } : e));
  // The matcher loads policyMap (columns); `entries` is their object view, here the same hand-made entries.
  return { ...base, policyMap: columnsFromEntries(entries), entries, endpoints };
}

/** frontend -> backend on the case's TCP port. */
export function precedenceFlow(c: PrecedenceCase): Flow {
  return { src: mustParseIp('10.244.0.3'), dst: mustParseIp('10.244.0.2'), protocol: 6, dstPort: c.port };
}
