import type { Readable } from 'node:stream';
import {
  type HealthStatus,
  type ListPage,
  type ObjectInfo,
  type StorageBackend,
  validateKey,
  validatePrefix,
  type WriteBody,
} from '../backend.js';
import { StorageNotFoundError } from '../errors.js';
import { bodyStream } from './body.js';

/**
 * A backend that stores nothing: writes consume and drop the body, reads and stats say not found, lists are
 * empty. For disabling a tier in configuration, and in tests.
 */
export class NoopBackend implements StorageBackend {
  readonly name: string;

  constructor(options: { name?: string } = {}) {
    this.name = options.name ?? 'noop';
  }

  async stat(key: string): Promise<ObjectInfo> {
    validateKey(key);
    throw new StorageNotFoundError(key);
  }

  async read(key: string): Promise<Readable> {
    validateKey(key);
    throw new StorageNotFoundError(key);
  }

  async write(key: string, body: WriteBody): Promise<ObjectInfo> {
    validateKey(key);
    let size = 0;
    for await (const chunk of bodyStream(body)) size += (chunk as Uint8Array).length;
    return { key, size, lastModified: new Date() };
  }

  async delete(key: string): Promise<boolean> {
    validateKey(key);
    return false;
  }

  async list(prefix: string): Promise<ListPage> {
    validatePrefix(prefix);
    return { items: [] };
  }

  async health(): Promise<HealthStatus> {
    return { ok: true, backend: this.name, detail: 'noop', latencyMs: 0 };
  }
}
