import { appendFile, mkdtemp, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../../../scripts/test-env.js';
import { type CdrRecord, CsvFollower, type CsvFollowerOptions, readCdrCsvConfig } from '../src/index.js';

const config = readCdrCsvConfig(fixture('fs-modules', 'config', 'cdr_csv.conf.xml').toString('utf8'));
/** The 22 real lines of a Master.csv, each with its newline. */
const lines = fixture('fs-modules', 'cdr_csv', 'Master.csv.2026-12-02-06-43-31')
  .toString('utf8')
  .split(/(?<=\n)/);
const uuidOf = (line: string) => line.match(/[0-9a-f]{8}-[0-9a-f-]{27}/)?.[0];

/** An idempotent store in memory that counts what it was given, and can be made to fail. */
class MemoryStore {
  readonly name = 'memory';
  readonly stored = new Map<string, CdrRecord>();
  down = false;
  async writeCounted(records: readonly CdrRecord[]): Promise<{ stored: number }> {
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    let n = 0;
    for (const r of records) {
      if (!this.stored.has(r.uuid)) {
        this.stored.set(r.uuid, r);
        n++;
      }
    }
    return { stored: n };
  }
  async write(records: readonly CdrRecord[]): Promise<void> {
    await this.writeCounted(records);
  }
}

describe('CsvFollower', () => {
  let dir: string;
  let master: string;
  let store: MemoryStore;
  let registry: Registry;
  const follower = (extra: Partial<CsvFollowerOptions> = {}) =>
    new CsvFollower({
      dir,
      config,
      node: 'fs1',
      timeZone: 'UTC',
      sink: store,
      stateFile: join(dir, '..', `${dir.split('/').pop()}.state.json`),
      registry,
      ...extra,
    });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cdr-follow-'));
    master = join(dir, 'Master.csv');
    store = new MemoryStore();
    registry = new Registry();
  });

  it('stores complete lines and leaves a line still being written for the next poll', async () => {
    const partial = lines[2] as string;
    await writeFile(master, `${lines[0]}${lines[1]}${partial.slice(0, 40)}`);
    const f = follower();
    await f.pollOnce();
    expect(store.stored.size).toBe(2);
    expect(f.position?.offset).toBe(Buffer.byteLength(`${lines[0]}${lines[1]}`));
    await appendFile(master, partial.slice(40));
    await f.pollOnce();
    expect([...store.stored.keys()]).toEqual(lines.slice(0, 3).map(uuidOf));
    expect(f.counts).toMatchObject({ imported: 3, duplicate: 0, refused: [] });
  });

  it('resumes from the saved offset after a restart, reading nothing twice', async () => {
    await writeFile(master, lines.slice(0, 5).join(''));
    await follower().pollOnce();
    await appendFile(master, lines.slice(5, 7).join(''));
    const again = follower();
    await again.pollOnce();
    expect(again.counts).toMatchObject({ read: 2, imported: 2, duplicate: 0 });
    expect(store.stored.size).toBe(7);
  });

  it("follows FreeSWITCH's rotation: the renamed file is read to its end, the new one from 0, each once", async () => {
    await writeFile(master, lines.slice(0, 3).join(''));
    const f = follower();
    await f.pollOnce();
    // Lines written after the last poll, then `cdr_csv rotate`: rename, and a new file at the name.
    await appendFile(master, lines.slice(3, 5).join(''));
    await rename(master, `${master}.2026-12-02-06-43-31`);
    await f.pollOnce(); // between the rename and the new file: nothing at the name
    expect(store.stored.size).toBe(5);
    await writeFile(master, lines.slice(5, 6).join(''));
    await f.pollOnce();
    await f.pollOnce();
    expect(store.stored.size).toBe(6);
    expect(f.counts).toMatchObject({ imported: 6, duplicate: 0 });
    expect(f.position?.imported).toEqual(['Master.csv.2026-12-02-06-43-31']);
    // A restarted follower does not read the rotated file again.
    const restarted = follower();
    await restarted.pollOnce();
    expect(restarted.counts.read).toBe(0);
  });

  it('finds a file logrotate renamed (any name) by its inode', async () => {
    await writeFile(master, lines.slice(0, 2).join(''));
    const f = follower();
    await f.pollOnce();
    await appendFile(master, lines[2] as string);
    await rename(master, `${master}.1`);
    await writeFile(master, lines[3] as string);
    await f.pollOnce();
    expect([...store.stored.keys()]).toEqual(lines.slice(0, 4).map(uuidOf));
  });

  it('reads rotated files that are there at the first start, in rotation order, once', async () => {
    await writeFile(`${master}.2026-12-02-06-45-00`, lines.slice(2, 4).join(''));
    await writeFile(`${master}.2026-12-02-06-40-00`, lines.slice(0, 2).join(''));
    await writeFile(master, lines[4] as string);
    const f = follower();
    await f.pollOnce();
    expect([...store.stored.keys()]).toEqual(lines.slice(0, 5).map(uuidOf));
    await f.pollOnce();
    expect(f.counts.read).toBe(5);
  });

  it('detects a truncated file, reports it, and reads the new content from the start', async () => {
    await writeFile(master, lines.slice(0, 4).join(''));
    const f = follower();
    await f.pollOnce();
    await truncate(master, 0);
    await writeFile(master, lines[10] as string);
    await f.pollOnce();
    expect(store.stored.has(uuidOf(lines[10] as string) as string)).toBe(true);
    const metric = await registry.getSingleMetricAsString('pbxkit_cdr_errors_total');
    expect(metric).toMatch(/component="csv_follower"} 1/);
  });

  it('keeps its offset while the store is down, and stores everything once it is back', async () => {
    await writeFile(master, lines.slice(0, 3).join(''));
    const f = follower();
    store.down = true;
    await expect(f.pollOnce()).rejects.toThrow(/ECONNREFUSED/);
    const state = JSON.parse(
      await readFile(join(dir, '..', `${dir.split('/').pop()}.state.json`), 'utf8').catch(
        () => '{"offset":0}',
      ),
    );
    expect(state.offset).toBe(0);
    store.down = false;
    await f.pollOnce();
    expect(store.stored.size).toBe(3);
  });

  it('refuses a line that does not fit the template, reports it, and goes on', async () => {
    const refused: unknown[] = [];
    await writeFile(master, `${lines[0]}garbage\n${lines[1]}`);
    const f = follower({ onRefused: (r) => refused.push(r) });
    await f.pollOnce();
    expect(store.stored.size).toBe(2);
    expect(refused).toEqual([expect.objectContaining({ line: 2, text: 'garbage' })]);
  });

  it('polls by itself after start() and stops cleanly', async () => {
    await writeFile(master, lines[0] as string);
    const f = follower({ pollMs: 20 });
    f.start();
    const deadline = Date.now() + 30_000;
    await appendFile(master, lines[1] as string);
    while (store.stored.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await f.stop();
    expect(store.stored.size).toBe(2);
  });
});
