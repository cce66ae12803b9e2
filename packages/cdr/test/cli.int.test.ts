import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { decodeCdrBody, parseCdr, runCli } from '../src/index.js';
import { cliIo as io } from './dispatch-helpers.js';
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
  });

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

  it('usage errors exit 2 with the usage text', async () => {
    const run = io();
    expect(await runCli(['import', '/nonexistent'], run.io)).toBe(2);
    expect(run.err()).toContain('--into is required');
    expect(await runCli(['import', '/tmp', '--into', 'ftp://x'], io().io)).toBe(2);
  });
});
