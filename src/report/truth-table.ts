/**
 * The truth table as the upstream e2e suite and cyclonus print it: sources as rows, destinations as
 * columns, `.` allowed, `X` denied (and `-` where the pair shares no address family).
 */
import type { ProbeTable } from '../match/probe.js';

export function renderTruthTable(table: ProbeTable, title: string): string {
  const names = table.pods;
  const width = Math.max(title.length, ...names.map((n) => n.length));
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - s.length));
  const rule = `+${'-'.repeat(width + 2)}+${names.map((n) => '-'.repeat(n.length + 2)).join('+')}+`;
  const lines = [rule, `| ${pad(title, width)} | ${names.join(' | ')} |`, rule];
  const byPair = new Map(table.cells.map((c) => [`${c.from}\u0000${c.to}`, c.allowed]));
  for (const from of names) {
    const marks = names.map((to) => {
      const allowed = byPair.get(`${from}\u0000${to}`);
      return pad(allowed === null ? '-' : allowed ? '.' : 'X', to.length);
    });
    lines.push(`| ${pad(from, width)} | ${marks.join(' | ')} |`);
  }
  lines.push(rule, '. allowed   X denied   - no common address family');
  return lines.join('\n') + '\n';
}
