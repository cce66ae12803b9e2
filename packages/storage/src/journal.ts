import { appendFile, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One line of the archiver's journal. */
export interface JournalEntry {
  key: string;
  targetKey: string;
  step: 'begin' | 'verified' | 'done';
  size: number;
  mtimeMs: number;
  sha256?: string;
  uuid?: string;
  callStart?: string;
}

/**
 * An append-only JSON-lines file, fsynced after each line: the archiver's memory across crashes. The last line
 * per key wins; keys whose last line is not `done` are pending. A torn last line (killed mid-write) is ignored.
 */
export class Journal {
  constructor(readonly path: string) {}

  async append(entry: JournalEntry): Promise<void> {
    const fh = await open(this.path, 'a');
    try {
      // A leading newline too: a line torn by a crash mid-append never swallows the next one.
      await fh.write(`\n${JSON.stringify(entry)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Entries whose last step is not `done`, in journal order. */
  async pending(): Promise<JournalEntry[]> {
    const last = await this.read();
    return [...last.values()].filter((e) => e.step !== 'done');
  }

  /** Rewrites the journal with only the pending entries (atomically). */
  async compact(): Promise<void> {
    const pending = await this.pending();
    const temp = `${this.path}.tmp`;
    const fh = await open(temp, 'w');
    try {
      await fh.write(pending.map((e) => `${JSON.stringify(e)}\n`).join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, this.path);
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private async read(): Promise<Map<string, JournalEntry>> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await appendFile(this.path, '');
    }
    const last = new Map<string, JournalEntry>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as JournalEntry;
        if (typeof entry.key === 'string' && typeof entry.step === 'string') {
          last.delete(entry.key);
          last.set(entry.key, entry);
        }
      } catch {
        // a torn line from a crash mid-append
      }
    }
    return last;
  }
}
