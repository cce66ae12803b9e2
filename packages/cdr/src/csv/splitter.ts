/** One complete record cut from a file: its text (without the final `\n`) and where it lies. */
export interface SplitRecord {
  text: string;
  /** Byte offset of its first byte in the file. */
  start: number;
  /** Byte offset just after its final `\n`: where reading resumes. */
  end: number;
  /** 1-based line number of its first line, counted from where the splitter started. */
  line: number;
}

/**
 * Cuts a byte stream into records of `linesPerRecord` newline-terminated lines, sans I/O: feed it chunks in
 * file order; it returns the complete records and keeps an unfinished tail (a line FreeSWITCH is still writing)
 * for the next chunk. Bytes are decoded as UTF-8 only once a record is whole, so a character split across
 * chunks is never damaged.
 */
export class RecordSplitter {
  private tail: Buffer = Buffer.alloc(0);
  private offset: number;
  private line: number;

  constructor(
    private readonly linesPerRecord = 1,
    /** Byte offset in the file of the first byte fed. */
    startOffset = 0,
    /** Line number of the first line fed. */
    startLine = 1,
  ) {
    this.offset = startOffset;
    this.line = startLine;
  }

  /** Offset just after the last complete record returned: what to store as the resume point. */
  get committed(): number {
    return this.offset;
  }

  /** Line number the next record will have. */
  get nextLine(): number {
    return this.line;
  }

  /** Bytes held back because their record is not complete yet. */
  get pending(): number {
    return this.tail.length;
  }

  push(chunk: Buffer): SplitRecord[] {
    const buf = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const out: SplitRecord[] = [];
    let start = 0;
    let scan = 0;
    let lines = 0;
    for (;;) {
      const nl = buf.indexOf(10, scan);
      if (nl === -1) break;
      scan = nl + 1;
      if (++lines < this.linesPerRecord) continue;
      out.push({
        text: buf.toString('utf8', start, nl),
        start: this.offset + start,
        end: this.offset + scan,
        line: this.line,
      });
      this.line += lines;
      lines = 0;
      start = scan;
    }
    this.offset += start;
    this.tail = start === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(start));
    return out;
  }
}
