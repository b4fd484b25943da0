/**
 * Large newline-terminated text (the restore files of the real tier run to 58 MB in a million lines),
 * built in chunks of lines joined as they fill. One array of every line would keep a million young
 * strings alive until the end, so that each scavenge copied them all (more than half the rendering
 * time of the real tier went to the garbage collector); a chunk's lines die young. Pushing the pieces
 * of each line instead of the line measured twice as slow.
 *
 * Chunks are either kept and joined once (`text()`), or handed to a sink as they fill: the stress
 * tier's ipset text (94 million members, about 3.5 GB) is longer than V8's longest string (2^29 - 24
 * characters), so only a sink can carry it.
 */
export type ChunkSink = (chunk: string) => void;

export class LineText {
  private static readonly CHUNK_LINES = 1024;
  /** A streamed chunk also ends past this many characters, so that blocks of many lines keep chunks small. */
  private static readonly CHUNK_CHARS = 1 << 20;
  private readonly chunks: string[] = [];
  private pending: string[] = [];
  private pendingChars = 0;

  /** Without a sink the chunks are kept for `text()`. */
  constructor(private readonly sink: ChunkSink | null = null) {}

  push(line: string): void {
    this.pending.push(line);
    if (this.pending.length === LineText.CHUNK_LINES) this.flush();
  }

  /**
   * Several lines at once, newline-separated (no final newline: it is added as for a line). Kept
   * whole for `text()`, so that its characters are copied once more only, by the final join.
   */
  pushBlock(block: string): void {
    if (this.sink === null) {
      this.flush();
      this.chunks.push(block, '\n');
      return;
    }
    this.pending.push(block);
    this.pendingChars += block.length;
    if (this.pending.length === LineText.CHUNK_LINES || this.pendingChars >= LineText.CHUNK_CHARS) this.flush();
  }

  /** Every line followed by a newline; '' when there is none. One flat string, joined once. */
  text(): string {
    this.flush();
    return this.chunks.join('');
  }

  /** Hands the last lines to the sink. */
  end(): void {
    this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    // The empty last element puts the chunk's final newline into the same join (appending it would
    // make a rope that every reader flattens with another copy).
    this.pending.push('');
    const chunk = this.pending.join('\n');
    this.pending = [];
    this.pendingChars = 0;
    if (this.sink) this.sink(chunk);
    else this.chunks.push(chunk);
  }
}
