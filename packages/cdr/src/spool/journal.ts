import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Logger } from '@pbxkit/core';
import { type DirSyncer, isNotFound } from './durable.js';
import { isEntryId } from './ids.js';

/** Where a {@link SinkJournal} keeps its file, and how. */
export interface SinkJournalOptions {
  sink: string;
  /** `state/<sink>.done`. */
  path: string;
  /** The temp file of rewrites (in the spool's `tmp/`). */
  tmpPath: string;
  /** Syncs the directory of `path`. */
  dirSync: DirSyncer;
  fsync: boolean;
  logger: Logger;
  /** Runs before a compaction drops marks (the spool makes its segment deletions durable). */
  beforeCompact: () => Promise<void>;
}

const COMPACT_MIN_LINES = 10_000;

/**
 * One sink's done marks: an append-only file of the ids the sink has stored (a line each, fdatasynced per
 * batch), and the same ids in memory. Rewritten from memory (temp file, fsync, rename) when opened, when
 * mostly stale, and after a failed append, which may have left a torn line.
 */
export class SinkJournal {
  /** The ids the sink has stored, among the entries still in the spool's segments. */
  readonly done: Set<string>;
  /**
   * The file, open for appends; `undefined` after a failed append or rewrite, until the next {@link mark}
   * rewrites the file from {@link done}.
   */
  private handle: FileHandle | undefined;
  /** Lines in the file (live or stale): compaction happens when the stale ones dominate. */
  private lines = 0;
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: SinkJournalOptions,
    done: Set<string>,
  ) {
    this.done = done;
  }

  /**
   * Reads the journal (a torn last line, from a crash mid-append, does not have the shape of an id and is
   * skipped), keeps the marks of entries `isPending` still knows, and rewrites the file with those alone.
   */
  static async open(options: SinkJournalOptions, isPending: (id: string) => boolean): Promise<SinkJournal> {
    const done = new Set<string>();
    try {
      const lines = createInterface({ input: createReadStream(options.path), crlfDelay: Infinity });
      for await (const line of lines) if (isEntryId(line) && isPending(line)) done.add(line);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const journal = new SinkJournal(options, done);
    await journal.rewrite();
    return journal;
  }

  /**
   * Records durably that the sink has stored `ids`. Rejects when the file cannot be written (disk full, I/O
   * error): the marks are then not recorded, and the next call first rewrites the file from the marks that
   * were, so calling again once the disk has room succeeds.
   */
  mark(ids: readonly string[]): Promise<void> {
    const run = this.chain.then(async () => {
      if (!this.handle) await this.rewrite();
      const handle = this.handle as FileHandle;
      try {
        await handle.write(`${ids.join('\n')}\n`);
        if (this.options.fsync) await handle.datasync();
      } catch (err) {
        this.handle = undefined;
        await handle.close().catch(() => {});
        throw err;
      }
      for (const id of ids) this.done.add(id);
      this.lines += ids.length;
      if (this.lines > COMPACT_MIN_LINES && this.lines > 2 * this.done.size) {
        // The marks are durable already: a compaction that fails is only tried again later.
        await this.compact().catch((err: unknown) =>
          this.options.logger.warn(
            { sink: this.options.sink, err },
            'could not compact a spool journal; it will be tried again',
          ),
        );
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Waits for the appends in progress and closes the file. */
  async close(): Promise<void> {
    await this.chain;
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
  }

  private async compact(): Promise<void> {
    // Segment deletions must be durable before their marks disappear, or a crash could bring back an entry
    // unmarked (harmless, it would only be delivered again, but avoidable).
    await this.options.beforeCompact();
    await this.rewrite();
  }

  /**
   * Replaces the file with one holding exactly {@link done}, then opens it for appends. Until the rename the
   * old file and handle stay as they were, so a failure (disk full) changes nothing; after it the old handle
   * would append to a replaced file and is dropped at once.
   */
  private async rewrite(): Promise<void> {
    const { path, tmpPath, fsync } = this.options;
    const handle = await open(tmpPath, 'w', 0o640);
    try {
      let chunk: string[] = [];
      for (const id of this.done) {
        chunk.push(id);
        if (chunk.length === 4096) {
          await handle.write(`${chunk.join('\n')}\n`);
          chunk = [];
        }
      }
      if (chunk.length) await handle.write(`${chunk.join('\n')}\n`);
      if (fsync) await handle.sync();
      await handle.close();
      await rename(tmpPath, path);
    } catch (err) {
      await handle.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
      throw err;
    }
    const old = this.handle;
    this.handle = undefined;
    await old?.close().catch(() => {});
    await this.options.dirSync.sync();
    this.handle = await open(path, 'a', 0o640);
    this.lines = this.done.size;
  }
}
