import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type {
  HealthStatus,
  ListPage,
  ObjectInfo,
  ReadOptions,
  StorageBackend,
  WriteBody,
} from '../backend.js';
import { StorageNotFoundError } from '../errors.js';
import { parseVoicemailKey } from './layout.js';
import { uploadVerified } from './verified-copy.js';
import type { VoicemailIndex, VoicemailMessage } from './vm-index.js';

/** Options of {@link importVoicemail}. */
export interface VoicemailImportOptions {
  /** The existing tree (a GlusterFS mount of `<storage_dir>/voicemail`), read only: nothing in it is changed. */
  tree?: StorageBackend;
  /** Where the agents keep the one copy (`S3Backend`). */
  shared: StorageBackend;
  /**
   * The voicemail database. Messages are imported only when they have a row (a file without one is reported
   * as an orphan and left alone: the agents would take it for a deleted message).
   */
  index: VoicemailIndex;
  /** FusionPBX rows whose audio is in the table (`FusionPbxVoicemailIndex.base64Messages()`). */
  base64?: AsyncIterable<{ message: VoicemailMessage; audio: Buffer }>;
  /** Report what would be imported, copy nothing. */
  dryRun?: boolean;
  /** Copies at once. Default 4. */
  concurrency?: number;
  /** How copies are proved (see `uploadVerified`). Default `etag`. */
  verify?: 'etag' | 'read-back' | 'metadata';
  /** Called after each file (for a progress display). */
  onFile?: (key: string, result: 'imported' | 'present' | 'planned' | 'failed') => void;
}

/** What {@link importVoicemail} did. */
export interface VoicemailImportReport {
  scanned: number;
  /** Copied to the shared tier and proved. */
  imported: number;
  /** Already there with the same size and checksum. */
  present: number;
  /** Would be copied (dry run). */
  planned: string[];
  /** Message files without a database row: not imported. */
  orphans: string[];
  failed: Array<{ key: string; error: string }>;
}

/**
 * Imports an existing voicemail store into the shared tier, proving every copy: a GlusterFS-style tree (every
 * message with a row, every greeting and recorded name) and/or FusionPBX's base64 rows. It only reads the tree
 * and the database, so FreeSWITCH sees exactly what it saw before; once it is done, the agents take over (and a
 * second run copies nothing that is already there).
 */
export async function importVoicemail(options: VoicemailImportOptions): Promise<VoicemailImportReport> {
  const report: VoicemailImportReport = {
    scanned: 0,
    imported: 0,
    present: 0,
    planned: [],
    orphans: [],
    failed: [],
  };
  const rows = new Map<string, VoicemailMessage>();
  for (const m of await options.index.all()) if (m.key) rows.set(m.key, m);
  const jobs: Array<() => Promise<void>> = [];
  const copy = (source: StorageBackend, key: string, uuid?: string) => async () => {
    if (options.dryRun) {
      report.planned.push(key);
      options.onFile?.(key, 'planned');
      return;
    }
    try {
      const done = await uploadVerified(source, options.shared, key, {
        metadata: { origin: 'import', ...(uuid ? { 'vm-uuid': uuid } : {}) },
        ...(options.verify ? { verify: options.verify } : {}),
      });
      if (done.uploaded) report.imported++;
      else report.present++;
      options.onFile?.(key, done.uploaded ? 'imported' : 'present');
    } catch (err) {
      report.failed.push({ key, error: (err as Error).message });
      options.onFile?.(key, 'failed');
    }
  };

  if (options.tree) {
    let cursor: string | undefined;
    do {
      const page: ListPage = await options.tree.list('', cursor ? { cursor } : {});
      for (const item of page.items) {
        const parts = parseVoicemailKey(item.key);
        if (!parts || parts.kind === 'other') continue;
        report.scanned++;
        const row = rows.get(item.key);
        if (parts.kind === 'message' && !row) report.orphans.push(item.key);
        else jobs.push(copy(options.tree, item.key, row?.uuid));
      }
      cursor = page.cursor;
    } while (cursor);
  }
  for await (const { message, audio } of options.base64 ?? []) {
    if (!message.key) continue;
    report.scanned++;
    jobs.push(copy(new BufferBackend(message.key, audio), message.key, message.uuid));
  }

  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  return report;
}

/** One object in memory (a base64 row's audio), as a read-only backend for {@link uploadVerified}. */
class BufferBackend implements StorageBackend {
  readonly name = 'base64';
  private readonly info: ObjectInfo;

  constructor(
    private readonly key: string,
    private readonly bytes: Buffer,
  ) {
    this.info = {
      key,
      size: bytes.length,
      lastModified: new Date(0),
      etag: `"${createHash('md5').update(bytes).digest('hex')}"`,
    };
  }

  async stat(key: string): Promise<ObjectInfo> {
    if (key !== this.key) throw new StorageNotFoundError(key);
    return this.info;
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    if (key !== this.key) throw new StorageNotFoundError(key);
    const r = options.range;
    return Readable.from([r ? this.bytes.subarray(r.start, r.end + 1) : this.bytes]);
  }

  async write(_key: string, _body: WriteBody): Promise<ObjectInfo> {
    throw new TypeError('read only');
  }

  async delete(): Promise<boolean> {
    return false;
  }

  async list(): Promise<ListPage> {
    return { items: [this.info] };
  }

  async health(): Promise<HealthStatus> {
    return { ok: true, backend: this.name, detail: 'in memory', latencyMs: 0 };
  }
}
