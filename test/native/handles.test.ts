/**
 * A bound handle's arrays live exactly as long as the handle: dropped together, they go in the same
 * collection, without the event loop turning in between. Node runs Node-API finalizers only on a later
 * turn; while the handle's finalizer was what let go of its arrays, every handle made in a synchronous loop
 * kept its arrays until the loop returned (the native differential test with 3000 seeds grew to 24 GB).
 */
import { describe, expect, it } from 'vitest';
import { settleHeap } from '../../bench/lib.js';
import { newConntrack } from '../../src/conntrack/index.js';
import { compileIptables } from '../../src/compile/iptables/index.js';
import { loadIptables } from '../../src/match/iptables.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { conntrackHandle, nativeIptables } from '../../src/native/engine.js';
import { Group } from '../../src/native/layout.js';
import type { NativeAddon } from '../../src/native/load.js';
import { randomScenario } from '../support/random-cluster.js';
import { requireAddon } from './support.js';

const addon = requireAddon();
const d = addon === null ? describe.skip : describe;

d('bound handles', () => {
  it('let go of their arrays in the collection that finds them dropped, in a synchronous loop', () => {
    const a = addon!;
    const bytes = () => process.memoryUsage().arrayBuffers;
    settleHeap();
    const before = bytes();
    let trackerBytes = 0;
    for (let k = 0; k < 40; k++) {
      const ct = newConntrack({ capacity: 65_536 }); // about 9 MB of ArrayBuffer
      trackerBytes = ct.table.tuples.buffer.byteLength;
      expect(conntrackHandle(a, ct, 64)).toBeTypeOf('object');
    }
    settleHeap(); // no turn of the event loop: no finalizer has run
    // 40 trackers were bound and dropped; at most a few may still be held by V8 (the last one, say).
    expect(bytes() - before).toBeLessThan(4 * trackerBytes);
    expect(40 * trackerBytes).toBeGreaterThan(300 * 2 ** 20);
  });

  it('bind an iptables matcher\'s ipsets once per list of sets and addon, for every replay and lane on them', () => {
    let setBinds = 0;
    // The addon with its bind counted: another object, so its bindings are its own.
    const counting = new Proxy(addon!, {
      get: (target, key) => key === 'bind'
        ? (group: number, arrays: ArrayBufferView[]) => { if (group === Group.IPT_SETS) setBinds++; return target.bind(group, arrays); }
        : Reflect.get(target, key),
    }) as NativeAddon;
    const program = compileIptables(indexCluster(randomScenario(3).cluster), DEFAULT_EVAL_OPTIONS);
    const first = loadIptables(program);
    const handle = nativeIptables(counting, first);
    nativeIptables(counting, first);
    nativeIptables(counting, { ...first }); // a copy, as a replay's with counters of its own: the same sets
    handle.lane(1);
    expect(setBinds).toBe(1);
    nativeIptables(counting, loadIptables(program));
    expect(setBinds).toBe(2);
  });

  it('refuses anything else as a handle, by name', () => {
    expect(() => addon!.classify(0, {} as never, {} as never, 0)).toThrow(/not a bound handle/);
  });
});
