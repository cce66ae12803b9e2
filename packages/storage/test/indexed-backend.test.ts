import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  indexedBackend,
  LocalFsBackend,
  type LocationEntry,
  type LocationIndex,
  MemoryLocationIndex,
  TieredRecordingResolver,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function localRoot(): Promise<string> {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  return dir;
}

describe('indexedBackend: writes keep the location index in step', () => {
  it('records what is written and forgets what is deleted, so the resolver finds a recording no template predicts', async () => {
    const index = new MemoryLocationIndex();
    const local = indexedBackend(new LocalFsBackend({ root: await localRoot() }), {
      index,
      tier: 'local',
      instanceId: 'pbx-a',
    });
    const uuid = randomUUID();
    const key = `imported/queue-7/${uuid}.wav`;
    await local.write(key, Buffer.alloc(3000, 1));
    await local.write('notes/readme.txt', 'no uuid in this name');
    expect(await index.lookup(uuid)).toMatchObject([
      { uuid, tier: 'local', instanceId: 'pbx-a', key, size: 3000 },
    ]);

    // No locator and a key outside the FusionPBX layout: only the index can know where it is.
    const resolver = new TieredRecordingResolver({ local: { backend: local }, index, instanceId: 'pbx-a' });
    const found = await resolver.resolve(uuid);
    expect(found?.key).toBe(key);
    expect(found?.info?.size).toBe(3000);

    expect(await local.delete(key)).toBe(true);
    expect(await index.lookup(uuid)).toEqual([]);
    expect(await resolver.resolve(uuid)).toBeUndefined();
  });

  it('stores the object even when the index cannot be updated (it is a cache)', async () => {
    const broken: LocationIndex = {
      lookup: async () => [] as LocationEntry[],
      record: async () => {
        throw new Error('index database down');
      },
      forget: async () => {
        throw new Error('index database down');
      },
    };
    const root = await localRoot();
    const local = indexedBackend(new LocalFsBackend({ root }), { index: broken, tier: 'local' });
    const key = `${randomUUID()}.wav`;
    expect((await local.write(key, 'audio')).size).toBe(5);
    expect((await new LocalFsBackend({ root }).stat(key)).size).toBe(5);
    expect(await local.delete(key)).toBe(true);
  });
});
