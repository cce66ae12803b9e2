import { createServer } from 'node:net';
import { Registry } from '@pbxkit/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRecordingsHandler,
  LocalFsBackend,
  type LocationIndex,
  MemoryLocationIndex,
  type RecordingLocator,
  SqlLocationIndex,
  TieredRecordingResolver,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';

/** A loopback port nothing listens on: a database server that is down. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The locator an application writes over FusionPBX's `v_xml_cdr`, as in the package README. */
function cdrLocator(pool: pg.Pool): RecordingLocator {
  return {
    async locate(uuid) {
      const { rows } = await pool.query(
        'select start_stamp, record_path, record_name, domain_name from v_xml_cdr where xml_cdr_uuid = $1',
        [uuid],
      );
      const r = rows[0];
      return r && { uuid, callStart: r.start_stamp, path: r.record_path, name: r.record_name };
    },
  };
}

const PRESENT = '11111111-2222-4333-8444-555555555555';
const ABSENT = '99999999-2222-4333-8444-555555555555';

describe('recordings while PostgreSQL is down: 503, never a false 404', () => {
  let cleanup: () => Promise<void>;
  let local: LocalFsBackend;
  let deadPool: pg.Pool;
  let deadIndex: SqlLocationIndex;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    local = new LocalFsBackend({ root: t.dir, name: 'local' });
    await local.write(`${PRESENT}.wav`, 'RIFF....WAVEfmt data');
    const deadDb = `postgres://pbxkit@127.0.0.1:${await closedPort()}/pbxkit`;
    deadPool = new pg.Pool({ connectionString: deadDb, connectionTimeoutMillis: 10_000 });
    deadIndex = new SqlLocationIndex({ connectionString: deadDb });
  });
  afterAll(async () => {
    for (const c of closers) await c();
    await deadIndex.close();
    await deadPool.end();
    await cleanup();
  });

  async function serve(options: {
    locator: RecordingLocator;
    index: LocationIndex;
  }): Promise<{ base: string; registry: Registry }> {
    const registry = new Registry();
    const resolver = new TieredRecordingResolver({
      ...options,
      local: { backend: local, key: '{uuid}.wav' },
      instanceId: 'pbx-a',
      registry,
    });
    const handler = createRecordingsHandler({ source: resolver, registry });
    const server = await listen((req, res) => void handler(req, res));
    closers.push(server.close);
    return { base: `${server.url}/recordings`, registry };
  }

  it('the CDR store unreachable: 503 with Retry-After and a JSON reason, logged and counted', async () => {
    const { base, registry } = await serve({
      locator: cdrLocator(deadPool),
      index: new MemoryLocationIndex(),
    });
    const r = await get(`${base}/${ABSENT}`);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    const body = JSON.parse(r.body.toString());
    expect(body.error).toBe('unavailable');
    expect(body.reason).toMatch(
      new RegExp(`call ${ABSENT} not found, but the locator \\(CDR store\\) could not`),
    );
    const metrics = await registry.metrics();
    expect(metrics).toContain('pbxkit_storage_resolver_lookup_failures_total{source="locator"} 1');
    expect(metrics).toContain('pbxkit_storage_http_requests_total{method="GET",status="503"} 1');
  });

  it('the location index unreachable: 503 as well', async () => {
    const { base, registry } = await serve({ locator: { locate: async () => undefined }, index: deadIndex });
    const r = await get(`${base}/${ABSENT}`);
    expect([r.status, r.headers['retry-after']]).toEqual([503, '5']);
    expect(JSON.parse(r.body.toString()).reason).toMatch(/index could not be asked/);
    expect(await registry.metrics()).toContain(
      'pbxkit_storage_resolver_lookup_failures_total{source="index"} 1',
    );
  });

  it('both unreachable: a recording the key template finds is still served', async () => {
    const { base } = await serve({ locator: cdrLocator(deadPool), index: deadIndex });
    const r = await get(`${base}/${PRESENT}`, { headers: { Range: 'bytes=-4' } });
    expect([r.status, r.body.toString()]).toEqual([206, 'data']);
  });

  it('with the lookups answering, a recording that does not exist is still a 404', async () => {
    const { base } = await serve({
      locator: { locate: async () => undefined },
      index: new MemoryLocationIndex(),
    });
    const r = await get(`${base}/${ABSENT}`);
    expect(r.status).toBe(404);
    expect(r.headers['retry-after']).toBeUndefined();
    expect(JSON.parse(r.body.toString())).toEqual({
      error: 'not_found',
      reason: `no recording for call ${ABSENT}`,
    });
  });
});
