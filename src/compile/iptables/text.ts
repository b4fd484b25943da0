/**
 * Large newline-terminated text (the restore files of the real tier run to 58 MB in a million lines),
 * built in chunks of lines that are joined as they fill and once more at the end. One array of every
 * line would keep a million young strings alive until the end, so that each scavenge copied them all
 * (more than half the rendering time of the real tier went to the garbage collector); a chunk's lines
 * die young. Pushing the pieces of each line instead of the line measured twice as slow.
 */
export class LineText {
  private static readonly CHUNK_LINES = 1024;
  private readonly chunks: string[] = [];
  private pending: string[] = [];

  push(line: string): void {
    this.pending.push(line);
    if (this.pending.length === LineText.CHUNK_LINES) this.flush();
  }

  /**
   * Every line followed by a newline; '' when there is none. One join, with an empty last chunk for the
   * final newline: appending it to the joined text would hand back a rope that every reader flattens
   * with another copy of the whole text.
   */
  text(): string {
    this.flush();
    if (this.chunks.length === 0) return '';
    return [...this.chunks, ''].join('\n');
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(this.pending.join('\n'));
    this.pending = [];
  }
}
