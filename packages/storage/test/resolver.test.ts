import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkTierOrder,
  FUSIONPBX_KEY_TEMPLATE,
  LocalFsBackend,
  type LocationIndex,
  MemoryLocationIndex,
  type ObjectInfo,
  type RecordingRef,
  renderKey,
  type StorageBackend,
  StorageConfigError,
  StorageUnavailableError,
  TieredRecordingResolver,
  type TierName,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const UUID = '5c7b0f0e-1111-4222-8333-444455556666';
const NOW = new Date('2026-11-23T12:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);

describe('renderKey', () => {
  const ref: RecordingRef = {
    uuid: UUID,
    domain: 'pbx.example.com',
    callStart: new Date('2026-03-05T23:30:00Z'),
  };
  it('renders FusionPBX layout', () => {
    expect(renderKey(FUSIONPBX_KEY_TEMPLATE, ref)).toBe(`pbx.example.com/archive/2026/Mar/05/${UUID}.wav`);
    expect(renderKey('{YYYY}/{MM}/{DD}/{HH}/{uuid}.{ext}', { ...ref, name: `${UUID}.mp3` })).toBe(
      `2026/03/05/23/${UUID}.mp3`,
    );
  });
  it('uses the time zone given', () => {
    expect(renderKey('{YYYY}-{Mon}-{DD}', ref, 'Asia/Tokyo')).toBe('2026-Mar-06');
  });
  it('answers undefined when a token is unknown for the reference', () => {
    expect(renderKey(FUSIONPBX_KEY_TEMPLATE, { uuid: UUID })).toBeUndefined();
    expect(() => renderKey('{nope}', ref)).toThrow(TypeError);
  });
});

/** Counts stats; `down` makes every call fail as unavailable. */
class Spy implements StorageBackend {
  stats: string[] = [];
  down = false;
  constructor(readonly inner: StorageBackend) {}
  get name() {
    return this.inner.name;
  }
  get root() {
    return (this.inner as LocalFsBackend).root;
  }
  async stat(key: string): Promise<ObjectInfo> {
    this.stats.push(key);
    if (this.down) throw new StorageUnavailableError(this.name, 'down');
    return this.inner.stat(key);
  }
  read: StorageBackend['read'] = (k, o) => this.inner.read(k, o);
  write: StorageBackend['write'] = (k, b, o) => this.inner.write(k, b, o);
  delete: StorageBackend['delete'] = (k) => this.inner.delete(k);
  list: StorageBackend['list'] = (p, o) => this.inner.list(p, o);
  health: StorageBackend['health'] = () => this.inner.health();
  presignGet = async (key: string) => `https://s3.example/${key}?sig`;
}

describe('TieredRecordingResolver', () => {
  let cleanup: () => Promise<void>;
  let local: Spy;
  let archive: Spy;
  let peer: Spy;
  let refs: Map<string, RecordingRef>;
  let index: MemoryLocationIndex;
  let localRoot: string;

  const make = (extra: Partial<ConstructorParameters<typeof TieredRecordingResolver>[0]> = {}) =>
    new TieredRecordingResolver({
      locator: { locate: async (uuid) => refs.get(uuid) },
      local: { backend: local },
      archive: { backend: archive, key: '{domain}/{YYYY}/{MM}/{DD}/{name}' },
      peers: [{ backend: peer, instanceId: 'pbx-b' }],
      localDays: 5,
      instanceId: 'pbx-a',
      now: () => NOW,
      index,
      ...extra,
    });

  beforeEach(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    localRoot = join(t.dir, 'local');
    for (const d of ['local', 'archive', 'peer']) await mkdir(join(t.dir, d));
    local = new Spy(new LocalFsBackend({ root: localRoot, name: 'local' }));
    archive = new Spy(new LocalFsBackend({ root: join(t.dir, 'archive'), name: 's3' }));
    peer = new Spy(new LocalFsBackend({ root: join(t.dir, 'peer'), name: 'peer:pbx-b' }));
    refs = new Map();
    index = new MemoryLocationIndex();
  });
  afterEach(() => cleanup());

  const localKey = (d: Date) =>
    renderKey(FUSIONPBX_KEY_TEMPLATE, { uuid: UUID, domain: 'd.example', callStart: d }) as string;
  const archiveKey = (d: Date) =>
    renderKey('{domain}/{YYYY}/{MM}/{DD}/{name}', {
      uuid: UUID,
      domain: 'd.example',
      callStart: d,
    }) as string;

  it('a recent call is looked for on local disk first', async () => {
    const start = daysAgo(1);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    await local.write(localKey(start), 'L');
    await archive.write(archiveKey(start), 'A');
    const found = await make({ index: undefined }).resolve(UUID);
    expect(found?.tier).toBe('local');
    expect(archive.stats).toEqual([]);
  });

  it('an old call is looked for in the archive first (by call start, not file mtime)', async () => {
    const start = daysAgo(30);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    await local.write(localKey(start), 'L'); // fresh mtime, old call
    await archive.write(archiveKey(start), 'A');
    const found = await make({ index: undefined }).resolve(UUID);
    expect(found?.tier).toBe('s3');
    expect(local.stats).toEqual([]);
  });

  it('falls back to the other tier, then to peers', async () => {
    const old = daysAgo(30);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: old });
    await local.write(localKey(old), 'L'); // not archived yet
    expect((await make().resolve(UUID))?.tier).toBe('local');

    const other = 'aaaaaaaa-1111-4222-8333-444455556666';
    refs.set(other, { uuid: other, domain: 'd.example', callStart: daysAgo(1) });
    await peer.write(renderKey(FUSIONPBX_KEY_TEMPLATE, refs.get(other) as RecordingRef) as string, 'P');
    const found = await make().resolve(other);
    expect(found?.tier).toBe('peer:pbx-b');
    expect(await index.lookup(other)).toMatchObject([{ tier: 'local', instanceId: 'pbx-b' }]);
  });

  it('tierOrder local,peers,archive: a recent call on a peer costs no archive probe', async () => {
    const recent = daysAgo(1);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: recent });
    await peer.write(localKey(recent), 'P');
    const defaultOrder = await make({ index: undefined }).resolve(UUID);
    expect(defaultOrder?.tier).toBe('peer:pbx-b');
    expect(archive.stats).toEqual([archiveKey(recent)]); // today's fixed order asks S3 first
    archive.stats = [];
    const ordered = make({ index: undefined, tierOrder: ['local', 'peers', 'archive'] });
    expect((await ordered.resolve(UUID))?.tier).toBe('peer:pbx-b');
    expect(archive.stats).toEqual([]);
    expect(local.stats).toEqual([localKey(recent), localKey(recent)]);
  });

  it('old calls follow oldCallTierOrder, by default the archive first and then tierOrder', async () => {
    const old = daysAgo(30);
    const ref = { uuid: UUID, domain: 'd.example', callStart: old };
    const names = (r: TieredRecordingResolver) => r.order(ref).map((t) => (t as { name: string }).name);
    expect(names(make())).toEqual(['archive', 'local', 'local']);
    expect(names(make({ tierOrder: ['peers', 'local', 'archive'] }))).toEqual(['archive', 'local', 'local']);
    const peersFirst = make({ tierOrder: ['peers', 'local', 'archive'] }).order(ref);
    expect(peersFirst.map((t) => (t as { backend: StorageBackend }).backend.name)).toEqual([
      's3',
      'peer:pbx-b',
      'local',
    ]);
    const explicit = make({ oldCallTierOrder: ['local', 'peers', 'archive'] }).order(ref);
    expect(explicit.map((t) => (t as { backend: StorageBackend }).backend.name)).toEqual([
      'local',
      'peer:pbx-b',
      's3',
    ]);
  });

  it('a tier order must name every tier once (a tier left out would turn its recordings into 404s)', () => {
    const cases: Array<[string[], RegExp]> = [
      [['local', 'peers'], /leaves out archive/],
      [['local', 'peers', 'archive', 'local'], /"local" is listed twice/],
      [['local', 'peer', 's3'], /unknown tier "peer"/],
    ];
    for (const [order, message] of cases) {
      let err: unknown;
      try {
        make({ tierOrder: order as TierName[] });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StorageConfigError);
      expect(err).toMatchObject({ code: 'STORAGE_CONFIG', variable: 'tierOrder' });
      expect((err as Error).message).toMatch(message);
    }
    expect(checkTierOrder([' S3', 'local ', 'peers'], 'X')).toEqual(['archive', 'local', 'peers']);
  });

  it('404 (undefined) when no tier has it; 503 when a tier could not say', async () => {
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: daysAgo(1) });
    expect(await make().resolve(UUID)).toBeUndefined();
    expect(await make().resolve('unknown-call')).toBeUndefined();
    archive.down = true;
    await expect(make().resolve(UUID)).rejects.toThrow(StorageUnavailableError);
  });

  it('consults the index first and goes straight to the tier it names', async () => {
    const start = daysAgo(1);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    await archive.write('moved/elsewhere.wav', 'A');
    await index.record({ uuid: UUID, tier: 'archive', instanceId: '', key: 'moved/elsewhere.wav' });
    const found = await make().resolve(UUID);
    expect(found).toMatchObject({ tier: 's3', key: 'moved/elsewhere.wav' });
    expect(local.stats).toEqual([]);
  });

  it('a stale index entry is forgotten, the tiers are probed, and the hit is recorded', async () => {
    const start = daysAgo(1);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    await local.write(localKey(start), 'L');
    await index.record({ uuid: UUID, tier: 'archive', instanceId: '', key: 'gone.wav' });
    const found = await make().resolve(UUID);
    expect(found?.tier).toBe('local');
    expect(await index.lookup(UUID)).toMatchObject([
      { tier: 'local', instanceId: 'pbx-a', key: localKey(start) },
    ]);
  });

  it('works when the index itself fails', async () => {
    const start = daysAgo(1);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    await local.write(localKey(start), 'L');
    const broken: LocationIndex = {
      lookup: async () => {
        throw new Error('db down');
      },
      record: async () => {
        throw new Error('db down');
      },
      forget: async () => {},
    };
    expect((await make({ index: broken }).resolve(UUID))?.tier).toBe('local');
  });

  it('uses the path the switch wrote when it lies under the local root', async () => {
    refs.set(UUID, {
      uuid: UUID,
      path: join(localRoot, 'custom', 'dir'),
      name: `${UUID}.mp3`,
      callStart: daysAgo(1),
    });
    await local.write(`custom/dir/${UUID}.mp3`, 'L');
    expect(await make().resolve(UUID)).toMatchObject({ tier: 'local', key: `custom/dir/${UUID}.mp3` });
  });

  it('finds a recording stored directly in the local root, when record_path is the root itself', async () => {
    // FreeSWITCH's default recordings_dir: FusionPBX may record straight into it, and the CDR says so.
    for (const path of [localRoot, `${localRoot}/`]) {
      const uuid = path === localRoot ? UUID : 'bbbbbbbb-1111-4222-8333-444455556666';
      refs.set(uuid, {
        uuid,
        path,
        name: `${uuid}.wav`,
        domain: 'd.example',
        callStart: daysAgo(1),
      });
      await writeFile(join(localRoot, `${uuid}.wav`), 'recorded in the root');
      const found = await make().resolve(uuid);
      expect(found, path).toMatchObject({ tier: 'local', key: `${uuid}.wav`, info: { size: 20 } });
    }
  });

  it('localKey: the path the switch wrote under the local root, else the local template; none without a date', () => {
    const resolver = make();
    expect(resolver.localKey({ uuid: UUID, path: `${localRoot}/a/b`, name: `${UUID}.mp3` })).toBe(
      `a/b/${UUID}.mp3`,
    );
    expect(resolver.localKey({ uuid: UUID, domain: 'd.example', callStart: daysAgo(1) })).toBe(
      localKey(daysAgo(1)),
    );
    expect(resolver.localKey({ uuid: UUID, domain: 'd.example' })).toBeUndefined();
    expect(
      make({ local: undefined }).localKey({ uuid: UUID, path: localRoot, name: 'x.wav' }),
    ).toBeUndefined();
  });

  it('answers archive hits with a presigned URL when asked', async () => {
    const start = daysAgo(30);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    await archive.write(archiveKey(start), 'A');
    const found = await make({ presign: { expiresInSeconds: 60 } }).resolve(UUID);
    expect(found?.url).toBe(`https://s3.example/${archiveKey(start)}?sig`);
  });

  it('with cacheTtlMs, the requests of one playback cost one locator query and one probe, until the TTL', async () => {
    const start = daysAgo(30);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    await archive.write(archiveKey(start), 'A');
    let clock = NOW.getTime();
    let located = 0;
    const resolver = make({
      index: undefined,
      cacheTtlMs: 30_000,
      now: () => new Date(clock),
      locator: {
        locate: async (uuid) => {
          located++;
          return refs.get(uuid);
        },
      },
    });
    for (let seek = 0; seek < 5; seek++) expect((await resolver.resolve(UUID))?.tier).toBe('s3');
    expect(located).toBe(1);
    expect(archive.stats).toHaveLength(1);

    clock += 30_001; // the TTL ran out: look again
    expect((await resolver.resolve(UUID))?.tier).toBe('s3');
    expect(located).toBe(2);

    resolver.invalidate(UUID); // the handler found it gone: look again now
    expect((await resolver.resolve(UUID))?.tier).toBe('s3');
    expect(located).toBe(3);
    expect(archive.stats).toHaveLength(3);
  });

  it('a remembered resolver never remembers a miss, nor a presigned URL', async () => {
    const start = daysAgo(30);
    refs.set(UUID, { uuid: UUID, domain: 'd.example', callStart: start });
    const resolver = make({ index: undefined, cacheTtlMs: 30_000 });
    expect(await resolver.resolve(UUID)).toBeUndefined();
    await archive.write(archiveKey(start), 'A'); // the recording lands after the first request
    expect((await resolver.resolve(UUID))?.tier).toBe('s3');

    const presigning = make({ index: undefined, cacheTtlMs: 30_000, presign: { expiresInSeconds: 60 } });
    const before = archive.stats.length;
    await presigning.resolve(UUID);
    await presigning.resolve(UUID);
    expect(archive.stats.length - before).toBe(2);
  });
});
