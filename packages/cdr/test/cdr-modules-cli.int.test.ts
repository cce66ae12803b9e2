import { appendFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR, fixture } from '../../../scripts/test-env.js';
import { csvFollowCommand } from '../src/cli/module-commands.js';
import { runCli } from '../src/index.js';
import { ownDatabase } from './own-database.js';

const mods = join(FIXTURES_DIR, 'fs-modules');
const csvConfig = join(mods, 'config', 'cdr_csv.conf.xml');
const pgConfig = join(mods, 'config', 'cdr_pg_csv.conf.xml');

function io(tty = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t), isTTY: tty },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('pbxkit-cdr csv-import, csv-follow, pg-csv-spool', () => {
  let db: Awaited<ReturnType<typeof ownDatabase>>;
  const q = async (sql: string) => (await db.pool.query(sql)).rows;
  const common = () => ['--node', 'fs1', '--into', db.url, '--time-zone', 'UTC'];

  beforeAll(async () => {
    db = await ownDatabase('cli');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('csv-import imports files with a progress bar and prints the counts', async () => {
    const run = io(true);
    const code = await runCli(
      [
        'csv-import',
        join(mods, 'cdr_csv', 'Master.csv.2026-12-02-06-43-31'),
        '--config',
        csvConfig,
        ...common(),
      ],
      run.io,
    );
    expect(run.out()).toMatch(/^22 read: 22 imported, 0 duplicate, 0 refused \([\d.]+ s, \d+ lines\/s\)\n$/);
    expect(code).toBe(0);
    expect(run.err()).toMatch(/\[#{30}\] 100% 22 lines\n$/);
    expect((await q("select count(*)::int as n from pbxkit_cdr_node where node = 'fs1'"))[0]?.n).toBe(22);
  });

  it('pg-csv-spool imports both spools into v_xml_cdr, and lists what it refused (exit 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-spool-'));
    const bad = join(dir, 'cdr-spool.csv.2026-12-01-00-00-00');
    await writeFile(bad, "'only','two'\n");
    const run = io();
    const code = await runCli(
      [
        'pg-csv-spool',
        join(mods, 'cdr_pg_csv', 'cdr-spool.csv'),
        join(mods, 'cdr_pg_csv', 'cdr-spool.sql'),
        bad,
        '--config',
        pgConfig,
        ...common(),
      ],
      run.io,
    );
    expect(code).toBe(1);
    expect(run.out()).toContain('33 read: 32 imported, 0 duplicate, 1 refused');
    expect(run.out()).toContain(`REFUSED ${bad}:1: 2 values but the schema has 16 fields`);
    // The rotated file first, then the live ones.
    expect(run.out().indexOf(bad)).toBeLessThan(run.out().indexOf('cdr-spool.csv ('));
  });

  it('names what is missing on the command line (exit 2)', async () => {
    const run = io();
    expect(await runCli(['csv-import', 'x.csv', '--node', 'n', '--into', db.url], run.io)).toBe(2);
    expect(run.err()).toMatch(/csv-import: --config is required/);
  });

  it('csv-follow follows Master.csv until told to stop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-follow-'));
    // Real lines with new call uuids (the first test stored the originals).
    const lines = fixture('fs-modules', 'cdr_csv', 'Master.csv.2026-12-02-06-43-31')
      .toString()
      .replace(/"[0-9a-f]{8}-/g, '"ffffffff-')
      .split(/(?<=\n)/);
    await writeFile(join(dir, 'Master.csv'), lines.slice(0, 2).join(''));
    let stop!: () => void;
    const until = new Promise<void>((r) => {
      stop = r;
    });
    const run = io();
    const uuids = lines.slice(0, 3).map((l) => l.match(/[0-9a-f]{8}-[0-9a-f-]{27}/)?.[0]);
    const done = csvFollowCommand(
      [dir],
      {
        config: csvConfig,
        node: 'fs9',
        into: db.url,
        state: join(dir, 'state.json'),
        'poll-ms': '20',
        'time-zone': 'UTC',
      },
      run.io,
      until,
    );
    await appendFile(join(dir, 'Master.csv'), lines[2] as string);
    const deadline = Date.now() + 60_000;
    const stored = async () =>
      (
        await q(
          `select count(*)::int as n from pbxkit_cdr_node where node = 'fs9' and xml_cdr_uuid = any('{${uuids.join(',')}}'::uuid[])`,
        )
      )[0]?.n;
    while ((await stored()) < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stop();
    expect(await done).toBe(0);
    expect(await stored()).toBe(3);
    expect(run.out()).toMatch(/^3 read: 3 imported, 0 duplicate, 0 refused/);
  });
});
