/**
 * The real kernel as the oracle of the eBPF model: native/bpf/netsieve_policy.bpf.c does the simulator's
 * lookups over real BPF maps (LPM_TRIE ipcache, HASH policy map) filled from the compiler's output, and
 * BPF_PROG_TEST_RUN runs crafted packets through it. Verdict, both identities, the entry that decided,
 * each direction's entry and state must equal the simulator's for every packet.
 *
 * Needs root, clang, libbpf-dev and bpftool. Without them the tests are skipped and say why; with
 * CI=true a missing prerequisite fails instead.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileEbpf } from '../../src/compile/ebpf/compile.js';
import { decideOpening, loadEbpf, Trace } from '../../src/match/ebpf.js';
import { indexCluster } from '../../src/model/cluster-index.js';
import { DEFAULT_EVAL_OPTIONS, type EvalOptions, type Flow } from '../../src/model/evaluate.js';
import { ipToWords, type IpAddr } from '../../src/model/ip.js';
import type { Cluster } from '../../src/model/types.js';
import type { EbpfProgram } from '../../src/compile/ebpf/program.js';
import { PRECEDENCE_CASES, precedenceFlow, precedenceProgram } from '../compile/ebpf/precedence.js';
import { Verdict } from '../../src/wire/flow-batch.js';
import { EBPF_SCENARIOS } from '../compile/ebpf/scenarios.js';
import { randomScenario } from '../support/random-cluster.js';
import { formatFlow } from '../support/shrink.js';
import { buildNative, runInKernel, unavailableReason, type Built } from './bpf/harness.js';

const reason = unavailableReason();
if (reason && process.env['CI'] === 'true') throw new Error(`the BPF kernel oracle must run in CI, but cannot: ${reason}`);
if (reason) console.warn(`\n*** test/kernel/bpf.test.ts SKIPPED: ${reason} ***\n`);

/**
 * Each cluster costs a program load, a map fill and a run (~0.45 s, mostly the verifier and bpftool);
 * 8 per switch set (four sets) keep the file near 20 s on a quiet machine. NETSIEVE_BPF_CLUSTERS=N for more.
 */
const RANDOM_CLUSTERS = Number(process.env['NETSIEVE_BPF_CLUSTERS'] ?? 8);
const XDP_DROP = 1;
const XDP_PASS = 2;

interface Expected { verdict: number; src: number; dst: number; decided: number; eg: number; ing: number; egState: number; ingState: number }

function simulate(program: EbpfProgram, flows: readonly Flow[]): Expected[] {
  const loaded = loadEbpf(program);
  const src = new Uint32Array(4);
  const dst = new Uint32Array(4);
  const expected: Expected[] = flows.map((f) => {
    ipToWords(f.src, src, 0);
    ipToWords(f.dst, dst, 0);
    const isL4 = f.protocol === 6 || f.protocol === 17 || f.protocol === 132;
    const verdict = decideOpening(loaded, f.src.family, src, 0, dst, 0, f.protocol, isL4 ? f.dstPort : 0);
    const t = loaded.trace;
    return {
      verdict, src: t[Trace.SRC_IDENTITY]!, dst: t[Trace.DST_IDENTITY]!, decided: t[Trace.DECIDED_BY]!,
      eg: t[Trace.EGRESS_ENTRY]!, ing: t[Trace.INGRESS_ENTRY]!, egState: t[Trace.EGRESS_STATE]!, ingState: t[Trace.INGRESS_STATE]!,
    };
  });
  return expected;
}

/** Every ordered pair of the cluster's addresses (pods, nodes, two outsiders per family) on a few ports. */
function pairFlows(cluster: Cluster): Flow[] {
  const addrs: IpAddr[] = [...cluster.pods.flatMap((p) => p.ips), ...cluster.nodes.flatMap((n) => n.ips)];
  addrs.push({ family: 4, value: 0x08080808n }, { family: 4, value: 0xc0a80105n }, { family: 6, value: 0x20010db8n << 96n | 5n });
  const ports: [number, number][] = [[6, 80], [6, 5432], [6, 8085], [6, 8080], [17, 53], [132, 9000], [1, 0], [58, 0]];
  const flows: Flow[] = [];
  for (const s of addrs) for (const d of addrs) {
    if (s.family !== d.family) continue;
    for (const [protocol, dstPort] of ports) {
      if ((protocol === 1 && s.family === 6) || (protocol === 58 && s.family === 4)) continue;
      flows.push({ src: s, dst: d, protocol, dstPort });
    }
  }
  return flows;
}

function compare(built: Built, program: EbpfProgram, flows: readonly Flow[]): { packets: number; allowed: number } {
  const expected = simulate(program, flows);
  const got = runInKernel(built, program, flows);
  expect(got.length, 'one result per packet').toBe(flows.length);
  let allowed = 0;
  got.forEach((k, i) => {
    const e = expected[i]!;
    const want = {
      retval: e.verdict === Verdict.ACCEPT ? XDP_PASS : XDP_DROP, magic: 0x6e736276, verdict: e.verdict === Verdict.ACCEPT ? 1 : 0,
      srcIdentity: e.src, dstIdentity: e.dst, decidedBy: e.decided, egressEntry: e.eg, ingressEntry: e.ing,
      egressState: e.egState, ingressState: e.ingState,
    };
    const { nodeTraffic: _n, ...kernel } = k;
    expect(kernel, `packet ${i}: ${formatFlow(flows[i]!)}`).toEqual(want);
    if (e.verdict === Verdict.ACCEPT) allowed++;
  });
  return { packets: got.length, allowed };
}

describe.skipIf(reason !== null)(`the BPF program agrees with the simulator packet by packet${reason ? ` (SKIPPED: ${reason})` : ''}`, () => {
  let built: Built;
  beforeAll(() => { built = buildNative(); });
  afterAll(() => { if (built) rmSync(built.dir, { recursive: true, force: true }); });

  for (const [name, make] of Object.entries(EBPF_SCENARIOS)) {
    it(`scenario ${name}: every address pair on eight ports`, () => {
      const cluster = make();
      const { packets, allowed } = compare(built, compileEbpf(indexCluster(cluster), DEFAULT_EVAL_OPTIONS), pairFlows(cluster));
      expect(packets).toBeGreaterThan(0);
      expect(allowed, 'some packets allowed').toBeGreaterThan(0);
    });
  }

  it('hand-made maps with deny and competing entries: the same entry decides in both', () => {
    for (const c of PRECEDENCE_CASES) {
      const { packets, allowed } = compare(built, precedenceProgram(c), [precedenceFlow(c)]);
      expect([packets, allowed], c.name).toEqual([1, c.allowed ? 1 : 0]);
    }
  });

  const SWITCHES: EvalOptions[] = [
    DEFAULT_EVAL_OPTIONS,
    { ipBlockMatchesPods: false, allowLoopback: true, allowNodeTraffic: true },
    { ipBlockMatchesPods: true, allowLoopback: false, allowNodeTraffic: false },
    { ipBlockMatchesPods: false, allowLoopback: false, allowNodeTraffic: false },
  ];
  SWITCHES.forEach((options, k) => {
    it(`${RANDOM_CLUSTERS} random clusters x 1000 flows, IPv4 and IPv6, options ${JSON.stringify(options)}`, () => {
      let packets = 0;
      let allowed = 0;
      for (let seed = 1; seed <= RANDOM_CLUSTERS; seed++) {
        const scenario = randomScenario(seed + 7000 + k * 1000);
        const r = compare(built, compileEbpf(indexCluster(scenario.cluster), options), scenario.flows);
        packets += r.packets;
        allowed += r.allowed;
      }
      expect(packets).toBe(RANDOM_CLUSTERS * 1000);
      expect(allowed).toBeGreaterThan(0);
      expect(allowed).toBeLessThan(packets);
    });
  });
});
