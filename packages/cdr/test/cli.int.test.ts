import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { decodeCdrBody, parseCdr, runCli } from '../src/index.js';
import { cliIo as io, makeCdr } from './dispatch-helpers.js';
import { cdrDocuments, freeswitchUrlEncode } from './fixtures.js';

/** A directory as FreeSWITCH leaves it: log-dir XML, err-log files in each encoding, one broken file. */
async function cdrDirectory(): Promise<{ dir: string; uuids: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'pbxkit-cdr-cli-'));
  const docs = cdrDocuments().filter((d) => !d.name.startsWith('urldecoded-') && d.name.endsWith('.cdr.xml'));
  const uuids: string[] = [];
  for (const [i, { xml }] of docs.entries()) {
    const uuid = parseCdr(xml).uuid;
    uuids.push(uuid);
    const content =
      i % 3 === 0 ? xml : i % 3 === 1 ? freeswitchUrlEncode(xml) : Buffer.from(xml).toString('base64');
    await writeFile(join(dir, `${i % 2 ? 'a_' : ''}${uuid}.cdr.xml`), content);
  }
  await writeFile(join(dir, 'broken.cdr.xml'), '<?xml version="1.0"?>\n<cdr><variables><uuid>');
  return { dir, uuids };
}

describe('pbxkit-cdr CLI', () => {
  let schema: string;
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl() });
    schema = `cli_${process.pid}`;
  });
  afterAll(async () => {
    await pool.end();
  });

  it('import: creates v_xml_cdr, stores every readable file, lists the broken one, exits 1; a second run adds nothing', async () => {
    const { dir, uuids } = await cdrDirectory();
    const url = testDatabaseUrl();
    const first = io();
    expect(await runCli(['import', dir, '--into', url], first.io)).toBe(1);
    expect(first.out()).toContain(`${uuids.length} of ${uuids.length + 1} CDR files delivered, 1 failed`);
    expect(first.out()).toMatch(/FAILED .*broken\.cdr\.xml: truncated XML/);
    const { rows } = await pool.query(
      'select xml_cdr_uuid, leg from v_xml_cdr where xml_cdr_uuid = any($1::uuid[])',
      [uuids],
    );
    expect(rows.length).toBe(uuids.length);
    const second = io();
    expect(await runCli(['import', dir, '--into', url], second.io)).toBe(1);
    const again = await pool.query(
      'select count(*)::int as n from v_xml_cdr where xml_cdr_uuid = any($1::uuid[])',
      [uuids],
    );
    expect(again.rows[0].n).toBe(uuids.length);
    expect(schema).toBeTruthy();
  });

  it('import --move-done moves delivered files aside and leaves failures in place', async () => {
    const { dir } = await cdrDirectory();
    const done = join(dir, 'done');
    const run = io();
    expect(await runCli(['import', dir, '--into', 'pglite:memory://', '--move-done', done], run.io)).toBe(1);
    expect((await readdir(dir)).filter((f) => f.endsWith('.xml'))).toEqual(['broken.cdr.xml']);
    expect((await readdir(done)).length).toBeGreaterThan(0);
  }, 120_000); // an embedded PGlite takes 10-40 s to start on a loaded 2-core machine

  it('repush: posts every file to a CDR service as mod_xml_cdr would (form cdr=, ?uuid=a_ for a-legs)', async () => {
    const { dir, uuids } = await cdrDirectory();
    const received = new Map<string, string>();
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const xml = decodeCdrBody(Buffer.concat(chunks), req.headers['content-type']).xml;
        received.set(new URL(req.url ?? '/', 'http://x').searchParams.get('uuid') ?? '', xml);
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const run = io();
    expect(await runCli(['repush', dir, '--to', `http://127.0.0.1:${port}/cdr`], run.io)).toBe(1);
    server.close();
    expect(received.size).toBe(uuids.length);
    const keys = [...received.keys()];
    expect(keys.filter((k) => k.startsWith('a_')).length).toBeGreaterThan(0);
    for (const uuid of uuids) expect(keys.some((k) => k.endsWith(uuid))).toBe(true);
  });

  it('usage errors exit 2 with one line that says what is wrong', async () => {
    const run = io();
    expect(await runCli(['import', '/nonexistent'], run.io)).toBe(2);
    expect(run.err()).toBe("pbxkit-cdr: import: --into is required (see 'pbxkit-cdr --help')\n");
    const badStore = io();
    expect(await runCli(['import', '/tmp', '--into', 'ftp://x'], badStore.io)).toBe(2);
    expect(badStore.err()).toMatch(
      /^pbxkit-cdr: --into must be a postgres:\/\/, pglite: or mongodb:\/\/ URL/,
    );
  });
});

/** Runs the real `pbxkit-cdr` program (src/cli/bin.ts through tsx's loader): exit code, stdout, stderr. */
async function pbxkitCdr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = resolve(here, '../../..');
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', loader, join(here, '../src/cli/bin.ts'), ...args],
      { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') } },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

/** Two directories on different file systems (a rename between them fails with EXDEV), e.g. /dev/shm and /var/tmp. */
function twoFileSystems(): [string, string] {
  const candidates = ['/dev/shm', tmpdir(), '/var/tmp', resolve(dirname(fileURLToPath(import.meta.url)))];
  const devices = new Map<number, string>();
  for (const dir of candidates) {
    try {
      const { dev } = statSync(dir);
      if (!devices.has(dev)) devices.set(dev, dir);
    } catch {}
  }
  const [a, b] = [...devices.values()];
  if (!a || !b) throw new Error(`no two of ${candidates.join(', ')} are on different file systems`);
  return [a, b];
}

const isRoot = process.getuid?.() === 0;

/**
 * Makes `dir` read-only for this process: its mode for an ordinary user; for root, who ignores modes, the
 * immutable attribute (chattr +i, ext2/3/4, xfs, btrfs, tmpfs). Resolves with the undo.
 */
async function readOnly(dir: string): Promise<() => Promise<void>> {
  if (!isRoot) {
    await chmod(dir, 0o555);
    return () => chmod(dir, 0o755);
  }
  await promisify(execFile)('chattr', ['+i', dir]);
  return async () => {
    await promisify(execFile)('chattr', ['-i', dir]);
  };
}

describe('pbxkit-cdr import --move-done', () => {
  let pool: pg.Pool;
  const undo: Array<() => Promise<void>> = [];
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });
  });
  afterEach(async () => {
    for (const u of undo.splice(0).reverse()) await u();
  });
  afterAll(async () => {
    await pool.end();
  });
  const stored = async (uuids: string[]) =>
    (
      await pool.query<{ n: number }>(
        'select count(*)::int as n from v_xml_cdr where xml_cdr_uuid = any($1::uuid[])',
        [uuids],
      )
    ).rows[0]?.n;

  async function cdrFiles(dir: string, names: string[]): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const uuids: string[] = [];
    for (const name of names) {
      const { uuid, xml } = makeCdr();
      uuids.push(uuid);
      await writeFile(join(dir, name ?? `${uuid}.cdr.xml`), xml);
    }
    return uuids;
  }

  it('moves files to another file system (copy, then delete): every one reported delivered, exit 0', async () => {
    const [fsA, fsB] = twoFileSystems();
    const from = await mkdtemp(join(fsA, 'pbxkit-cli-from-'));
    const to = join(await mkdtemp(join(fsB, 'pbxkit-cli-done-')), 'done');
    undo.push(() => rm(from, { recursive: true, force: true }));
    undo.push(() => rm(dirname(to), { recursive: true, force: true }));
    const names = ['one.cdr.xml', 'a_two.cdr.xml', 'three.cdr.xml'];
    const uuids = await cdrFiles(from, names);
    const run = io();
    expect(await runCli(['import', from, '--into', testDatabaseUrl(), '--move-done', to], run.io)).toBe(0);
    expect(run.out()).toBe('3 of 3 CDR files delivered, 0 failed\n');
    expect(run.err()).not.toMatch(/warning|FAILED/);
    expect(await stored(uuids)).toBe(3);
    expect(await readdir(from)).toEqual([]);
    expect((await readdir(to)).sort()).toEqual([...names].sort());
  });

  it('gives a file whose name is already taken in DIR a number instead of replacing the other', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pbxkit-cli-clash-'));
    undo.push(() => rm(root, { recursive: true, force: true }));
    const done = join(root, 'done');
    await mkdir(done);
    await writeFile(join(done, 'clash.cdr.xml'), 'from an earlier run');
    const first = await cdrFiles(join(root, 'in', 'log-dir'), ['clash.cdr.xml']);
    const second = await cdrFiles(join(root, 'in', 'err-log-dir'), ['clash.cdr.xml']);
    const run = io();
    expect(
      await runCli(['import', join(root, 'in'), '--into', testDatabaseUrl(), '--move-done', done], run.io),
    ).toBe(0);
    expect((await readdir(done)).sort()).toEqual(['clash.1.cdr.xml', 'clash.2.cdr.xml', 'clash.cdr.xml']);
    expect(await readFile(join(done, 'clash.cdr.xml'), 'utf8')).toBe('from an earlier run');
    const moved = await Promise.all(
      ['clash.1.cdr.xml', 'clash.2.cdr.xml'].map(
        async (n) => parseCdr(await readFile(join(done, n), 'utf8')).uuid,
      ),
    );
    expect(moved.sort()).toEqual([...first, ...second].sort());
  });

  it('reports a file stored even when it cannot be moved (read-only directory): a warning with the reason, exit 0', async () => {
    const root = await mkdtemp(join(tmpdir(), 'pbxkit-cli-ro-'));
    undo.push(() => rm(root, { recursive: true, force: true }));
    const from = join(root, 'readonly');
    const uuids = await cdrFiles(from, ['x.cdr.xml', 'a_y.cdr.xml']);
    undo.push(await readOnly(from));
    const done = join(root, 'done');
    const run = io();
    expect(await runCli(['import', from, '--into', testDatabaseUrl(), '--move-done', done], run.io)).toBe(0);
    expect(run.out()).toBe(`2 of 2 CDR files delivered, 0 failed, 2 not moved to ${done}\n`);
    const warnings = run
      .err()
      .split('\n')
      .filter((line) => line.includes('warning'));
    expect(warnings).toHaveLength(2);
    for (const w of warnings) {
      expect(w).toMatch(
        /^pbxkit-cdr: warning: .*readonly\/(x|a_y)\.cdr\.xml was delivered but not moved to .*: could not remove it from its directory: E(ACCES|PERM)/,
      );
    }
    expect(await stored(uuids)).toBe(2);
    expect((await readdir(from)).sort()).toEqual(['a_y.cdr.xml', 'x.cdr.xml']);
    expect(await readdir(done)).toEqual([]); // no half-moved copies
  });
});

describe('pbxkit-cdr (the program) on a bad command line', () => {
  it('a path that does not exist: one line naming it, exit 2, no stack trace', async () => {
    const missing = join(tmpdir(), 'pbxkit-no-such-dir', 'xml_cdr');
    const run = await pbxkitCdr(['import', missing, '--into', 'pglite:memory://']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`pbxkit-cdr: no such file or directory: ${missing} (see 'pbxkit-cdr --help')\n`);
    expect(run.stdout).toBe('');
  });

  it('a bad argument: one line, exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pbxkit-cli-arg-'));
    for (const args of [
      ['import', dir, '--into', 'pglite:memory://', '--concurrency', 'lots'],
      ['import', dir, '--into', 'pglite:memory://', '--no-such-option'],
      ['imprt', dir],
    ]) {
      const run = await pbxkitCdr(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n')).toHaveLength(2); // one line and its newline
      expect(run.stderr).toMatch(/^pbxkit-cdr: (--concurrency must be|Unknown option|unknown command)/);
    }
    await rm(dir, { recursive: true, force: true });
  });
});
