/**
 * The boundary cannot drift: the addon's compiled-in field lists and constants (native/src/layout.h,
 * exported by `layout()`) equal the TypeScript definitions (src/native/layout.ts and the sources whose
 * constants the C mirrors); every typed array the TS hot paths keep is either passed or listed here as
 * deliberately not crossing; and binding an array of the wrong element type is refused.
 */
import { describe, expect, it } from 'vitest';
import * as ebpfLayout from '../../src/compile/ebpf/layout.js';
import { ACCEPT_MARK, Target } from '../../src/compile/iptables/ir.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { FRAGMENT_WITHOUT_FIRST, newConntrack } from '../../src/conntrack/index.js';
import { TableMeta } from '../../src/conntrack/table.js';
import { Counter, Status } from '../../src/conntrack/state.js';
import { TUPLE_WORDS } from '../../src/conntrack/table.js';
import { TCP_IGNORE, TCP_INVALID, TcpIndex } from '../../src/conntrack/tcp.js';
import { DEFAULT_TIMEOUTS, SctpState, TcpState } from '../../src/conntrack/timeouts.js';
import { loadEbpf } from '../../src/match/ebpf.js';
import { BUCKET_WORDS } from '../../src/match/hash-table.js';
import { loadIptables } from '../../src/match/iptables.js';
import { SetKind } from '../../src/match/iptables-sets.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import {
  BATCH_FIELDS, CONNTRACK_FIELDS, CtParam, EBPF_FIELDS, EbpfParam, Elem, GROUPS, Group, IPT_FAMILY_FIELDS, IptParam,
  NatParam, NativeModel, PrefaultMode, ReplayStat, Timeout, WalkSlot,
} from '../../src/native/layout.js';
import { nativeEbpf, timeoutSlots } from '../../src/native/engine.js';
import { CtState, FlowBatch, RowFlag, Verdict } from '../../src/wire/flow-batch.js';
import { randomScenario } from '../support/random-cluster.js';
import { requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

/** Constant name in layout.h -> the TypeScript value it mirrors. */
function expectedConstants(): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (prefix: string, obj: Record<string, number>, skip: readonly string[] = []): void => {
    for (const [k, v] of Object.entries(obj)) if (!skip.includes(k)) out[`${prefix}${k}`] = v;
  };
  add('ELEM_', Elem);
  add('GROUP_', Group);
  add('EBPF_PARAM_', EbpfParam);
  add('IPT_PARAM_', IptParam);
  add('CT_PARAM_', CtParam);
  add('TO_', Timeout);
  add('MODEL_', NativeModel);
  add('WALK_', WalkSlot);
  add('NAT_PARAM_', NatParam);
  add('RS_', ReplayStat);
  add('PREFAULT_', PrefaultMode, ['OFF']);
  add('VERDICT_', Verdict);
  add('CT_', CtState);
  add('ROW_', RowFlag);
  add('TARGET_', Target);
  add('SET_', SetKind);
  add('STATUS_', Status);
  add('COUNTER_', Counter);
  add('META_', TableMeta);
  add('TCP_', TcpState);
  add('TCPI_', TcpIndex);
  add('SCTP_', SctpState);
  Object.assign(out, {
    ACCEPT_MARK, TUPLE_WORDS, TCP_IGNORE, TCP_INVALID, FRAGMENT_WITHOUT_FIRST,
    POLICY_KEY_WORDS: ebpfLayout.POLICY_KEY_WORDS, IPCACHE_KEY_WORDS: ebpfLayout.IPCACHE_KEY_WORDS,
    DIR_INGRESS: ebpfLayout.DIR_INGRESS, DIR_EGRESS: ebpfLayout.DIR_EGRESS, PLEN_ANY: ebpfLayout.PLEN_ANY,
    PLEN_PROTO: ebpfLayout.PLEN_PROTO, PLEN_FULL: ebpfLayout.PLEN_FULL, IDENTITY_ANY: ebpfLayout.ReservedIdentity.ANY,
    IDENTITY_HOST: ebpfLayout.ReservedIdentity.HOST, EP_INGRESS_ISOLATED: ebpfLayout.EP_INGRESS_ISOLATED,
    EP_EGRESS_ISOLATED: ebpfLayout.EP_EGRESS_ISOLATED, BUCKET_WORDS,
  });
  return out;
}

/** Own typed-array properties of an object (what a hot path could read). */
function typedArrayNames(obj: object): string[] {
  return Object.entries(obj).filter(([, v]) => ArrayBuffer.isView(v)).map(([k]) => k).sort();
}

d('the native layout equals the TypeScript layout', () => {
  it('field lists: same names, order and element types in every group', () => {
    const native = addon!.layout().groups;
    for (const [group, fields] of Object.entries(GROUPS)) {
      expect(native[group], `group ${group}`).toEqual(fields.map((f) => [f.name, f.elem]));
    }
    expect(Object.keys(native).sort()).toEqual(Object.keys(GROUPS).sort());
  });

  it('constants: every one the C code uses equals its TypeScript source', () => {
    const native = addon!.layout().constants;
    const expected = expectedConstants();
    for (const [name, value] of Object.entries(expected)) {
      if (name in native) expect(native[name], name).toBe(value);
    }
    // Every native constant has a TypeScript counterpart, but the C-only ones named here.
    const cOnly = ['EARLY_DROP_SCAN'];
    const unmatched = Object.keys(native).filter((n) => !(n in expected) && !cOnly.includes(n));
    expect(unmatched).toEqual([]);
    expect(Object.keys(native).length).toBeGreaterThan(100);
  });

  it('every FlowBatch column crosses (the native record walk writes whole rows)', () => {
    const notCrossing: string[] = [];
    const crossing = BATCH_FIELDS.map((f) => f.name);
    expect(typedArrayNames(new FlowBatch(1)).filter((n) => !notCrossing.includes(n)).sort()).toEqual([...crossing].sort());
    const elemOf = (a: ArrayBufferView): number => ({ Uint8Array: 1, Uint16Array: 2, Uint32Array: 3, Int16Array: 4, Int32Array: 5, Float64Array: 6 } as Record<string, number>)[a.constructor.name]!;
    const batch = new FlowBatch(1) as unknown as Record<string, ArrayBufferView>;
    for (const f of BATCH_FIELDS) expect(elemOf(batch[f.name]!), f.name).toBe(f.elem);
  });

  it('every conntrack array crosses (but the scratch key), and every timeout has a slot', () => {
    const ct = newConntrack();
    const names = [...typedArrayNames(ct), ...typedArrayNames(ct.table), ...typedArrayNames(ct.fragments).map((n) => `frag${n[0]!.toUpperCase()}${n.slice(1)}`)];
    const crossing = CONNTRACK_FIELDS.map((f) => f.name).filter((n) => n !== 'timeouts' && n !== 'params');
    expect(names.filter((n) => n !== 'key').sort()).toEqual([...crossing].sort());
    const scalars = Object.entries(DEFAULT_TIMEOUTS).filter(([, v]) => typeof v === 'number').length;
    expect(Timeout.COUNT).toBe(DEFAULT_TIMEOUTS.tcp.length + scalars);
    const slots = timeoutSlots(newConntrack({ timeouts: Object.fromEntries(Object.keys(DEFAULT_TIMEOUTS).filter((k) => k !== 'tcp').map((k, i) => [k, 1000 + i])) }));
    expect(new Set(slots.slice(Timeout.TCP_UNACKNOWLEDGED)).size).toBe(scalars); // each scalar in its own slot
  });

  it('the eBPF and iptables tables: every typed array crosses (but trace and scratch)', () => {
    const s = randomScenario(3);
    const index = indexCluster(s.cluster);
    const p = loadEbpf(compileEbpf(index, DEFAULT_EVAL_OPTIONS));
    const ebpfNames = typedArrayNames(p).filter((n) => n !== 'trace' && n !== 'keyScratch');
    const crossing = EBPF_FIELDS.map((f) => f.name);
    for (const n of ebpfNames) expect(crossing, n).toContain(n);
    // The LPM's and hash tables' arrays cross as ipcSlots/ipcBest/ipcDirect/ipcPods/ipcLengths4/6 and polSlots (`values`
    // is `words` seen as int32; the hash masks are constants in native/src/ebpf.cc).
    expect(typedArrayNames(p.ipcache)).toEqual(['best', 'direct', 'pods', 'scratch']);
    expect(typedArrayNames(p.ipcache.table)).toEqual(['hashMask', 'values', 'words']);
    expect(typedArrayNames(p.policy)).toEqual(['hashMask', 'values', 'words']);
    const m = loadIptables(compileIptables(index, DEFAULT_EVAL_OPTIONS));
    expect(typedArrayNames(m.v4)).toEqual(IPT_FAMILY_FIELDS.map((f) => f.name).filter((n) => n !== 'params').sort());
  });

  it('binding an array of the wrong element type is refused, naming the field', () => {
    const b = new FlowBatch(4) as unknown as Record<string, ArrayBufferView>;
    const arrays = BATCH_FIELDS.map((f) => b[f.name]!);
    expect(() => addon!.bind(Group.BATCH, arrays)).not.toThrow();
    const wrong = [...arrays];
    wrong[BATCH_FIELDS.findIndex((f) => f.name === 'cost')] = new Float64Array(4);
    expect(() => addon!.bind(Group.BATCH, wrong)).toThrow(/cost has the wrong element type/);
    expect(() => addon!.bind(Group.BATCH, arrays.slice(1))).toThrow(/wants 28 arrays, got 27/);
  });

  it('a bound eBPF model whose per-entry arrays are shorter than the ipcache is refused, saying so', () => {
    const p = loadEbpf(compileEbpf(indexCluster(randomScenario(3).cluster), DEFAULT_EVAL_OPTIONS));
    expect(p.ipcIdentity.length).toBeGreaterThan(1);
    expect(() => nativeEbpf(addon!, p)).not.toThrow();
    const short = { ...p, ipcIdentity: p.ipcIdentity.subarray(0, p.ipcIdentity.length - 1) };
    expect(() => nativeEbpf(addon!, short)).toThrow(/native bind: eBPF ipcache or endpoint arrays shorter than their counts/);
    const fewTemplates = { ...p, epTemplate: p.epTemplate.subarray(0, p.epTemplate.length - 1) };
    expect(() => nativeEbpf(addon!, fewTemplates)).toThrow(/eBPF ipcache or endpoint arrays shorter/);
  });
});
