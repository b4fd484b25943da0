import { describe, expect, test } from 'vitest';
import { ONCE, perPacketTotal, stageCounts, stageOf } from '../../bench/cachegrind.js';

// An excerpt of `cg_annotate --show=Ir,D1mr,DLmr --threshold=0` (valgrind 3.19) for an addon built with -g.
const ANNOTATED = `--------------------------------------------------------------------------------
Ir                     D1mr                DLmr
--------------------------------------------------------------------------------
2,203,525,235 (100.0%) 12,330,332 (100.0%) 234,128 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                  D1mr             DLmr              file:function
--------------------------------------------------------------------------------
56,490,660 ( 2.56%) 341,115 ( 2.77%)  3,286 ( 1.40%)  /w/native/build/../src/replay.cc:replay_lane(ns_replay*, unsigned int, int)
 5,000,000 ( 0.20%)  10,000 ( 0.01%)      0           /w/native/build/../src/hot.h:replay_lane(ns_replay*, unsigned int, int)
 7,000,000 ( 0.32%)  20,000 ( 0.02%)      0           /w/native/build/../src/ct-key.h:replay_lane(ns_replay*, unsigned int, int)
 3,000,000 ( 0.14%)  30,000 ( 0.02%)      0           /w/native/build/../src/decision-cache.h:replay_lane(ns_replay*, unsigned int, int)
54,255,277 ( 2.46%) 264,676 ( 2.15%)      0           /w/native/build/../src/conntrack.cc:ct_track(ns_conntrack*, ns_batch*, unsigned int)
 2,000,000 ( 0.09%)       0                0           /w/native/build/../src/hot.h:hash_tuple(unsigned int const*)
 1,000,000 ( 0.05%)       7 ( 0.00%)      0           /w/native/build/../src/conntrack.cc:hash_tuple(unsigned int const*)
 4,780,882 ( 0.22%)   4,655 ( 0.04%)      0           /w/native/build/../src/replay.cc:replay_prepare(ns_nat const*, ns_batch*, unsigned int, unsigned int, unsigned int, int*, unsigned char*)
44,188,804 ( 2.01%)  65,181 ( 0.53%)  2,258 ( 0.96%)  /w/native/build/../src/decode.cc:decode_row(unsigned char const*, ns_batch*, unsigned int)
23,721,338 ( 1.08%) 199,618 ( 1.62%)      0           /w/native/build/../src/ebpf.cc:ebpf_classify_row(ns_ebpf*, ns_batch*, unsigned int)
38,898,492 ( 1.77%) 135,882 ( 0.82%)     24 ( 0.03%)  ./malloc/./malloc/malloc.c:_int_free
   300,000 ( 0.01%)       0                0           /w/native/build/../src/hot.h:only_in_a_header(int)
51,316,588 ( 2.33%) 113,369 ( 0.69%)     44 ( 0.05%)  ???:Builtins_LoadIC
`;

describe('cachegrind stage counts (bench:instructions)', () => {
  test('each function counts to the stage of the .cc file it is defined in, inlined header lines included; ct-key.h to conntrack, decision-cache.h to the model', () => {
    const s = stageCounts(ANNOTATED);
    expect(Object.fromEntries(s)).toEqual({
      'counters and connections': { ir: 61_490_660, d1mr: 351_115, dlmr: 3_286 },
      conntrack: { ir: 64_255_277, d1mr: 284_683, dlmr: 0 },
      'DNAT and shard': { ir: 4_780_882, d1mr: 4_655, dlmr: 0 },
      'walk and decode': { ir: 44_188_804, d1mr: 65_181, dlmr: 2_258 },
      model: { ir: 26_721_338, d1mr: 229_618, dlmr: 0 },
    });
  });

  test('V8, libc, the totals and functions of no native .cc file are not counted; no native row, no stage', () => {
    const s = stageCounts(ANNOTATED);
    const all = [...s.values()].reduce((a, c) => a + c.ir, 0);
    expect(all).toBe(61_490_660 + 64_255_277 + 4_780_882 + 44_188_804 + 26_721_338);
    expect(stageCounts('Ir\n1,000 (100.0%)  PROGRAM TOTALS\n51,316,588 ( 2.33%) 1 ( 0.1%) 0  ???:Builtins_LoadIC\n').size).toBe(0);
  });

  test('stages by file: the lanes files, the Node-API glue, and the DNAT half of replay.cc', () => {
    expect([stageOf('lanes.cc', 'lane_pack'), stageOf('addon-lanes.cc', 'helperLoop'), stageOf('conns-merge.cc', 'conns_merge_copy'),
      stageOf('addon.cc', 'walkArgs'), stageOf('replay.cc', 'apply_nat(ns_nat const*)'), stageOf('replay.cc', 'shard_of(ns_batch const*)'),
      stageOf('replay.cc', 'row_nat(ns_nat const*, ns_batch*, unsigned int)'), stageOf('replay.cc', 'row_shard(ns_batch const*, unsigned int, unsigned int)'),
      stageOf('replay.cc', 'group_rows'), stageOf('iptables.cc', 'walk_chain'), stageOf('walk.cc', 'walk_lane(ns_walk const*)')])
      .toEqual(['lane hand-over', 'lane scheduling', 'lane merge', 'addon calls', 'DNAT and shard', 'DNAT and shard', 'DNAT and shard',
        'DNAT and shard', 'counters and connections', 'model', 'walk and decode']);
  });

  test('placing the model\'s tables is counted apart, once a replay, and left out of the total per packet', () => {
    const placing = `${ANNOTATED}201,870,000 ( 9.1%) 1,000,000 ( 8.0%) 500,000 (50.0%)  /w/native/build/../src/ebpf.cc:hash_table_place(unsigned int*, unsigned long, unsigned int, unsigned int, unsigned int const*, unsigned int const*, int const*, unsigned int)
 10,380,000 ( 0.5%)     1,000 ( 0.0%)       0           /usr/include/x86_64-linux-gnu/bits/string_fortified.h:hash_table_place(unsigned int*, unsigned long, unsigned int, unsigned int, unsigned int const*, unsigned int const*, int const*, unsigned int)
 10,440,000 ( 0.5%)     2,000 ( 0.0%)       0           /w/native/build/../src/addon.cc:netsieve_addon::(anonymous namespace)::TablePlace(Napi::CallbackInfo const&)
     90,000 ( 0.0%)       100 ( 0.0%)       0           /w/native/build/../src/ebpf.cc:ebpf_pack(ns_ebpf*)
`;
    const s = stageCounts(placing);
    expect(s.get(ONCE)).toEqual({ ir: 201_870_000 + 10_380_000 + 10_440_000 + 90_000, d1mr: 1_000_000 + 1_000 + 2_000 + 100, dlmr: 500_000 });
    expect(s.get('model')).toEqual({ ir: 26_721_338, d1mr: 229_618, dlmr: 0 });
    expect(s.get('addon calls')).toBeUndefined();
    expect(perPacketTotal(s).ir).toBe(61_490_660 + 64_255_277 + 4_780_882 + 44_188_804 + 26_721_338);
    expect(perPacketTotal({ model: { ir: 2, d1mr: 1, dlmr: 0 }, [ONCE]: { ir: 100, d1mr: 9, dlmr: 9 } })).toEqual({ ir: 2, d1mr: 1, dlmr: 0 });
    expect([stageOf('replay.cc', 'nat_lookup(ns_nat const*, ns_batch*, unsigned int, unsigned int, unsigned int)'), stageOf('iptables.cc', 'iptables_rule_checks(ns_ipt_family const*, unsigned char*)')])
      .toEqual(['DNAT and shard', ONCE]);
  });
});
