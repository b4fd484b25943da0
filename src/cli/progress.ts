/**
 * A one-line progress bar on stderr, for long work on a terminal (callers show it only when stderr is a
 * TTY and the output is not JSON). Redrawn at most five times a second, so callers may report often.
 */
import { groupDigits } from '../report/digits.js';

export interface ProgressBar {
  /** `done` of `total`, and a count of `unit` to show beside the bar. */
  update(done: number, total: number, count: number): void;
  /** Clears the line, if anything was drawn. */
  done(): void;
}

export function progressBar(unit: string): ProgressBar {
  let last = 0;
  let drawn = false;
  return {
    update(done, total, count) {
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      drawn = true;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const width = 30;
      const fill = Math.round(frac * width);
      // The line cleared first: a longer status (statusLine) may stand on it.
      process.stderr.write(`\r\x1b[2K[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${groupDigits(count)} ${unit}`);
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[2K');
    },
  };
}

/**
 * Runs `work` with a progress callback that draws a bar of `total` (counting `unit`) and clears it
 * after, or with none when `show` is false.
 */
export function withProgressBar<T>(show: boolean, unit: string, total: number, work: (progress?: (done: number) => void) => T): T {
  if (!show) return work();
  const bar = progressBar(unit);
  try {
    return work((done) => bar.update(done, total, done));
  } finally {
    bar.done();
  }
}

export interface StatusLine {
  /** Replaces the line with `netsieve: <text>...`. */
  show(text: string): void;
  /** Clears the line, if anything was shown. */
  done(): void;
}

/**
 * A one-line status on stderr for the steps before a progress bar can count anything: loading the
 * manifests and building the models took 2 s at the large tier's 50k pods and about 20 s at the stress
 * tier's 150k, with nothing on the screen. A progress bar drawn next clears it. `show` false: a status
 * that prints nothing (not a terminal, or JSON output).
 */
function statusLine(show: boolean): StatusLine {
  let drawn = false;
  return {
    show(text) {
      if (!show) return;
      process.stderr.write(`\r\x1b[2Knetsieve: ${text}...`);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

/** `work` with a status line (statusLine(show)), cleared after it, also when it throws (before the error's own line). */
export function withStatus<T>(show: boolean, work: (status: StatusLine) => T): T {
  const status = statusLine(show);
  try {
    return work(status);
  } finally {
    status.done();
  }
}
