/**
 * Large newline-terminated text (the iptables restore files of the real tier run to 58 MB in a million
 * lines; its eBPF dumps, 5M policy map entries, to 1.2 GB of JSON and 1.3 GB of tables),
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
  private readonly chunks: string[] = [];
  private pending: string[] = [];

  /** Without a sink the chunks are kept for `text()`. */
  constructor(private readonly sink: ChunkSink | null = null) {}

  push(line: string): void {
    this.pending.push(line);
    if (this.pending.length === LineText.CHUNK_LINES) this.flush();
  }

  /**
   * Several lines at once, newline-separated (no final newline: it is added as for a line). Kept or
   * handed on whole (a set's members, at most a few MB), so that its characters are not copied into a
   * chunk first.
   */
  pushBlock(block: string): void {
    this.flush();
    if (this.sink === null) this.chunks.push(block, '\n');
    else {
      this.sink(block);
      this.sink('\n');
    }
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
    if (this.sink) this.sink(chunk);
    else this.chunks.push(chunk);
  }
}
