/**
 * Renders the IR as the text the real tools load: `ipset restore` input (sets must exist before any
 * rule names them, so load it first) and `iptables-save` format for `iptables-restore` /
 * `ip6tables-restore`. Matches are printed in the order iptables-save prints them back, so a loaded
 * ruleset saves to the same rule lines.
 */
import { familyBits, formatCidr, formatIp, type Cidr, type Family } from '../../model/ip.js';
import { CtBit, Target, type FamilyProgram, type IpSet, type IptablesProgram, type PortRange, type Rule, type SetEntry } from './ir.js';

const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'ipv6-icmp' };

/** `ipset restore` input for every set of both families. */
export function renderIpsets(program: IptablesProgram): string {
  const lines: string[] = [];
  for (const set of program.sets) {
    const maxelem = Math.max(65536, 2 ** Math.ceil(Math.log2(set.entries.length + 1)));
    lines.push(`create ${set.name} ${set.type} family ${set.family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem ${maxelem}`);
    for (const entry of set.entries) lines.push(`add ${set.name} ${renderEntry(set, entry)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function renderEntry(set: IpSet, entry: SetEntry): string {
  if (entry.kind === 'ipport') return `${formatIp({ family: entry.cidr.family, value: entry.cidr.base })},${PROTO_NAMES[entry.proto]}:${entry.port}`;
  // Host entries print as bare addresses, as `ipset save` prints them back.
  const text = entry.cidr.prefix === familyBits(entry.cidr.family) ? formatIp({ family: entry.cidr.family, value: entry.cidr.base }) : formatCidr(entry.cidr);
  return set.type === 'hash:ip' ? text : `${text}${entry.nomatch ? ' nomatch' : ''}`;
}

/** The `filter` table of one family in iptables-save format. */
export function renderRules(program: IptablesProgram, family: Family): string {
  const fp = family === 4 ? program.v4 : program.v6;
  const lines = ['*filter'];
  for (const chain of fp.chains) lines.push(`:${chain.name} ${chain.builtin ? 'ACCEPT' : '-'} [0:0]`);
  for (let i = 0; i < fp.rules.length; i++) lines.push(renderRule(program, fp, i));
  lines.push('COMMIT');
  return `${lines.join('\n')}\n`;
}

/** One rule as an `-A` line. */
export function renderRule(program: IptablesProgram, fp: FamilyProgram, index: number): string {
  const rule = fp.rules[index]!;
  const parts = [`-A ${fp.chains[rule.chain]!.name}`];
  if (rule.src) parts.push(`-s ${renderCidr(rule.src)}`);
  if (rule.dst) parts.push(`-d ${renderCidr(rule.dst)}`);
  if (rule.proto !== 0) parts.push(`-p ${PROTO_NAMES[rule.proto] ?? rule.proto}`);
  parts.push(`-m comment --comment "${rule.comment}"`);
  if (rule.ctstate !== 0) parts.push(`-m conntrack --ctstate ${renderCtstate(rule.ctstate)}`);
  if (rule.markMask !== 0) parts.push(`-m mark --mark ${hex(rule.markValue)}/${hex(rule.markMask)}`);
  for (const m of rule.sets) parts.push(`-m set ${m.negate ? '! ' : ''}--match-set ${program.sets[m.set]!.name} ${m.dir}`);
  if (rule.dports.length > 0) parts.push(renderPorts(rule));
  parts.push(renderTarget(fp, rule));
  return parts.join(' ');
}

function renderCidr(cidr: Cidr): string {
  return cidr.prefix === familyBits(cidr.family) ? `${formatIp({ family: cidr.family, value: cidr.base })}/${cidr.prefix}` : formatCidr(cidr);
}

/** In the order libxt_conntrack prints them (iptables-save writes ESTABLISHED,RELATED as RELATED,ESTABLISHED). */
function renderCtstate(mask: number): string {
  const order: [number, string][] = [[CtBit.INVALID, 'INVALID'], [CtBit.NEW, 'NEW'], [CtBit.RELATED, 'RELATED'], [CtBit.ESTABLISHED, 'ESTABLISHED'], [CtBit.UNTRACKED, 'UNTRACKED']];
  return order.filter(([bit]) => (mask & bit) !== 0).map(([, name]) => name).join(',');
}

function renderPorts(rule: Rule): string {
  const proto = PROTO_NAMES[rule.proto]!;
  const text = (r: PortRange): string => (r.lo === r.hi ? `${r.lo}` : `${r.lo}:${r.hi}`);
  if (rule.dports.length === 1) return `-m ${proto} --dport ${text(rule.dports[0]!)}`;
  return `-m multiport --dports ${rule.dports.map(text).join(',')}`;
}

function renderTarget(fp: FamilyProgram, rule: Rule): string {
  switch (rule.target) {
    case Target.ACCEPT: return '-j ACCEPT';
    case Target.DROP: return '-j DROP';
    case Target.RETURN: return '-j RETURN';
    case Target.JUMP: return `-j ${fp.chains[rule.targetArg]!.name}`;
    case Target.GOTO: return `-g ${fp.chains[rule.targetArg]!.name}`;
    case Target.MARK: return `-j MARK --set-xmark ${hex(rule.targetArg)}/${hex(rule.targetMask)}`;
    default: return '';
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

export interface IptablesSummary {
  readonly chains: { readonly v4: number; readonly v6: number };
  readonly rules: { readonly v4: number; readonly v6: number };
  readonly sets: number;
  readonly members: number;
}

export function summarize(program: IptablesProgram): IptablesSummary {
  return {
    chains: { v4: program.v4.chains.length, v6: program.v6.chains.length },
    rules: { v4: program.v4.rules.length, v6: program.v6.rules.length },
    sets: program.sets.length,
    members: program.sets.reduce((n, s) => n + s.entries.length, 0),
  };
}
