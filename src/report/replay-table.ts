/**
 * The replay report for a terminal: the same content as the JSON document, laid out for reading.
 */
import type { ReplayReport } from './replay-report.js';
import { groupDigits } from './digits.js';

const n = groupDigits;

function endpoint(pod: string | null, ip: string, port: number, proto: string): string {
  const where = proto === 'TCP' || proto === 'UDP' || proto === 'SCTP' ? `${ip.includes(':') ? `[${ip}]` : ip}:${port}` : ip;
  return pod ? `${pod} (${where})` : where;
}

export function renderReplayTable(r: ReplayReport, captures: readonly string[]): string {
  const out: string[] = [];
  const ip = r.packets - r.nonIp;
  out.push(`replay of ${captures.join(', ')} (model${r.models.length > 1 ? 's' : ''} ${r.models.join(', ')})`);
  out.push(`  packets       ${n(r.packets)} (${n(ip)} IP, ${n(r.nonIp)} not IP, ${n(r.malformed)} malformed, ` +
    `${n(r.laterFragments)} later fragments, ${n(r.fragmentsWithoutFirst)} without their first)`);
  out.push(`  connections   ${n(r.connections.total)}: ${n(r.connections.allowed)} allowed, ${n(r.connections.denied)} denied` +
    (r.connections.untracked > 0 ? ` (${n(r.connections.untracked)} beyond the table's capacity, not classified)` : ''));
  for (const [model, v] of Object.entries(r.verdicts)) out.push(`  ${model.padEnd(13)} ${n(v.accepted)} packets accepted, ${n(v.dropped)} dropped`);
  if (r.models.length > 1) out.push(`  disagreements ${n(r.disagreements)} packets on which the models disagree`);
  const perCpu = r.cpuSeconds > 0 ? `, ${n(Math.round(r.packets / r.cpuSeconds))} per CPU second` : '';
  out.push(`  throughput    ${r.seconds.toFixed(3)} s, ${n(r.packetsPerSecond)} packets/s${perCpu}`);
  if (r.damage) out.push(`  DAMAGE        ${r.damage.file}: read up to byte offset ${r.damage.offset}: ${r.damage.reason}`);
  out.push('', `Denied connections (${r.deniedListed} of ${n(r.connections.denied)} listed):`);
  if (r.denied.length === 0) out.push('  none');
  for (const d of r.denied) {
    out.push(`  ${endpoint(d.srcPod, d.src, d.srcPort, d.protocol)} -> ${endpoint(d.dstPod, d.dst, d.dstPort, d.protocol)} ` +
      `${d.protocol}${d.service ? ` via Service ${d.service}` : ''}, ${n(d.packets)} packets`);
    out.push(`      ${d.reason}`);
  }
  out.push('', 'Policies (connections opened):', `  ${'POLICY'.padEnd(44)} ${'ALLOWED'.padStart(9)} ${'ISOLATED, NONE ALLOWED'.padStart(23)}`);
  for (const p of r.policies) out.push(`  ${p.policy.padEnd(44)} ${n(p.allowedConnections).padStart(9)} ${n(p.deniedConnections).padStart(23)}`);
  out.push('', `Addresses that belong to no pod (${n(r.addressesWithoutPodTotal)}):`);
  if (r.addressesWithoutPod.length === 0) out.push('  none');
  for (const a of r.addressesWithoutPod.slice(0, 20)) out.push(`  ${a.address.padEnd(40)} ${n(a.packets)} packets`);
  if (r.disagreementSamples.length > 0) {
    out.push('', 'First disagreements:');
    for (const d of r.disagreementSamples) {
      const v = Object.entries(d.verdicts).map(([m, x]) => `${m} ${x} (${d.ctStates[m]})`).join(', ');
      out.push(`  ${d.file} record ${d.record}: ${d.src}:${d.srcPort} -> ${d.dst}:${d.dstPort} ${d.protocol}: ${v}`);
    }
  }
  if (r.writeSkipped > 0) out.push('', `${n(r.writeSkipped)} packets not written out: their link type differs from the written file's`);
  return out.join('\n') + '\n';
}
