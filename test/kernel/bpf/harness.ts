/**
 * The BPF kernel oracle's plumbing: build native/bpf with clang, turn a compiled EbpfProgram into a
 * `bpftool batch` file that fills the real maps, craft one Ethernet frame per flow, run them all with
 * BPF_PROG_TEST_RUN inside a private mount namespace (its bpffs and every pinned object vanish with
 * it), and decode the `struct result` the program prepends to each packet.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIR_EGRESS, DIR_INGRESS, EP_EGRESS_ISOLATED, EP_INGRESS_ISOLATED, ReservedIdentity, policyKeyWord1, policyKeyWord2 } from '../../../src/compile/ebpf/layout.js';
import type { EbpfProgram } from '../../../src/compile/ebpf/program.js';
import { ipToWords, parseCidr } from '../../../src/model/ip.js';
import type { Flow } from '../../../src/model/evaluate.js';
import { newPacketSpec, writeFrame } from '../../../src/wire/craft.js';

const NATIVE = fileURLToPath(new URL('../../../native/bpf/', import.meta.url));

/** Why the oracle cannot run here, or null when it can. */
export function unavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (BPF_PROG_TEST_RUN and bpffs need root; rootless BPF is impossible here)';
  for (const tool of ['clang', 'bpftool', 'unshare']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install -y clang libbpf-dev bpftool)`;
  }
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) return 'libbpf-dev is not installed (apt-get install -y libbpf-dev)';
  return null;
}

export interface Built { readonly dir: string; readonly object: string; readonly runner: string }

export function buildNative(): Built {
  // No dots in the path: libbpf rewrites '.' to '_' in pin paths (sanitize_pin_path) and fails to pin.
  const dir = mkdtempSync(join(tmpdir().includes('.') ? '/tmp' : tmpdir(), 'netsievebpf'));
  const object = join(dir, 'netsieve_policy.o');
  const runner = join(dir, 'test_run');
  execFileSync('clang', ['-O2', '-g', '-Wall', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(NATIVE, 'netsieve_policy.bpf.c'), '-o', object]);
  execFileSync('clang', ['-O2', '-Wall', join(NATIVE, 'test_run.c'), '-lbpf', '-o', runner]);
  return { dir, object, runner };
}

function hex(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

function u32le(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function addrBytes(family: 4 | 6, base: bigint): number[] {
  const w = new Uint32Array(4);
  ipToWords({ family, value: base }, w, 0);
  return [...w].flatMap((x) => [x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff]);
}

/** `bpftool batch` lines that load the program's ipcache, policy map, endpoints and config. */
export function mapBatch(program: EbpfProgram, maps: string): string {
  const lines: string[] = [];
  const update = (map: string, key: number[], value: number[]): void => {
    lines.push(`map update pinned ${maps}/${map} key hex ${hex(key)} value hex ${hex(value)}`);
  };
  for (const e of program.ipcache) {
    const key = [...u32le(32 + e.prefix), e.family, 0, 0, 0, ...addrBytes(e.family, parseCidr(e.cidr)!.cidr.base)];
    update('ipcache', key, [...u32le(e.identity), ...u32le(e.endpoint), ...u32le(e.node)]);
  }
  const masks = program.endpoints.map(() => [0, 0, 0, 0]);
  for (const e of program.entries) {
    const dir = e.direction === 'ingress' ? DIR_INGRESS : DIR_EGRESS;
    const key = [...u32le(e.identity), ...u32le(policyKeyWord1(e.endpoint, dir, e.prefixLength)), ...u32le(policyKeyWord2(e.protocol, e.port, e.prefixLength))];
    update('policy', key, [...u32le(e.index), e.deny ? 1 : 0, e.prefixLength, 0, 0]);
    masks[e.endpoint]![dir * 2 + (e.identity === ReservedIdentity.ANY ? 1 : 0)]! |= 1 << e.prefixLength;
  }
  for (const ep of program.endpoints) {
    const flags = (ep.ingressIsolated ? EP_INGRESS_ISOLATED : 0) | (ep.egressIsolated ? EP_EGRESS_ISOLATED : 0);
    update('endpoints', u32le(ep.index), [...u32le(flags), ...u32le(ep.node), ...masks[ep.index]!.flatMap(u32le)]);
  }
  update('config', u32le(0), [...u32le(program.options.allowLoopback ? 1 : 0), ...u32le(program.options.allowNodeTraffic ? 1 : 0)]);
  return `${lines.join('\n')}\n`;
}

/** One frame per flow (TCP SYN, UDP, SCTP INIT, ICMP echo request, or raw payload), each prefixed by its u32 LE length. */
export function packetFile(flows: readonly Flow[]): Buffer {
  const spec = newPacketSpec();
  const frame = new Uint8Array(2048);
  const parts: Buffer[] = [];
  flows.forEach((f, i) => {
    spec.family = f.src.family;
    ipToWords(f.src, spec.src, 0);
    ipToWords(f.dst, spec.dst, 0);
    spec.proto = f.protocol;
    spec.dstPort = f.dstPort;
    spec.srcPort = 30000 + (i % 30000);
    spec.icmpType = f.src.family === 4 ? 8 : 128;
    spec.payloadLength = 8;
    const len = writeFrame(frame, 0, spec);
    parts.push(Buffer.from(u32le(len)), Buffer.from(frame.subarray(0, len)));
  });
  return Buffer.concat(parts);
}

export interface KernelResult {
  readonly retval: number;
  readonly magic: number;
  readonly verdict: number;
  readonly srcIdentity: number;
  readonly dstIdentity: number;
  readonly decidedBy: number;
  readonly egressEntry: number;
  readonly ingressEntry: number;
  readonly egressState: number;
  readonly ingressState: number;
  readonly nodeTraffic: number;
}

function parseLine(line: string): KernelResult {
  const [ret, hexText] = line.split(' ');
  const b = Buffer.from(hexText ?? '', 'hex');
  return {
    retval: Number(ret), magic: b.readUInt32LE(0), verdict: b.readUInt32LE(4), srcIdentity: b.readUInt32LE(8),
    dstIdentity: b.readUInt32LE(12), decidedBy: b.readInt32LE(16), egressEntry: b.readInt32LE(20),
    ingressEntry: b.readInt32LE(24), egressState: b[28]!, ingressState: b[29]!, nodeTraffic: b[30]!,
  };
}

/** Loads the program into a private bpffs, fills the maps, runs every flow; one result per flow. */
export function runInKernel(built: Built, program: EbpfProgram, flows: readonly Flow[]): KernelResult[] {
  const work = mkdtempSync(join(built.dir, 'run'));
  try {
    const fs = join(work, 'bpffs');
    writeFileSync(join(work, 'maps.batch'), mapBatch(program, `${fs}/maps`));
    writeFileSync(join(work, 'packets.bin'), packetFile(flows));
    const script = [
      'set -e', `mkdir -p ${fs}`, `mount -t bpf bpf ${fs}`,
      `bpftool prog loadall ${built.object} ${fs}/prog type xdp pinmaps ${fs}/maps`,
      `bpftool batch file ${work}/maps.batch >/dev/null`,
      `${built.runner} ${fs}/prog/netsieve_policy ${work}/packets.bin`,
    ].join('\n');
    const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return out.trim().split('\n').filter((l) => l.length > 0).map(parseLine);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
