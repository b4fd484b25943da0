/**
 * The command's stdout when its reader stops early (`netsieve ... | head`): stop quietly, as Unix tools do.
 *
 * A pipe's reader gone, the next write fails with EPIPE. Node gives a child process it spawns a socket
 * pair for stdout instead of a pipe; there a reader that closes with bytes still unread resets the
 * connection, and a write waiting for room fails with ECONNRESET (Linux af_unix: the closing end sets
 * its peer's error to ECONNRESET when its receive queue is not empty). Both mean the same here.
 */
export function readerWentAway(err: NodeJS.ErrnoException): boolean {
  return err.code === 'EPIPE' || err.code === 'ECONNRESET';
}
