import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Registry } from '@pbxkit/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  Archiver,
  type ArchiverOptions,
  LocalFsBackend,
  MemoryLocationIndex,
  type ObjectInfo,
  type RecordingRef,
  type WriteBody,
  type WriteOptions,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const NOW = new Date(Date.now() + 1000);
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);
const uuid = (n: number) => `0000000${n}-1111-4222-8333-444455556666`;

/** A target that can corrupt what it stores and counts writes. */
class Target extends LocalFsBackend {
  writes = 0;
  corrupt = false;
  override async write(key: string, body: WriteBody, options?: WriteOptions): Promise<ObjectInfo> {
    this.writes++;
    if (!this.corrupt) return super.write(key, body, options);
    const chunks: Buffer[] = [];
    for await (const c of body as Readable) chunks.push(c as Buffer);
    const all = Buffer.concat(chunks);
    all[0] = (all[0] ?? 0) ^ 0xff;
    return super.write(key, all, options);
  }
}

describe('Archiver (local disk → a second file system standing in for S3)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let source: LocalFsBackend;
  let target: Target;
  let refs: Map<string, RecordingRef>;
  let index: MemoryLocationIndex;

  const make = (extra: Partial<ArchiverOptions> = {}) =>
    new Archiver({
      source,
      target,
      journalPath: join(dir, 'archiver.journal'),
      olderThanDays: 5,
      locator: { locate: async (u) => refs.get(u) },
      index,
      instanceId: 'pbx-a',
      now: () => new Date(Date.now() + 1000),
      minFileAgeMs: 0,
      ...extra,
    });

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    source = new LocalFsBackend({ root: join(dir, 'local') });
    target = new Target({ root: join(dir, 's3') });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'local'));
    await mkdir(join(dir, 's3'));
    refs = new Map();
    index = new MemoryLocationIndex();
    for (let i = 1; i <= 4; i++) {
      await source.write(`d/${uuid(i)}.wav`, `recording ${i}`.repeat(1000));
      refs.set(uuid(i), { uuid: uuid(i), callStart: daysAgo(i <= 2 ? 10 : 1) });
    }
  });
  afterEach(() => cleanup());

  it('moves calls older than N days (by call start): upload, verify, record, delete; keeps young ones', async () => {
    const steps: string[] = [];
    const archiver = make();
    archiver.on('progress', (p) => steps.push(`${p.step}:${p.key.slice(2, 10)}`));
    const report = await archiver.run();
    expect(report).toMatchObject({ archived: 2, scanned: 4, failed: [] });
    expect(report.bytes).toBe(2 * 'recording 1'.length * 1000);
    for (const i of [1, 2]) {
      await expect(source.stat(`d/${uuid(i)}.wav`)).rejects.toThrow();
      expect(await readFile(join(dir, 's3', `d/${uuid(i)}.wav`), 'utf8')).toBe(`recording ${i}`.repeat(1000));
      const [entry] = await index.lookup(uuid(i));
      expect(entry).toMatchObject({ tier: 'archive', key: `d/${uuid(i)}.wav` });
      expect(entry?.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    for (const i of [3, 4]) expect((await source.stat(`d/${uuid(i)}.wav`)).size).toBeGreaterThan(0);
    expect(steps.filter((s) => s.endsWith(uuid(1).slice(0, 8)))).toEqual([
      `uploading:${uuid(1).slice(0, 8)}`,
      `verified:${uuid(1).slice(0, 8)}`,
      `deleted:${uuid(1).slice(0, 8)}`,
    ]);
    expect(await readFile(join(dir, 'archiver.journal'), 'utf8')).toBe(''); // compacted
  });

  it('falls back to the file mtime when the CDR is unknown', async () => {
    refs.clear();
    const old = daysAgo(20);
    await utimes(join(dir, 'local', `d/${uuid(3)}.wav`), old, old);
    const report = await make().run();
    expect(report.archived).toBe(1);
    await expect(source.stat(`d/${uuid(3)}.wav`)).rejects.toThrow();
  });

  it('keep mode copies without deleting; dry run touches nothing', async () => {
    const dry = await make({ dryRun: true }).run();
    expect(dry.planned.sort()).toEqual([`d/${uuid(1)}.wav`, `d/${uuid(2)}.wav`]);
    expect(target.writes).toBe(0);
    const report = await make({ deleteAfterVerify: false }).run();
    expect(report.archived).toBe(2);
    expect((await source.stat(`d/${uuid(1)}.wav`)).size).toBeGreaterThan(0);
    expect((await target.stat(`d/${uuid(1)}.wav`)).size).toBeGreaterThan(0);
  });

  it('a corrupted upload fails verification and the local file stays', async () => {
    target.corrupt = true;
    const failures: string[] = [];
    const archiver = make();
    archiver.on('failed', (f) => failures.push(f.error.message));
    const report = await archiver.run();
    expect(report.archived).toBe(0);
    expect(report.failed).toHaveLength(2);
    expect(failures[0]).toMatch(/read back sha256/);
    expect((await source.stat(`d/${uuid(1)}.wav`)).size).toBeGreaterThan(0);
    expect(await index.lookup(uuid(1))).toEqual([]);
    target.corrupt = false;
    expect((await make().run()).archived).toBe(2); // the next run redoes them
  });

  it('archives young recordings early, oldest first, while the disk is above the threshold', async () => {
    const report = await make({ diskPressure: { path: dir, usedPercent: 0 } }).run();
    expect(report.archived).toBe(4);
    const none = await make({ diskPressure: { path: dir, usedPercent: 100 } }).run();
    expect(none.archived).toBe(0);
  });

  it('leaves files that are still being written (mtime too recent)', async () => {
    refs.set(uuid(5), { uuid: uuid(5), callStart: daysAgo(10) });
    await source.write(`d/${uuid(5)}.wav`, 'fresh');
    for (const i of [1, 2]) await utimes(join(dir, 'local', `d/${uuid(i)}.wav`), daysAgo(10), daysAgo(10));
    const report = await make({ minFileAgeMs: 60_000, now: () => new Date() }).run();
    expect(report.archived).toBe(2);
    expect((await source.stat(`d/${uuid(5)}.wav`)).size).toBe(5);
  });

  it('resumes from the journal: a verified entry whose source is gone is done; a begun one is redone', async () => {
    const journal = join(dir, 'archiver.journal');
    const line = (key: string, step: string) =>
      JSON.stringify({ key, targetKey: key, step, size: 1, mtimeMs: 0, uuid: uuid(3) });
    // uuid(3) is young: only the journal makes this run archive it. A torn line from a crash is ignored.
    await writeFile(
      journal,
      `${line('d/gone.wav', 'begin')}\n${line('d/gone.wav', 'verified')}\n${line(`d/${uuid(3)}.wav`, 'begin')}\n{"key":"d/x`,
    );
    const report = await make().run();
    expect(report.failed).toEqual([]);
    expect(report.resumed).toBe(2);
    expect(report.archived).toBe(3);
    await expect(source.stat(`d/${uuid(3)}.wav`)).rejects.toThrow();
    expect((await target.stat(`d/${uuid(3)}.wav`)).size).toBeGreaterThan(0);
  });

  it('status() tells the last pass (result, counts, error) and the schedule; the pass is logged and exported', async () => {
    const registry = new Registry();
    const logged: Array<{ obj: unknown; msg: string | undefined }> = [];
    const log = (obj: unknown, msg?: string) => logged.push({ obj, msg });
    const logger = {
      trace: log,
      debug: log,
      info: log,
      warn: log,
      error: log,
      fatal: log,
      child: () => logger,
    };
    const archiver = make({ registry, logger });
    expect(archiver.status()).toEqual({ running: false, scheduled: false });
    const reported = new Promise((resolve) => archiver.once('report', resolve));
    archiver.start({ intervalMs: 3_600_000 });
    expect(archiver.status()).toMatchObject({ running: true, scheduled: true });
    await reported;
    const status = archiver.status();
    expect(status).toMatchObject({
      running: false,
      scheduled: true,
      lastRun: { result: 'ok', scanned: 4, archived: 2, failed: 0, skipped: 0 },
    });
    expect(status.nextRunAt?.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(logged.find((l) => l.msg === 'archiver pass finished')?.obj).toMatchObject({ archived: 2 });
    const text = await registry.metrics();
    expect(text).toMatch(/pbxkit_storage_archive_last_run_timestamp_seconds\{result="ok"\} \d/);
    expect(text).toContain('pbxkit_storage_archive_last_run_files{outcome="archived"} 2');
    await archiver.stop();
    expect(archiver.status()).toMatchObject({ running: false, scheduled: false });
    expect(archiver.status().nextRunAt).toBeUndefined();

    // A pass that fails as a whole: the source cannot be listed.
    vi.spyOn(source, 'list').mockRejectedValue(new Error('EIO: listing failed'));
    await expect(archiver.run()).rejects.toThrow(/EIO/);
    expect(archiver.status().lastRun).toMatchObject({
      result: 'failed',
      archived: 0,
      error: 'EIO: listing failed',
    });
    expect(await registry.metrics()).toMatch(
      /pbxkit_storage_archive_last_run_timestamp_seconds\{result="failed"\} \d/,
    );
  });
});

describe('Archiver with an unreadable body', () => {
  it('keeps the file when the upload fails midway', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(dir, 'l'));
      await mkdir(join(dir, 't'));
      const source = new LocalFsBackend({ root: join(dir, 'l') });
      await source.write(`${uuid(1)}.wav`, 'x'.repeat(1000));
      class Broken extends LocalFsBackend {
        override async write(): Promise<ObjectInfo> {
          throw new Error('connection reset');
        }
      }
      const archiver = new Archiver({
        source,
        target: new Broken({ root: join(dir, 't') }),
        journalPath: join(dir, 'j'),
        olderThanDays: 0,
        minFileAgeMs: 0,
      });
      const report = await archiver.run();
      expect(report.failed).toEqual([{ key: `${uuid(1)}.wav`, error: 'connection reset' }]);
      expect((await source.stat(`${uuid(1)}.wav`)).size).toBe(1000);
      expect(Readable).toBeDefined();
    } finally {
      await cleanup();
    }
  });
});

describe('Archiver schedule', () => {
  it('start() runs a pass at once and on an interval; stop() ends it and awaits the pass in flight', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(dir, 'l'));
      await mkdir(join(dir, 't'));
      const source = new LocalFsBackend({ root: join(dir, 'l') });
      await source.write(`${uuid(1)}.wav`, 'one');
      const archiver = new Archiver({
        source,
        target: new LocalFsBackend({ root: join(dir, 't') }),
        journalPath: join(dir, 'j'),
        olderThanDays: 0,
        minFileAgeMs: 0,
      });
      const reports: number[] = [];
      archiver.on('report', (r) => reports.push(r.archived));
      /** Resolves at the next report (the schedule's clock is ours: timers move only when the test says). */
      const nextReport = () => new Promise<void>((resolve) => archiver.once('report', () => resolve()));
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      let first = nextReport();
      archiver.start({ intervalMs: 60_000 });
      archiver.start({ intervalMs: 60_000 }); // idempotent: one schedule
      await first; // the pass at once
      // The next pass is scheduled in the microtasks after the report: one turn of the event loop runs them.
      await new Promise((resolve) => setImmediate(resolve));
      expect(reports).toEqual([1]);
      expect(vi.getTimerCount()).toBe(1); // the next pass is scheduled, once

      await source.write(`${uuid(2)}.wav`, 'two');
      first = nextReport();
      await vi.advanceTimersByTimeAsync(60_000);
      await first; // picked up by the scheduled pass
      expect(reports).toEqual([1, 1]);

      await archiver.stop();
      expect(vi.getTimerCount()).toBe(0); // nothing left to run
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      expect(reports).toEqual([1, 1]); // stopped
    } finally {
      vi.useRealTimers();
      await cleanup();
    }
  });
});
