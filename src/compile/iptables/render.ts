/**
 * Renders the IR as the text the real tools load: `ipset restore` input (sets must exist before any
 * rule names them, so load it first) and `iptables-save` format for `iptables-restore` /
 * `ip6tables-restore`. Matches are printed in the order iptables-save prints them back, so a loaded
 * ruleset saves to the same rule lines.
 */
import { familyBits, formatCidr, formatIp, type Cidr, type Family } from '../../model/ip.js';
import { CtBit, Target, type FamilyProgram, type IpSet, type IptablesProgram, type PortRange, type Rule, type SetEntry } from './ir.js';
import { LineText, type ChunkSink } from '../text.js';

const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 1: 'icmp', 58: 'ipv6-icmp' };

/** `ipset restore` input for every set of both families. */
export function renderIpsets(program: IptablesProgram): string {
  const lines = new LineText();
  writeIpsets(program, lines, true);
  return lines.text();
}

/**
 * renderIpsets' text in chunks of whole lines, for output too long for one string (the stress tier).
 * `progress` hears the set members written so far, after each set.
 */
export function streamIpsets(program: IptablesProgram, sink: ChunkSink, progress?: (members: number) => void): void {
  const lines = new LineText(sink);
  writeIpsets(program, lines, false, progress);
  lines.end();
}

/**
 * `asBlocks`: each set's `add` lines as one join, its prefix as the separator, with the member text of
 * lists shared between sets made once (hash:ip member text depends on the members alone). That is the
 * faster way to one string; streamed, where the sink takes chunks of short lines, line by line
 * measured faster (the stress tier's retained per-list texts also grow the heap).
 */
function writeIpsets(program: IptablesProgram, lines: LineText, asBlocks: boolean, progress?: (members: number) => void): void {
  const address = memoText(formatAddress);
  const cidr = memoText(formatCidr);
  const memberTexts = new Map<readonly SetEntry[], readonly string[]>();
  let members = 0;
  for (const set of program.sets) {
    const maxelem = Math.max(65536, 2 ** Math.ceil(Math.log2(set.entries.length + 1)));
    lines.push(`create ${set.name} ${set.type} family ${set.family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem ${maxelem}`);
    const add = `add ${set.name} `;
    if (!asBlocks) {
      for (const entry of set.entries) lines.push(add + renderEntry(set, entry, address, cidr));
      progress?.(members += set.entries.length);
      continue;
    }
    if (set.entries.length === 0) continue;
    let texts = set.type === 'hash:ip' ? memberTexts.get(set.entries) : undefined;
    if (texts === undefined) {
      texts = set.entries.map((entry) => renderEntry(set, entry, address, cidr));
      if (set.type === 'hash:ip') memberTexts.set(set.entries, texts);
    }
    lines.pushBlock(add + texts.join(`\n${add}`));
  }
}

function renderEntry(set: IpSet, entry: SetEntry, address: CidrText, cidr: CidrText): string {
  if (entry.kind === 'ipport') return `${address(entry.cidr)},${PROTO_NAMES[entry.proto]}:${entry.port}`;
  // Host entries print as bare addresses, as `ipset save` prints them back.
  const text = entry.cidr.prefix === familyBits(entry.cidr.family) ? address(entry.cidr) : cidr(entry.cidr);
  return set.type === 'hash:ip' || !entry.nomatch ? text : `${text} nomatch`;
}

/** The `filter` table of one family in iptables-save format. */
export function renderRules(program: IptablesProgram, family: Family): string {
  const lines = new LineText();
  writeRules(program, family, lines);
  return lines.text();
}

/** renderRules' text in chunks of whole lines; `progress` hears the rules written so far, every 4,096. */
export function streamRules(program: IptablesProgram, family: Family, sink: ChunkSink, progress?: (rules: number) => void): void {
  const lines = new LineText(sink);
  writeRules(program, family, lines, progress);
  lines.end();
}

function writeRules(program: IptablesProgram, family: Family, lines: LineText, progress?: (rules: number) => void): void {
  const fp = family === 4 ? program.v4 : program.v6;
  lines.push('*filter');
  for (const chain of fp.chains) lines.push(`:${chain.name} ${chain.builtin ? 'ACCEPT' : '-'} [0:0]`);
  const cidr = memoText(formatCidr);
  for (let i = 0; i < fp.rules.length; i++) {
    lines.push(ruleLine(program, fp, fp.rules[i]!, cidr));
    if (((i + 1) & 4095) === 0) progress?.(i + 1);
  }
  lines.push('COMMIT');
}

/** One rule as an `-A` line. */
export function renderRule(program: IptablesProgram, fp: FamilyProgram, index: number): string {
  return ruleLine(program, fp, fp.rules[index]!, formatCidr);
}

/** Text of an address or prefix. */
type CidrText = (cidr: Cidr) => string;

/**
 * Caches text per Cidr object: the compiler shares one host route object per pod among its dispatch
 * rule, pod chain and every set naming it, so each address is formatted once, not once per mention.
 */
function memoText(format: CidrText): CidrText {
  const known = new Map<Cidr, string>();
  return (cidr) => {
    let text = known.get(cidr);
    if (text === undefined) {
      text = format(cidr);
      known.set(cidr, text);
    }
    return text;
  };
}

function formatAddress(cidr: Cidr): string {
  return formatIp({ family: cidr.family, value: cidr.base });
}

/** `-A` line with matches in iptables-save's order; `-s`/`-d` always carry a prefix length (`/32` too). */
function ruleLine(program: IptablesProgram, fp: FamilyProgram, rule: Rule, cidr: CidrText): string {
  let line = `-A ${fp.chains[rule.chain]!.name}`;
  if (rule.src) line += ` -s ${cidr(rule.src)}`;
  if (rule.dst) line += ` -d ${cidr(rule.dst)}`;
  if (rule.proto !== 0) line += ` -p ${PROTO_NAMES[rule.proto] ?? rule.proto}`;
  line += ` -m comment --comment "${rule.comment}"`;
  if (rule.ctstate !== 0) line += ` -m conntrack --ctstate ${renderCtstate(rule.ctstate)}`;
  if (rule.markMask !== 0) line += ` -m mark --mark ${hex(rule.markValue)}/${hex(rule.markMask)}`;
  for (const m of rule.sets) line += ` -m set ${m.negate ? '! ' : ''}--match-set ${program.sets[m.set]!.name} ${m.dir}`;
  if (rule.dports.length > 0) line += ` ${renderPorts(rule)}`;
  return `${line} ${renderTarget(fp, rule)}`;
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
