/**
 * The native eBPF model's decision cache (native/src/decision-cache.h) changes no result. On seeded random
 * clusters, opening packets that meet the same flows again (another source port, the same pods and
 * destination port) are decided with the cache off, of one slot and of two (each flow evicting others),
 * and of the default size; every run's verdicts, costs, deciding entries, per-entry hits and probe totals
 * equal TypeScript's. And the cache is used: it decides every repeated opening but for the few whose slot
 * another flow took, never a flow's first.
 */
import { describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { classifyBatch, loadEbpf, probesSoFar } from '../../src/match/ebpf.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS } from '../../src/model/evaluate.js';
import { classifyNative, DEFAULT_DECISION_SLOTS, nativeEbpf } from '../../src/native/engine.js';
import { CtState, FlowBatch } from '../../src/wire/flow-batch.js';
import { makeRng } from '../support/rng.js';
import { randomScenario } from '../support/random-cluster.js';
import { cloneBatch, firstDifference, requireAddon, rowsFromFlows } from './support.js';

const addon = requireAddon();
const SEEDS = Number(process.env['NETSIEVE_DECISION_SEEDS'] ?? 30);
const SLOT_COUNTS = [0, 1, 2, DEFAULT_DECISION_SLOTS] as const;
const PORTED = new Set([6, 17, 132]);

/** 1,500 opening rows over 200 of the scenario's flows picked at random: most flows meet again. */
function repeatedOpenings(flows: ReturnType<typeof randomScenario>['flows'], seed: number): FlowBatch {
  const rng = makeRng(seed);
  const few = flows.slice(0, 200);
  return rowsFromFlows(Array.from({ length: 1500 }, () => rng.pick(few)), seed);
}

/** Rows the model decides by lookups (IP, ctState NEW or UNTRACKED), and how many distinct flows {family, addresses, protocol, port} they hold. */
function openings(b: FlowBatch): { rows: number; flows: number } {
  const seen = new Set<string>();
  let rows = 0;
  for (let i = 0; i < b.count; i++) {
    if (b.family[i] === 0 || (b.ctState[i] !== CtState.NEW && b.ctState[i] !== CtState.UNTRACKED)) continue;
    rows++;
    const port = PORTED.has(b.proto[i]!) ? b.dstPort[i] : 0;
    seen.add(`${b.family[i]} ${b.src.subarray(i * 4, i * 4 + 4).join('.')} ${b.dst.subarray(i * 4, i * 4 + 4).join('.')} ${b.proto[i]} ${port}`);
  }
  return { rows, flows: seen.size };
}

const d = addon === null ? describe.skip : describe;

d('the eBPF decision cache decides as the lookups do', () => {
  for (const family of [4, 6, undefined] as const) {
    it(`${family === undefined ? 'dual-stack' : `IPv${family}`}: ${SEEDS} random clusters, cache of ${SLOT_COUNTS.join(', ')} slots`, () => {
      let cachedAtDefault = 0;
      let repeats = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const s = randomScenario(seed + 7000, { family });
        const program = compileEbpf(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS);
        const rows = repeatedOpenings(s.flows, seed);
        const js = loadEbpf(program);
        const want = cloneBatch(rows);
        classifyBatch(js, want);
        const { rows: opened, flows } = openings(rows);
        for (const slots of SLOT_COUNTS) {
          const loaded = loadEbpf(program);
          const handle = nativeEbpf(addon!, loaded, { decisions: slots });
          const got = cloneBatch(rows);
          classifyNative(handle, got);
          const what = `seed ${seed}, ${slots} slots`;
          for (const col of ['verdict', 'cost', 'decidedBy'] as const) {
            const i = firstDifference(want[col], got[col], rows.count);
            expect(i, `${what}: row ${i} ${col}: js ${want[col][i]} native ${got[col][i]}`).toBe(-1);
          }
          const h = firstDifference(js.hits, loaded.hits);
          expect(h, `${what}: hits[${h}]: js ${js.hits[h]} native ${loaded.hits[h]}`).toBe(-1);
          expect(probesSoFar(loaded), what).toBe(probesSoFar(js));
          const cached = handle.probes![2]!;
          // A flow's first opening is always looked up; a later one is cached unless another flow took its slot.
          expect(cached, what).toBeLessThanOrEqual(opened - flows);
          if (slots === 0) expect(cached, what).toBe(0);
          if (slots === DEFAULT_DECISION_SLOTS) {
            cachedAtDefault += cached;
            repeats += opened - flows;
          }
        }
      }
      expect(repeats).toBeGreaterThan(SEEDS * 500);
      expect(cachedAtDefault).toBeGreaterThanOrEqual(0.97 * repeats);
    });
  }

  it('refuses a slot count that is not a power of two', () => {
    const s = randomScenario(1);
    const loaded = loadEbpf(compileEbpf(indexCluster(s.cluster), DEFAULT_EVAL_OPTIONS));
    for (const bad of [3, 1000, -1, 0.5, 2 ** 25]) {
      expect(() => nativeEbpf(addon!, loaded, { decisions: bad })).toThrow(/decision cache slots must be 0 or a power of two/);
    }
  });
});
