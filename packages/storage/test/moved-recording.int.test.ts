import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRecordingsHandler,
  FUSIONPBX_KEY_TEMPLATE,
  LocalFsBackend,
  type RecordingRef,
  type RecordingSource,
  renderKey,
  TieredRecordingResolver,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';

const UUID = '0b1c2d3e-4f50-4617-8283-949596979899';
const NOW = new Date('2026-11-24T12:00:00Z');
const START = new Date(NOW.getTime() - 6 * 86_400_000); // older than localDays: archive first, local second
const ARCHIVE_TEMPLATE = '{domain}/{YYYY}/{MM}/{DD}/{name}';
const ref: RecordingRef = { uuid: UUID, domain: 'd.example', callStart: START };
const localKey = renderKey(FUSIONPBX_KEY_TEMPLATE, ref) as string;
const archiveKey = renderKey(ARCHIVE_TEMPLATE, ref) as string;
const audio = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));

/**
 * The archiver moves a recording (copy to the archive, then delete the local file) while a player is using it:
 * the handler must find it in its new place, not answer 404 for a recording that exists.
 */
describe('a recording moved while it is being listened to', () => {
  let cleanup: () => Promise<void>;
  let local: LocalFsBackend;
  let archive: LocalFsBackend;
  let servers: Array<() => Promise<void>>;

  beforeEach(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    for (const d of ['local', 'archive']) await mkdir(join(t.dir, d));
    local = new LocalFsBackend({ root: join(t.dir, 'local'), name: 'local' });
    archive = new LocalFsBackend({ root: join(t.dir, 'archive'), name: 's3' });
    servers = [];
  });
  afterEach(async () => {
    for (const close of servers) await close();
    await cleanup();
  });

  const resolverWith = (cacheTtlMs: number) =>
    new TieredRecordingResolver({
      locator: { locate: async (uuid) => (uuid === UUID ? ref : undefined) },
      local: { backend: local },
      archive: { backend: archive, key: ARCHIVE_TEMPLATE },
      localDays: 5,
      cacheTtlMs,
      now: () => NOW,
    });

  const serve = async (source: RecordingSource): Promise<string> => {
    const server = await listen((req, res) => void createRecordingsHandler({ source })(req, res));
    servers.push(server.close);
    return `${server.url}/recordings/${UUID}`;
  };

  const moveToArchive = async (): Promise<void> => {
    await archive.write(archiveKey, audio);
    expect(await local.delete(localKey)).toBe(true);
  };

  it('after the resolver remembered the local copy: the next seek is served from the archive', async () => {
    await local.write(localKey, audio);
    const resolver = resolverWith(30_000);
    const url = await serve(resolver);
    const first = await get(url, { headers: { Range: 'bytes=0-9999' } });
    expect(first.status).toBe(206);
    expect((await resolver.resolve(UUID))?.tier).toBe('local'); // remembered

    await moveToArchive();
    const seek = await get(url, { headers: { Range: 'bytes=60000-69999' } });
    expect(seek.status).toBe(206);
    expect(seek.body.equals(audio.subarray(60_000, 70_000))).toBe(true);
    expect((await resolver.resolve(UUID))?.tier).toBe('s3');
  });

  it('moved between resolving and reading, without any cache: still 200 with every byte', async () => {
    await local.write(localKey, audio);
    const resolver = resolverWith(0);
    let moved = false;
    const url = await serve({
      resolve: async (uuid) => {
        const found = await resolver.resolve(uuid);
        if (!moved) {
          moved = true;
          await moveToArchive(); // the archiver runs right after the resolver looked
        }
        return found;
      },
    });
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.complete).toBe(true);
    expect(res.body.equals(audio)).toBe(true);
  });

  it('gone from every tier: 404 with its reason', async () => {
    await local.write(localKey, audio);
    const resolver = resolverWith(30_000);
    const url = await serve(resolver);
    expect((await get(url)).status).toBe(200);
    expect(await local.delete(localKey)).toBe(true);
    const res = await get(url);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'not_found' });
  });
});
