/**
 * The truth table as the upstream e2e suite and cyclonus print it: sources as rows, destinations as
 * columns, `.` allowed, `X` denied (and `-` where the pair shares no address family); and the same
 * cells as `probe --output json` gives them. Both written row by row to a sink: a table of thousands of
 * pods is hundreds of megabytes of text (src/match/probe.ts).
 */
import { Reach } from '../match/probe.js';

export type TextSink = (chunk: string) => void;

export interface RowWriter {
  /** Source pod `from`'s row (probeRows' cells, in pod order). */
  row(from: number, row: Uint8Array): void;
  end(): void;
}

/** The table of `names` (sources and destinations, in pod order) headed by `title`. */
export function truthTableWriter(names: readonly string[], title: string, sink: TextSink): RowWriter {
  const width = names.reduce((w, n) => Math.max(w, n.length), title.length);
  const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - s.length));
  const rule = `+${'-'.repeat(width + 2)}+${names.map((n) => '-'.repeat(n.length + 2)).join('+')}+`;
  // A mark padded to its column, per column: made once, not per cell.
  const marks = [Reach.DENIED, Reach.ALLOWED, Reach.NO_FAMILY].map((r) => names.map((n) => pad(r === Reach.NO_FAMILY ? '-' : r === Reach.ALLOWED ? '.' : 'X', n.length)));
  sink(`${rule}\n| ${pad(title, width)} | ${names.join(' | ')} |\n${rule}\n`);
  return {
    row(from, row) {
      const cells = Array.from(row, (reach, t) => marks[reach]![t]!);
      sink(`| ${pad(names[from]!, width)} | ${cells.join(' | ')} |\n`);
    },
    end() {
      sink(`${rule}\n. allowed   X denied   - no common address family\n`);
    },
  };
}

/**
 * `{"model":..,"port":..,"protocol":..,"results":[{"from","to","allowed"},...]}` as JSON.stringify
 * writes it (the pairs without a common family left out), one source pod's cells per chunk.
 */
export function truthJsonWriter(names: readonly string[], head: { model: string; port: number; protocol: string }, sink: TextSink): RowWriter {
  const quoted = names.map((n) => JSON.stringify(n));
  const opening = JSON.stringify({ ...head, results: [] });
  sink(opening.slice(0, -2)); // up to and with `"results":[`
  let written = 0;
  return {
    row(from, row) {
      const parts: string[] = [];
      const source = `{"from":${quoted[from]},"to":`;
      row.forEach((reach, t) => {
        if (reach === Reach.NO_FAMILY) return;
        parts.push(`${written++ === 0 ? '' : ','}${source}${quoted[t]},"allowed":${reach === Reach.ALLOWED}}`);
      });
      if (parts.length > 0) sink(parts.join(''));
    },
    end() {
      sink(']}\n');
    },
  };
}
