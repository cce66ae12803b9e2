import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIndex } from '../src/archive/format.js';
import { CdrArchiveReader } from '../src/archive/reader.js';
import {
  type Cdr,
  openCrashStore,
  postConcurrently,
  ServiceProcess,
  type CrashStore as Store,
} from './crash-helpers.js';
import { makeCdr } from './dispatch-helpers.js';

describe('crash safety: kill -9 of the receiving process mid-load', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openCrashStore();
  });
  afterAll(async () => {
    await store?.close();
  });

  it('delivers every CDR that got a 2xx exactly once after restarts', { timeout: 180_000 }, async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'pbxkit-crash-spool-'));
    const env = { ...store.env, CRASH_SPOOL_DIR: spoolDir };
    const all: Cdr[] = Array.from({ length: 900 }, () => makeCdr(randomUUID(), 12 * 1024));
    const byUuid = new Map(all.map((c) => [c.uuid, c]));
    const everAcked = new Set<string>();
    let toSend: Cdr[] = all.slice(0, 300);
    let nextFresh = 300;
    const kills: Array<{ acked: number; notAcked: number; storedAtKill: number }> = [];

    // Three rounds end in a SIGKILL while 8 senders are posting; FreeSWITCH would retry what got no 2xx, and so
    // does the test in the following round, together with fresh CDRs.
    for (let round = 0; round < 3; round++) {
      const child = await ServiceProcess.start(env);
      let killed: Promise<number | null> | undefined;
      const killAt = 80 + round * 40;
      const result = await postConcurrently(child.url, toSend, {
        senders: 8,
        onAck: (n, stop) => {
          if (n === killAt && !killed) {
            killed = child.kill();
            stop();
          }
        },
      });
      expect(killed, 'the child was killed mid-load').toBeDefined();
      await killed;
      for (const u of result.acked) everAcked.add(u);
      kills.push({
        acked: result.acked.length,
        notAcked: result.notAcked.length,
        storedAtKill: (await store.uuids()).length,
      });
      toSend = [
        ...result.notAcked.map((u) => byUuid.get(u) as Cdr),
        ...all.slice(nextFresh, nextFresh + 200),
      ];
      nextFresh += 200;
    }

    // Last run: no kill. Re-post what never got a 2xx (and the rest), then let the backlog drain.
    const child = await ServiceProcess.start(env);
    const last = await postConcurrently(child.url, [...toSend, ...all.slice(nextFresh)], { senders: 8 });
    expect(last.notAcked).toEqual([]);
    for (const u of last.acked) everAcked.add(u);
    expect(await child.drain()).toBe(0);
    await child.close();

    const stored = await store.uuids();
    // Exactly once: no uuid twice.
    expect(stored.length).toBe(new Set(stored).size);
    const storedSet = new Set(stored);
    const lost = [...everAcked].filter((u) => !storedSet.has(u));
    expect(lost, 'acknowledged but not stored').toEqual([]);
    // Every CDR was acknowledged in the end, so the store holds exactly them.
    expect(everAcked.size).toBe(all.length);
    expect(storedSet).toEqual(new Set(all.map((c) => c.uuid)));
    // Every segment was spent and deleted.
    expect(readdirSync(join(spoolDir, 'segments'))).toEqual([]);
    expect(readdirSync(join(spoolDir, 'quarantine'))).toEqual([]);
    console.info(`crash test on PostgreSQL: ${JSON.stringify(kills)}`);
  });

  it('loses nothing and lists nothing twice when killed between archiving and leaving the spool', {
    timeout: 120_000,
  }, async () => {
    const spoolDir = mkdtempSync(join(tmpdir(), 'pbxkit-crash-spool-'));
    const archiveDir = mkdtempSync(join(tmpdir(), 'pbxkit-crash-archive-'));
    const env = { ...store.env, CRASH_SPOOL_DIR: spoolDir, CRASH_ARCHIVE_DIR: archiveDir };
    const cdrs: Cdr[] = Array.from({ length: 300 }, () => makeCdr(randomUUID(), 8 * 1024));
    const byUuid = new Map(cdrs.map((c) => [c.uuid, c]));

    // The child kills itself once its 5th group is archived, while 8 senders post.
    const first = await ServiceProcess.start({ ...env, CRASH_KILL_ON_ARCHIVED: '5' });
    const sent = await postConcurrently(first.url, cdrs, { senders: 8 });
    expect(await first.exited, 'the child killed itself (SIGKILL)').toBeNull();
    expect(sent.notAcked.length, 'the kill came mid-load').toBeGreaterThan(0);

    const second = await ServiceProcess.start(env);
    const rest = await postConcurrently(
      second.url,
      sent.notAcked.map((u) => byUuid.get(u) as Cdr),
      { senders: 8 },
    );
    expect(rest.notAcked).toEqual([]);
    expect(await second.drain()).toBe(0);
    await second.close();

    // The group archived just before the kill was still in the spool, so it was archived again on restart.
    const day = readdirSync(archiveDir).find((f) => f.endsWith('.idx')) as string;
    const raw = parseIndex(day.slice(0, 10), readFileSync(join(archiveDir, day), 'utf8'));
    expect(raw.length, 'some entries are in the archive twice').toBeGreaterThan(
      new Set(raw.map((e) => e.id)).size,
    );
    // A selection lists every CDR once, each with its XML; and the store has each once.
    const reader = new CdrArchiveReader(archiveDir);
    const listed = await reader.list({});
    expect(listed.map((e) => e.uuid).sort()).toEqual(cdrs.map((c) => c.uuid).sort());
    for await (const cdr of reader.read(listed)) expect(cdr.xml === byUuid.get(cdr.uuid)?.xml).toBe(true);
    const stored = (await store.uuids()).filter((u) => byUuid.has(u));
    expect(stored.length).toBe(cdrs.length);
    expect(new Set(stored).size).toBe(cdrs.length);
    expect(readdirSync(join(spoolDir, 'segments'))).toEqual([]);
  });
});
