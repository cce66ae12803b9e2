import type { Readable } from 'node:stream';
import { StorageInvalidKeyError } from './errors.js';

/** A byte range, both ends inclusive (as in HTTP's `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a backend knows about one stored object. */
export interface ObjectInfo {
  key: string;
  /** Size in bytes. */
  size: number;
  lastModified: Date;
  /** A validator that changes when the content changes (quoted, as in an HTTP `ETag`). */
  etag?: string;
  contentType?: string;
  /** User metadata (S3 `x-amz-meta-*`); lower-case names. */
  metadata?: Record<string, string>;
}

/** Options of {@link StorageBackend.read}. */
export interface ReadOptions {
  /**
   * Only these bytes (end inclusive). An `end` past the object's end is clamped to it; a `start` at or past the
   * end rejects with `StorageRangeError`.
   */
  range?: ByteRange;
  /** Aborts the read: the stream is destroyed. */
  signal?: AbortSignal;
}

/** What {@link StorageBackend.write} accepts as the object's bytes. */
export type WriteBody = Readable | AsyncIterable<Uint8Array> | Uint8Array | string;

/** Options of {@link StorageBackend.write}. */
export interface WriteOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

/** Options of {@link StorageBackend.list}. */
export interface ListOptions {
  /** Continue after this cursor (from the previous page's `cursor`). */
  cursor?: string;
  /** Largest page. Default 1000. */
  limit?: number;
}

/** One page of {@link StorageBackend.list}. */
export interface ListPage {
  items: ObjectInfo[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  cursor?: string;
}

/** Result of {@link StorageBackend.health}. */
export interface HealthStatus {
  ok: boolean;
  backend: string;
  /** What was checked, or what failed. */
  detail: string;
  latencyMs: number;
  /** Bytes free for the backend's writes, where it can tell (`LocalFsBackend`: the file system's available space). */
  freeBytes?: number;
  /** Inodes (files) that can still be created, where the file system counts them. */
  freeInodes?: number;
}

/**
 * One place recordings are kept. Keys are `/`-separated relative paths (`example.com/archive/2026/Nov/23/<uuid>.wav`);
 * every backend refuses keys that are absolute or contain `..` (see {@link validateKey}).
 *
 * Errors: `StorageNotFoundError`, `StorageInvalidKeyError`, `StorageRangeError`, `StorageUnavailableError`.
 */
export interface StorageBackend {
  /** A short name for logs, metrics and health (`local`, `s3`, `peer:b`). */
  readonly name: string;
  stat(key: string): Promise<ObjectInfo>;
  /** A stream of the object's bytes (or of `range`); opening errors reject, later ones destroy the stream. */
  read(key: string, options?: ReadOptions): Promise<Readable>;
  /** Stores `body` at `key` atomically (readers see the old object or the whole new one). */
  write(key: string, body: WriteBody, options?: WriteOptions): Promise<ObjectInfo>;
  /** Removes the object; resolves `false` when there was none (where the backend can tell). */
  delete(key: string): Promise<boolean>;
  /** Objects whose key starts with `prefix`, in key order, a page at a time. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  health(): Promise<HealthStatus>;
}

/**
 * Checks a key and returns its segments. Refuses empty keys, absolute paths (`/x`, `C:\x`, `\\host`), `.` and
 * `..` segments, empty segments (`a//b`), backslashes and control characters.
 */
export function validateKey(key: string): string[] {
  if (typeof key !== 'string' || key.length === 0) throw new StorageInvalidKeyError(String(key), 'empty');
  if (key.length > 1024) throw new StorageInvalidKeyError(key, 'longer than 1024 characters');
  if (key.startsWith('/')) throw new StorageInvalidKeyError(key, 'absolute path');
  if (/^[A-Za-z]:/.test(key)) throw new StorageInvalidKeyError(key, 'absolute path (drive letter)');
  if (key.includes('\\')) throw new StorageInvalidKeyError(key, 'backslash');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new StorageInvalidKeyError(key, 'control character');
  const segments = key.split('/');
  for (const segment of segments) {
    if (segment === '..') throw new StorageInvalidKeyError(key, 'parent-directory segment');
    if (segment === '.') throw new StorageInvalidKeyError(key, 'current-directory segment');
    if (segment === '') throw new StorageInvalidKeyError(key, 'empty segment');
  }
  return segments;
}

/** Checks a list prefix: empty is allowed, otherwise the same rules as keys except a trailing `/`. */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  validateKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

const CONTENT_TYPES: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  flac: 'audio/flac',
  m4a: 'audio/mp4',
  mp4: 'audio/mp4',
  aac: 'audio/aac',
  webm: 'audio/webm',
  gsm: 'audio/x-gsm',
  au: 'audio/basic',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
};

/** The Content-Type of a recording by its extension (`application/octet-stream` when unknown). */
export function contentTypeFor(key: string): string {
  const dot = key.lastIndexOf('.');
  if (dot < 0 || dot < key.lastIndexOf('/')) return 'application/octet-stream';
  return CONTENT_TYPES[key.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}
