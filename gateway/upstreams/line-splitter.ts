/** Newline-delimited framing of a text stream (MCP stdio), with a bound on one line's length. */

export class LineTooLongError extends Error {
  constructor(limit: number) {
    super(`upstream line longer than ${limit} characters`);
    this.name = 'LineTooLongError';
  }
}

export class LineSplitter {
  /** The unfinished line, in the pieces it arrived in (joined once, when its newline comes). */
  private parts: string[] = [];
  private partLength = 0;

  constructor(
    private readonly maxLineLength: number,
    private readonly onLine: (line: string) => void,
  ) {}

  /** Feeds decoded text; calls onLine once per complete line (without "\n" or a trailing "\r"). */
  push(chunk: string): void {
    let start = 0;
    for (let newline = chunk.indexOf('\n'); newline !== -1; newline = chunk.indexOf('\n', start)) {
      let line = chunk.slice(start, newline);
      start = newline + 1;
      if (this.parts.length > 0) {
        this.parts.push(line);
        line = this.parts.join('');
        this.reset();
      }
      if (line.length > this.maxLineLength) throw new LineTooLongError(this.maxLineLength);
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (start === chunk.length) return;
    const rest = start === 0 ? chunk : chunk.slice(start);
    this.partLength += rest.length;
    if (this.partLength > this.maxLineLength) {
      this.reset();
      throw new LineTooLongError(this.maxLineLength);
    }
    this.parts.push(rest);
  }

  reset(): void {
    this.parts = [];
    this.partLength = 0;
  }
}
