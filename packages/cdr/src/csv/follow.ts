import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorReporter, type Logger, type Registry, resolveLogger } from '@pbxkit/core';
import type { CdrSink } from '../sink.js';
import { isNotFound } from '../spool/durable.js';
import { emptyCounts, type ImportCounts, RecordBatcher, type RefusedLine } from './batcher.js';
import { type CdrCsvConfig, type CdrLegs, parseCsvFileName, templateForFile } from './config.js';
import { type FollowState, loadState, saveState } from './follow-state.js';
import { CsvCdrReader } from './reader.js';
import { RecordSplitter } from './splitter.js';

/** Options of {@link CsvFollower}. */
export interface CsvFollowerOptions {
  /** mod_cdr_csv's directory (`log-base`/cdr-csv). */
  dir: string;
  /** The file to follow. Default `Master.csv` (it holds every CDR; the accountcode files repeat some). */
  file?: string;
  /** The node's `cdr_csv.conf.xml`, read (template and `legs`). */
  config: CdrCsvConfig;
  /** The node the files come from: stored with every CDR. */
  node: string;
  legs?: CdrLegs;
  /** IANA zone of the node's `*_stamp` values. Default: this process's zone. */
  timeZone?: string;
  sink: CdrSink;
  /** Where the offset is kept (a small JSON file, replaced atomically after every stored batch). */
  stateFile: string;
  /** Records per write. Default 5000. */
  batchSize?: number;
  /** How often `start()` looks for new lines, ms. Default 1000. */
  pollMs?: number;
  /** Read rotated files that are there at the first start, and any found later, once each. Default true. */
  importRotated?: boolean;
  /** Called for each line that does not fit the template (it is also logged at warn). */
  onRefused?: (line: RefusedLine) => void;
  logger?: Logger;
  /** Registry of `pbxkit_cdr_errors_total{component="csv_follower"}`. */
  registry?: Registry;
}

/**
 * Follows a live mod_cdr_csv `Master.csv` into a sink, safely across restarts and rotations:
 * - the offset just after the last stored record is kept in `stateFile` (durably, after each batch), so a
 *   restart resumes there; a crash between a write and the save stores a batch again, which the idempotent
 *   stores ignore;
 * - a last line FreeSWITCH is still writing (no newline yet) is left for the next poll;
 * - rotation (the module renames the file to `Master.csv.YYYY-MM-DD-HH-MM-SS` on HUP or `cdr_csv rotate` with
 *   `rotate-on-hup`; or logrotate renames it and HUP makes the module reopen) is seen as a new inode at the
 *   name: the old file is found by its inode, read to its end, and the new one is followed from 0;
 * - rotated files are read once each (names kept in the state), in rotation order;
 * - a file that shrank below the offset, or whose first bytes changed (truncated, `copytruncate`), is read
 *   again from the start, and reported: lines written between the last poll and the truncation are lost.
 * Errors (store down, unreadable file) are logged and counted; the next poll tries again from the offset.
 */
export class CsvFollower {
  readonly counts: ImportCounts = emptyCounts();
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly base: string;
  private state: FollowState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: CsvFollowerOptions) {
    this.base = options.file ?? 'Master.csv';
    this.log = resolveLogger(options.logger, { component: 'cdr-csv-follower', file: this.base });
    this.errors = new ErrorReporter('cdr', 'csv_follower', { logger: this.log, registry: options.registry });
  }

  /** Polls every `pollMs` until {@link stop}; errors are reported, never thrown. */
  start(): void {
    this.stopped = false;
    const tick = () => {
      this.running = this.pollOnce()
        .catch((err: unknown) => this.errors.report(err, { msg: 'CSV follow poll failed', level: 'warn' }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs ?? 1000);
        });
    };
    tick();
  }

  /** Stops polling; resolves when the poll under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** The saved position (for health pages and tests). */
  get position(): Readonly<FollowState> | undefined {
    return this.state;
  }

  /**
   * One round: handles a rotation or truncation, reads rotated files not read yet, then new complete lines of
   * the live file. Resolves when what it read is stored and the offset saved; rejects when the store or the
   * file failed (nothing after the saved offset counts as done).
   */
  async pollOnce(): Promise<void> {
    this.state ??= await loadState(this.options.stateFile);
    const state = this.state;
    const live = join(this.options.dir, this.base);
    const st = await stat(live).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (state.ino !== null && (!st || st.ino !== state.ino || st.dev !== state.dev)) {
      await this.finishRotated(state);
    }
    if (this.options.importRotated !== false) await this.readRotated(state);
    if (!st) return;
    if (state.ino === null) {
      Object.assign(state, { dev: st.dev, ino: st.ino, offset: 0, line: 1, head: '' });
    }
    if (st.size < state.offset || !(await this.sameHead(live, state))) {
      this.errors.report(
        new Error(`${live} shrank to ${st.size} bytes or was rewritten below offset ${state.offset}`),
        { msg: 'CSV file truncated: reading it again from the start (lines written just before are lost)' },
      );
      Object.assign(state, { offset: 0, line: 1, head: '' });
    }
    await this.readFrom(live, state, false, (offset, line) => this.advance(live, state, offset, line));
  }

  /** The followed file has a new inode at its name: read the old one (found by inode) to its end. */
  private async finishRotated(state: FollowState): Promise<void> {
    const names = await readdir(this.options.dir);
    let found: string | undefined;
    for (const name of names) {
      if (!name.startsWith(`${this.base}.`)) continue;
      const s = await stat(join(this.options.dir, name)).catch(() => undefined);
      if (s && s.ino === state.ino && s.dev === state.dev) found = name;
    }
    if (found) {
      this.log.info({ rotated: found, offset: state.offset }, 'CSV file rotated: reading the rest of it');
      const path = join(this.options.dir, found);
      await this.readFrom(path, state, true, (offset, line) => this.advance(path, state, offset, line));
      state.imported.push(found);
    } else {
      this.errors.report(new Error(`${this.base} was rotated away and its old file is gone`), {
        msg: 'CSV file rotated but not found by inode (deleted or compressed?): lines after the offset are lost',
        offset: state.offset,
      });
    }
    Object.assign(state, { dev: null, ino: null, offset: 0, line: 1, head: '' });
    await saveState(this.options.stateFile, state);
  }

  /** Reads rotated files (`<file>.YYYY-MM-DD-HH-MM-SS`) not read yet, oldest first; forgets names now gone. */
  private async readRotated(state: FollowState): Promise<void> {
    const names = (await readdir(this.options.dir))
      .filter((n) => n.startsWith(`${this.base}.`) && parseCsvFileName(n)?.rotatedAt !== undefined)
      .sort();
    const present = new Set(names);
    const before = state.imported.length;
    state.imported = state.imported.filter((n) => present.has(n));
    let changed = state.imported.length !== before;
    for (const name of names) {
      if (state.imported.includes(name)) continue;
      this.log.info({ rotated: name }, 'reading a rotated CSV file');
      // Not saved part-way: after a crash the whole file is read again, and the stores skip what they hold.
      await this.readFrom(join(this.options.dir, name), { offset: 0, line: 1, ino: null }, true);
      state.imported.push(name);
      changed = true;
      await saveState(this.options.stateFile, state);
    }
    if (changed) await saveState(this.options.stateFile, state);
  }

  /**
   * Reads `path` from `from.offset` to its current end, storing complete records batch by batch and calling
   * `onCommit` after each stored batch. The file is opened once and checked to be inode `ino` (when given), so
   * a rotation between the `stat` and the read cannot make it read the new file at the old offset.
   * `final`: the file is no longer written, so an unfinished last line is refused.
   */
  private async readFrom(
    path: string,
    from: { offset: number; line: number; ino: number | null },
    final: boolean,
    onCommit?: (offset: number, line: number) => Promise<void>,
  ): Promise<void> {
    const template = templateForFile(this.options.config, this.base);
    const reader = new CsvCdrReader({
      template,
      node: this.options.node,
      legs: this.options.legs ?? this.options.config.legs,
      timeZone: this.options.timeZone,
      file: path,
    });
    const handle = await open(path, 'r');
    try {
      if (from.ino !== null && (await handle.stat()).ino !== from.ino) return;
      const splitter = new RecordSplitter(template.linesPerRecord, from.offset, from.line);
      const batchSize = this.options.batchSize ?? 5000;
      const batcher = new RecordBatcher(this.options.sink, this.counts, Number.POSITIVE_INFINITY);
      let waiting = 0;
      const commit = async (offset: number, line: number) => {
        await batcher.flush();
        waiting = 0;
        await onCommit?.(offset, line);
      };
      const stream = handle.createReadStream({
        start: from.offset,
        highWaterMark: 1 << 20,
        autoClose: false,
      });
      for await (const chunk of stream) {
        for (const split of splitter.push(chunk as Buffer)) {
          const read = reader.read(split);
          if (read.ok) {
            await batcher.add(read.record);
            waiting++;
          } else {
            this.refused(batcher, path, read.line, read.reason, read.text);
          }
          if (waiting >= batchSize) await commit(split.end, split.line + template.linesPerRecord);
        }
      }
      if (final && splitter.pending > 0) {
        this.refused(batcher, path, splitter.nextLine, 'the last line has no newline: cut off', '');
      }
      await commit(splitter.committed, splitter.nextLine);
    } finally {
      await handle.close();
    }
  }

  /** Counts, logs and hands on a refused line; only the latest 100 are kept in `counts.refused`. */
  private refused(batcher: RecordBatcher, file: string, line: number, reason: string, text: string): void {
    batcher.refuse(file, line, reason, text);
    const list = this.counts.refused;
    const entry = list[list.length - 1] as RefusedLine;
    if (list.length > 100) list.shift();
    this.log.warn({ file, line, reason }, 'CSV line refused');
    this.options.onRefused?.(entry);
  }

  /** Moves the saved position of the followed file and saves it (with the hash of the bytes before it). */
  private async advance(path: string, state: FollowState, offset: number, line: number): Promise<void> {
    if (offset === state.offset) return;
    state.offset = offset;
    state.line = line;
    state.head = await headHash(path, offset);
    await saveState(this.options.stateFile, state);
  }

  private async sameHead(path: string, state: FollowState): Promise<boolean> {
    if (state.offset === 0 || state.head === '') return true;
    return (await headHash(path, state.offset)) === state.head;
  }
}

/** SHA-1 of the first `min(upTo, 512)` bytes of a file. */
async function headHash(path: string, upTo: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(upTo, 512));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return createHash('sha1').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await handle.close();
  }
}
