import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@pbxkit/core';
import { DirSyncer } from './durable.js';
import { encodeFrame, frameIntact, PREFIX_BYTES, readPrefix } from './segment-format.js';

/** Options of {@link SegmentLog.open}. */
export interface SegmentLogOptions {
  dir: string;
  /** fdatasync each group before its appends resolve (and fsync the directory when a segment is created). */
  fsync: boolean;
  /** A segment is closed for appends once it reaches this size; it is deleted when its last entry is released. */
  segmentBytes: number;
  /** Most bytes written (and synced) together in one group commit. */
  groupBytes: number;
  logger: Logger;
  /** Called with the ids of a segment when its file has been deleted. */
  onReclaim: (ids: readonly string[]) => void;
}

/** One segment file. */
interface Segment {
  no: number;
  path: string;
  /** Bytes of complete, synced frames (appends go here). */
  size: number;
  /** Entries not yet released. */
  live: number;
  ids: string[];
  /** The open handle while the segment takes appends. */
  writer: FileHandle | undefined;
}

/** Where an entry's frame is. */
export interface LogLocation {
  readonly segment: Segment;
  readonly offset: number;
  readonly headerBytes: number;
  readonly bodyBytes: number;
  readonly crc: number;
}

/** An entry found in the segments when the log was opened. */
export interface RecoveredEntry {
  id: string;
  location: LogLocation;
}

/** A frame whose bytes no longer match their checksum. */
export class CorruptFrameError extends Error {
  /** The bytes read where the body should be (unverified), when the read got that far. */
  readonly body: Buffer | undefined;

  constructor(message: string, body?: Buffer) {
    super(message);
    this.name = 'CorruptFrameError';
    this.body = body;
  }
}

interface QueuedAppend {
  id: string;
  header: Buffer;
  body: Buffer;
  resolve: (location: LogLocation) => void;
  reject: (err: unknown) => void;
}

const SEGMENT_NAME = /^(\d{10})\.seg$/;
const READ_HANDLES = 8;
/** How much of a frame is read at once while scanning: the prefix and, almost always, the whole header. */
const SCAN_READ_BYTES = 4096;

function segmentName(no: number): string {
  return `${String(no).padStart(10, '0')}.seg`;
}

async function readFully(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

async function writeAll(handle: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    at += bytesWritten;
    // A short write (rare on a regular file): continue after what was written.
    let skip = bytesWritten;
    let i = 0;
    while (i < pending.length && skip >= (pending[i] as Buffer).length)
      skip -= (pending[i++] as Buffer).length;
    pending = pending.slice(i);
    if (pending.length > 0 && skip > 0) pending[0] = (pending[0] as Buffer).subarray(skip);
    if (bytesWritten === 0 && pending.length > 0) throw new Error('the segment write made no progress');
  }
}

/**
 * An append-only log of spool entries in segment files, with group commit: the appends that arrive while a
 * write and fdatasync are in progress are written together by the next one, so a burst of concurrent CDRs
 * costs one write and one fdatasync instead of a file, an fsync, a rename and a directory fsync each.
 *
 * Every append resolves only when its frame is on stable storage. A crash can leave a torn or zero-filled
 * tail after the last synced frame; opening the log ignores it (frames carry their lengths and a CRC-32).
 * Entries are released one by one; a segment's file is deleted when all of its entries are released and it
 * no longer takes appends.
 */
export class SegmentLog {
  private readonly segments = new Map<number, Segment>();
  private readonly dirSync: DirSyncer;
  private readonly readers = new Map<number, Promise<FileHandle>>();
  private active: Segment | undefined;
  private lastNo = 0;
  private queue: QueuedAppend[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly options: SegmentLogOptions) {
    this.dirSync = new DirSyncer(options.dir, options.fsync);
  }

  /** Opens the log in `options.dir` and returns the entries its segments hold, in append order. */
  static async open(options: SegmentLogOptions): Promise<{ log: SegmentLog; recovered: RecoveredEntry[] }> {
    const log = new SegmentLog(options);
    await mkdir(options.dir, { recursive: true });
    const numbers = (await readdir(options.dir))
      .map((name) => SEGMENT_NAME.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const recovered: RecoveredEntry[] = [];
    for (const [i, no] of numbers.entries()) {
      const segment: Segment = {
        no,
        path: join(options.dir, segmentName(no)),
        size: 0,
        live: 0,
        ids: [],
        writer: undefined,
      };
      log.segments.set(no, segment);
      log.lastNo = no;
      // Only the newest segment can hold frames written after the last fsync (older ones were complete and
      // synced before the next was created), so only its bodies are checked against their CRC here. Every
      // read checks the CRC anyway.
      const found = await log.scan(segment, i === numbers.length - 1);
      recovered.push(...found);
      if (segment.live === 0) await log.reclaim(segment);
    }
    return { log, recovered };
  }

  /** Appends one frame; resolves with its location once it is durable (group-committed with its neighbours). */
  append(id: string, header: Buffer, body: Buffer): Promise<LogLocation> {
    if (this.closed) return Promise.reject(new Error('the segment log is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id, header, body, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  /** Reads an entry's header and body, checking its CRC. */
  async read(location: LogLocation): Promise<{ header: Buffer; body: Buffer }> {
    const { segment } = location;
    return readFrame(segment.writer ?? (await this.reader(segment)), segment.path, location);
  }

  /** The entry is no longer needed; its segment is deleted once none of its entries is. */
  release(location: LogLocation): Promise<void> {
    const segment = location.segment;
    segment.live--;
    if (segment.live === 0 && segment !== this.active && this.segments.has(segment.no)) {
      return this.reclaim(segment);
    }
    return Promise.resolve();
  }

  /** fsyncs the directory, so that deleted segments stay deleted after a crash. */
  syncDirectory(): Promise<void> {
    return this.dirSync.sync();
  }

  /** Waits for the appends in progress, then closes the files. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    const active = this.active;
    this.active = undefined;
    if (active && active.live === 0) await this.reclaim(active);
    else await active?.writer?.close().catch(() => {});
    for (const reader of this.readers.values()) await (await reader.catch(() => undefined))?.close();
    this.readers.clear();
    await this.dirSync.close().catch(() => {});
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < this.queue.length && (count === 0 || bytes < this.options.groupBytes)) {
        const item = this.queue[count] as QueuedAppend;
        bytes += PREFIX_BYTES + item.header.length + item.body.length;
        count++;
      }
      const group = this.queue.splice(0, count);
      await this.commit(group);
    }
  }

  private async commit(group: QueuedAppend[]): Promise<void> {
    let segment: Segment | undefined;
    try {
      segment = await this.writable();
      const writer = segment.writer as FileHandle;
      const buffers: Buffer[] = [];
      const locations: LogLocation[] = [];
      let offset = segment.size;
      for (const item of group) {
        const frame = encodeFrame(item.header, item.body);
        buffers.push(...frame);
        locations.push({
          segment,
          offset,
          headerBytes: item.header.length,
          bodyBytes: item.body.length,
          crc: frame[0].readUInt32BE(12),
        });
        offset += PREFIX_BYTES + item.header.length + item.body.length;
      }
      await writeAll(writer, buffers, segment.size);
      if (this.options.fsync) await writer.datasync();
      segment.size = offset;
      for (const [i, item] of group.entries()) {
        segment.live++;
        segment.ids.push(item.id);
        item.resolve(locations[i] as LogLocation);
      }
      if (segment.size >= this.options.segmentBytes) await this.seal(segment);
    } catch (err) {
      for (const item of group) item.reject(err);
      if (segment) {
        // What was written of the failed group is cut off and the segment takes no more appends, so a later
        // group never lands after bytes in an unknown state.
        await segment.writer?.truncate(segment.size).catch(() => {});
        await this.seal(segment).catch(() => {});
      }
    }
  }

  private async writable(): Promise<Segment> {
    if (this.active) return this.active;
    const no = this.lastNo + 1;
    const path = join(this.options.dir, segmentName(no));
    const writer = await open(path, 'wx+', 0o640);
    this.lastNo = no;
    try {
      // The new name must be durable before any append in it is acknowledged.
      await this.dirSync.sync();
    } catch (err) {
      // Then nothing may be acknowledged in it, now or later: drop it, and the next group tries a new one.
      await writer.close().catch(() => {});
      await unlink(path).catch(() => {});
      throw err;
    }
    const segment: Segment = { no, path, size: 0, live: 0, ids: [], writer };
    this.segments.set(no, segment);
    this.active = segment;
    return segment;
  }

  private async seal(segment: Segment): Promise<void> {
    if (this.active === segment) this.active = undefined;
    const writer = segment.writer;
    segment.writer = undefined;
    await writer?.close();
    if (segment.live === 0) await this.reclaim(segment);
  }

  private reader(segment: Segment): Promise<FileHandle> {
    let handle = this.readers.get(segment.no);
    if (handle) {
      // Most recently used last.
      this.readers.delete(segment.no);
      this.readers.set(segment.no, handle);
      return handle;
    }
    handle = open(segment.path, constants.O_RDONLY);
    this.readers.set(segment.no, handle);
    handle.catch(() => this.readers.delete(segment.no));
    while (this.readers.size > READ_HANDLES) {
      const [oldest, old] = this.readers.entries().next().value as [number, Promise<FileHandle>];
      this.readers.delete(oldest);
      void old.then((h) => h.close()).catch(() => {});
    }
    return handle;
  }

  private async reclaim(segment: Segment): Promise<void> {
    this.segments.delete(segment.no);
    const reader = this.readers.get(segment.no);
    this.readers.delete(segment.no);
    await (await reader?.catch(() => undefined))?.close();
    await segment.writer?.close().catch(() => {});
    segment.writer = undefined;
    try {
      await unlink(segment.path);
    } catch (err) {
      this.options.logger.warn({ err, path: segment.path }, 'could not delete a spent spool segment');
      return;
    }
    this.options.onReclaim(segment.ids);
  }

  private async scan(segment: Segment, verify: boolean): Promise<RecoveredEntry[]> {
    const scanned = await scanSegmentFile(segment.path, verify);
    const found: RecoveredEntry[] = [];
    for (const frame of scanned.frames) {
      const { id, header, fields, ...where } = frame;
      found.push({ id, location: { segment, ...where } });
      segment.ids.push(id);
      segment.live++;
    }
    segment.size = scanned.validBytes;
    if (scanned.problem) {
      // Bytes after the last complete frame: an append that was never acknowledged.
      this.options.logger.warn(
        {
          path: segment.path,
          offset: scanned.validBytes,
          ignoredBytes: scanned.fileBytes - scanned.validBytes,
          reason: scanned.problem,
        },
        'spool segment ends with an incomplete frame (an unacknowledged write cut by a crash): ignored',
      );
    }
    return found;
  }
}

/** A frame found by {@link scanSegmentFile}. */
export interface ScannedFrame {
  id: string;
  /** The header's JSON bytes (the CRC covers them). */
  header: Buffer;
  /** The header, parsed. */
  fields: Record<string, unknown>;
  offset: number;
  headerBytes: number;
  bodyBytes: number;
  crc: number;
}

/** What {@link scanSegmentFile} read. */
export interface SegmentScan {
  frames: ScannedFrame[];
  fileBytes: number;
  /** Bytes up to the end of the last complete frame. */
  validBytes: number;
  /** Why the bytes after `validBytes` were not a frame (a torn tail), if there are any. */
  problem: string | undefined;
}

/**
 * Reads the frames of a segment file without changing it, up to the first bytes that are not a complete frame.
 * `verify` also reads every body and checks its CRC (otherwise only prefixes and headers are read).
 */
export async function scanSegmentFile(path: string, verify: boolean): Promise<SegmentScan> {
  const frames: ScannedFrame[] = [];
  const handle = await open(path, constants.O_RDONLY);
  try {
    const fileBytes = (await handle.stat()).size;
    let offset = 0;
    let problem: string | undefined;
    while (offset < fileBytes) {
      const head = await readFully(handle, Math.min(SCAN_READ_BYTES, fileBytes - offset), offset);
      const prefix = readPrefix(head, offset, fileBytes);
      if (!prefix.ok) {
        problem = prefix.reason;
        break;
      }
      const { headerBytes, bodyBytes, crc, frameBytes } = prefix;
      const rest = verify ? headerBytes + bodyBytes : headerBytes;
      const bytes =
        PREFIX_BYTES + rest <= head.length
          ? head.subarray(PREFIX_BYTES, PREFIX_BYTES + rest)
          : await readFully(handle, rest, offset + PREFIX_BYTES);
      const header = Buffer.from(bytes.subarray(0, headerBytes));
      if (verify && !frameIntact(crc, header, bytes.subarray(headerBytes))) {
        problem = 'checksum mismatch';
        break;
      }
      let fields: Record<string, unknown>;
      try {
        fields = JSON.parse(header.toString('utf8')) as Record<string, unknown>;
      } catch {
        problem = 'unreadable header';
        break;
      }
      const id = fields?.id;
      if (typeof id !== 'string') {
        problem = 'header without an id';
        break;
      }
      frames.push({ id, header, fields, offset, headerBytes, bodyBytes, crc });
      offset += frameBytes;
    }
    return { frames, fileBytes, validBytes: offset, problem };
  } finally {
    await handle.close();
  }
}

/** Where a frame is in its segment file. */
interface FramePlace {
  offset: number;
  headerBytes: number;
  bodyBytes: number;
  crc: number;
}

/** Reads a frame's header and body through `handle`, checking their CRC. */
async function readFrame(
  handle: FileHandle,
  path: string,
  place: FramePlace,
): Promise<{ header: Buffer; body: Buffer }> {
  const { offset, headerBytes, bodyBytes, crc } = place;
  const bytes = await readFully(handle, headerBytes + bodyBytes, offset + PREFIX_BYTES);
  const header = bytes.subarray(0, headerBytes);
  const body = bytes.subarray(headerBytes);
  if (bytes.length !== headerBytes + bodyBytes || !frameIntact(crc, header, body)) {
    throw new CorruptFrameError(
      `the frame at ${path}:${offset} does not match its checksum (the disk returned other bytes)`,
      body,
    );
  }
  return { header, body };
}

/** Reads one frame's body (the CDR XML) from a segment file, checking its CRC. */
export async function readSegmentBody(path: string, frame: ScannedFrame): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    return (await readFrame(handle, path, frame)).body;
  } finally {
    await handle.close();
  }
}
