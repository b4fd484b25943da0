// Reading speed: netsieve's reader versus pcap-parser on the same 64-byte-packet capture, same run.
// Not a unit test (no timing thresholds belong there); the benchmark suite (bench/) supersedes it.
//
//   npx tsc --outDir /tmp/netsieve-speed --rootDir . --module nodenext --moduleResolution nodenext \
//     --target es2022 --skipLibCheck --types node src/traffic/pcap/reader.ts
//   node test/traffic/pcap/measure-speed.mjs /tmp/netsieve-speed [packets=1000000]
import { createRequire } from 'node:module';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const [build, packetsArg] = process.argv.slice(2);
const packets = Number(packetsArg ?? 1000000);
const { openCapture } = await import(join(build, 'src/traffic/pcap/reader.js'));
const { FlowBatch } = await import(join(build, 'src/wire/flow-batch.js'));
const pcapParser = createRequire(import.meta.url)('pcap-parser');

function makeCapture(path) {
  const rec = 16 + 64, file = Buffer.alloc(24 + packets * rec);
  file.writeUInt32LE(0xa1b2c3d4, 0); file.writeUInt16LE(2, 4); file.writeUInt16LE(4, 6);
  file.writeUInt32LE(262144, 16); file.writeUInt32LE(1, 20);
  for (let i = 0, p = 24; i < packets; i++, p += rec) {
    file.writeUInt32LE(1700000000 + (i >>> 20), p); file.writeUInt32LE(i % 1000000, p + 4);
    file.writeUInt32LE(64, p + 8); file.writeUInt32LE(64, p + 12);
    const f = p + 16; // Ethernet, IPv4, TCP SYN from 10.0.x.y to 10.1.0.1:80
    file.writeUInt16BE(0x0800, f + 12); file[f + 14] = 0x45; file.writeUInt16BE(50, f + 16); file[f + 23] = 6;
    file.writeUInt32BE(0x0a000000 + (i & 0xffff), f + 26); file.writeUInt32BE(0x0a010001, f + 30);
    file.writeUInt16BE(1024 + (i % 60000), f + 34); file.writeUInt16BE(80, f + 36); file[f + 46] = 0x50; file[f + 47] = 2;
  }
  writeFileSync(path, file);
}

/** The same packets as pcapng: SHB, one Ethernet IDB (microseconds), one EPB per packet. */
function makePcapng(from, path) {
  const src = Buffer.from(require_fs().readFileSync(from));
  const head = Buffer.alloc(28 + 20);
  head.writeUInt32LE(0x0a0d0d0a, 0); head.writeUInt32LE(28, 4); head.writeUInt32LE(0x1a2b3c4d, 8);
  head.writeUInt16LE(1, 12); head.writeBigInt64LE(-1n, 16); head.writeUInt32LE(28, 24);
  head.writeUInt32LE(1, 28); head.writeUInt32LE(20, 32); head.writeUInt16LE(1, 36); head.writeUInt32LE(262144, 40); head.writeUInt32LE(20, 44);
  const out = Buffer.alloc(head.length + packets * (32 + 64));
  head.copy(out, 0);
  for (let i = 0, p = 24, q = head.length; i < packets; i++, p += 80, q += 96) {
    const ts = BigInt(src.readUInt32LE(p)) * 1000000n + BigInt(src.readUInt32LE(p + 4));
    out.writeUInt32LE(6, q); out.writeUInt32LE(96, q + 4); out.writeUInt32LE(0, q + 8);
    out.writeUInt32LE(Number(ts >> 32n), q + 12); out.writeUInt32LE(Number(ts & 0xffffffffn), q + 16);
    out.writeUInt32LE(64, q + 20); out.writeUInt32LE(64, q + 24); src.copy(out, q + 28, p + 16, p + 80); out.writeUInt32LE(96, q + 92);
  }
  writeFileSync(path, out);
}
const require_fs = () => createRequire(import.meta.url)('node:fs');

function ours(path, decode) {
  const reader = openCapture(path, { decode });
  const batch = new FlowBatch(1024);
  let n = 0, ports = 0;
  while (reader.fill(batch) > 0) { n += batch.count; ports += batch.dstPort[0]; }
  reader.close();
  if (decode && ports === 0) throw new Error('nothing decoded');
  return n;
}

function reference(path) {
  return new Promise((resolve, reject) => {
    let n = 0;
    const parser = pcapParser.parse(path);
    parser.on('packet', () => { n++; });
    parser.on('error', reject);
    parser.on('end', () => resolve(n));
  });
}

// Wall time and CPU time (user + system, all threads): on a shared machine the CPU time is the steadier.
async function time(name, f) {
  let wall = Infinity, cpu = Infinity, n = 0;
  for (let run = 0; run < 5; run++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    n = await f();
    const c = process.cpuUsage(c0);
    wall = Math.min(wall, Number(process.hrtime.bigint() - t0) / 1e9);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  if (n !== packets) throw new Error(`${name} read ${n} of ${packets}`);
  const mpps = (s) => (packets / s / 1e6).toFixed(2);
  console.log(`${name.padEnd(42)} wall ${wall.toFixed(3)} s ${mpps(wall)} Mpps   cpu ${cpu.toFixed(3)} s ${mpps(cpu)} Mpps`);
  return { wall: packets / wall, cpu: packets / cpu };
}

const path = join(tmpdir(), `netsieve-speed-${packets}.pcap`);
if (!existsSync(path)) makeCapture(path);
console.log(`${packets} packets of 64 bytes, ${path}, Node ${process.version}, best of 5`);
ours(path, true); // warm up
const decoded = await time('netsieve openCapture + fill (decoded)', () => ours(path, true));
const walked = await time('netsieve openCapture + fill (records only)', () => ours(path, false));
const ref = await time('pcap-parser (counting packet events)', () => reference(path));
const ngPath = path.replace(/\.pcap$/, '.pcapng');
if (!existsSync(ngPath)) makePcapng(path, ngPath);
ours(ngPath, true);
await time('netsieve, same packets as pcapng (decoded)', () => ours(ngPath, true));
const ratio = (a, k) => (a[k] / ref[k]).toFixed(1);
console.log(`versus pcap-parser: decoded ${ratio(decoded, 'wall')}x wall, ${ratio(decoded, 'cpu')}x cpu; `
  + `records only ${ratio(walked, 'wall')}x wall, ${ratio(walked, 'cpu')}x cpu`);
