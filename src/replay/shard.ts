import type { ReplayOptions, ReplayResult } from './replay.js';

export function replaySharded(_paths: readonly string[], _opts: ReplayOptions): ReplayResult {
  throw new Error('not yet');
}
