import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CdrDispatcher } from '../src/dispatch/dispatcher.js';
import { parseCdr } from '../src/parse/parse-cdr.js';
import { PostgresCdrSink } from '../src/sinks/postgres.js';
import { CdrSpool } from '../src/spool/spool.js';
import { makeCdr } from './dispatch-helpers.js';
import { PrivatePostgres } from './private-postgres.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A CDR PostgreSQL refuses for itself: a NUL byte in a text column (SQLSTATE 22021), every time. */
function poisonCdr(): { uuid: string; xml: string } {
  const { uuid, xml } = makeCdr();
  return {
    uuid,
    xml: xml.replace('<variables>\n', '<variables>\n    <accountcode>bad%00code</accountcode>\n'),
  };
}

describe('PostgreSQL stopped and started again (a private server)', () => {
  let server: PrivatePostgres;
  beforeAll(async () => {
    server = await PrivatePostgres.start({ maxConnections: 8 });
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });

  it('dead-letters nothing while the server is down, stores every CDR once after, reports down then up; a refused record is still dead-lettered', {
    timeout: 180_000,
  }, async () => {
    const store = new PostgresCdrSink({ connectionString: server.url, max: 4 }, { name: 'store' });
    cleanups.push(() => store.close());
    await store.createSchema();

    const spool = await CdrSpool.open({ dir: mkdtempSync(join(tmpdir(), 'pbxkit-pg-restart-')) });
    cleanups.push(() => spool.close());
    const maxAttempts = 3;
    const dispatcher = new CdrDispatcher({
      spool,
      sinks: [store],
      batchSize: 10,
      // Three attempts of 5-40 ms backoff: under today's policy an outage of a second would use them all.
      retry: { minMs: 5, maxMs: 40, maxAttempts },
    });
    cleanups.push(() => dispatcher.stop());
    const events: string[] = [];
    dispatcher.on('sinkDown', (sink, err) => events.push(`down ${sink} ${(err as Error).message}`));
    dispatcher.on('sinkUp', (sink) => events.push(`up ${sink}`));
    await dispatcher.start();

    const append = async (cdrs: Array<{ uuid: string; xml: string }>) => {
      const ids: string[] = [];
      for (const { uuid, xml } of cdrs) ids.push(await spool.append({ xml, uuid, leg: 'a' }));
      return ids;
    };
    const before = Array.from({ length: 20 }, () => makeCdr(randomUUID()));
    await append(before);
    await dispatcher.drained();
    expect(await store.count()).toBe(20);

    // The outage: a fast shutdown (sessions end with 57P01), then connections are refused.
    let transientFailures = 0;
    const outageFelt = new Promise<void>((resolve) => {
      dispatcher.on('retry', () => {
        // Many times the attempts an entry has: under the old policy each entry would be dead-lettered by now.
        if (++transientFailures === maxAttempts * 5) resolve();
      });
    });
    await server.down('fast');
    const during = Array.from({ length: 40 }, () => makeCdr(randomUUID()));
    await append(during);
    await outageFelt;
    expect(await spool.deadLetters('store')).toEqual([]);
    const whileDown = dispatcher.health();
    expect(whileDown.status).toBe('degraded');
    expect(whileDown.sinks.store).toMatchObject({ state: 'down', deadLettered: 0, deadLetters: 0 });
    expect(whileDown.sinks.store?.lastError?.transient).toBe(true);
    expect(whileDown.sinks.store?.depth).toBe(40);

    await server.up();
    const poison = poisonCdr();
    const [poisonId] = await append([poison]);
    const after = Array.from({ length: 20 }, () => makeCdr(randomUUID()));
    await append(after);
    await dispatcher.drained();

    const expected = [...before, ...during, ...after].map((c) => c.uuid);
    const check = new pg.Pool({ connectionString: server.url, max: 1 });
    cleanups.push(() => check.end());
    const { rows } = await check.query<{ u: string; n: number }>(
      'select xml_cdr_uuid::text as u, count(*)::int as n from v_xml_cdr group by 1',
    );
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.u))).toEqual(new Set(expected));
    expect(await spool.pending()).toEqual([]);
    // Only the record PostgreSQL refused for itself, after its attempts.
    expect(await spool.deadLetters('store')).toEqual([poisonId]);
    const letter = await spool.readDeadLetter('store', poisonId as string);
    expect(letter.info).toMatchObject({ uuid: poison.uuid, attempts: maxAttempts, error: { code: '22021' } });

    const health = dispatcher.health();
    expect(health.status).toBe('ok');
    expect(health.sinks.store).toMatchObject({ state: 'up', deadLettered: 1, deadLetters: 1 });
    expect(events[0]).toMatch(/^down store /);
    expect(events.at(-1)).toBe('up store');
  });

  it("classifies the server's own answers: too many connections and admin shutdown are transient, a data error is not", {
    timeout: 120_000,
  }, async () => {
    const sink = new PostgresCdrSink({ connectionString: server.url, max: 1 }, { name: 'classify' });
    cleanups.push(() => sink.close());
    const clients: pg.Client[] = [];
    cleanups.push(async () => {
      for (const c of clients) await c.end().catch(() => {});
    });
    let tooMany: { code?: string } | undefined;
    while (!tooMany) {
      const client = new pg.Client({ connectionString: server.url });
      client.on('error', () => {}); // the shutdown below ends these sessions; their query promises say so
      try {
        await client.connect();
        clients.push(client);
      } catch (err) {
        tooMany = err as { code?: string };
      }
    }
    expect(tooMany.code).toBe('53300');
    expect(sink.isTransient(tooMany)).toBe(true);
    const last = clients.pop() as pg.Client;
    await last.end();

    const refused = await sink.write([parseCdr(poisonCdr().xml)]).then(
      () => expect.fail('PostgreSQL stores no NUL byte'),
      (err: { code?: string }) => err,
    );
    expect(refused.code).toBe('22021');
    expect(sink.isTransient(refused)).toBe(false);

    // A session in the middle of a query when the server is shut down (a restart by the operator).
    const busy = (clients[0] as pg.Client).query('select pg_sleep(60)').then(
      () => expect.fail('the shutdown ends the query'),
      (err: { code?: string }) => err,
    );
    await server.down('fast');
    const shutdown = await busy;
    expect(shutdown.code).toBe('57P01');
    expect(sink.isTransient(shutdown)).toBe(true);
    await server.up();
  });
});
