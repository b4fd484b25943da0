/**
 * The errors that mean stdout's reader went away (src/cli/stdout.ts): the command then stops with exit 0.
 * test/cli/pipe.test.ts runs the command into a closed pipe; whether Node's socket pair then reports
 * EPIPE or ECONNRESET depends on whether bytes were still unread when the reader closed, a race, so each
 * code is checked here.
 */
import { describe, expect, it } from 'vitest';
import { readerWentAway } from '../../src/cli/stdout.js';

const failure = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`write ${code}`), { code, syscall: 'write' });

describe('stdout reader gone', () => {
  it('is EPIPE (a pipe) or ECONNRESET (a socket pair closed with bytes unread)', () => {
    expect(readerWentAway(failure('EPIPE'))).toBe(true);
    expect(readerWentAway(failure('ECONNRESET'))).toBe(true);
  });

  it('is not any other write error, which is still reported', () => {
    for (const code of ['ENOSPC', 'EIO', 'EBADF', 'ENOBUFS']) expect(readerWentAway(failure(code)), code).toBe(false);
  });
});
