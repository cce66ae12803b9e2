import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresCdrSink } from '../src/index.js';
import { parseCdr } from '../src/parse/parse-cdr.js';
import { makeCdr } from './dispatch-helpers.js';
import { PrivatePostgres } from './private-postgres.js';

describe('PostgresCdrSink with ensureSchema, on a PostgreSQL that is down when the program starts', () => {
  let server: PrivatePostgres;
  beforeAll(async () => {
    server = await PrivatePostgres.start({ maxConnections: 8 });
    await server.down();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });

  it('is built without a database, fails as unreachable (transient) while it is down, then creates its tables and stores', {
    timeout: 120_000,
  }, async () => {
    const store = new PostgresCdrSink({ connectionString: server.url, max: 2 }, { ensureSchema: true });
    try {
      const { xml } = makeCdr();
      const record = parseCdr(xml);
      const refused = await store.write([record]).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(Error);
      expect(store.isTransient(refused)).toBe(true);
      await expect(store.ping()).rejects.toThrow();

      await server.up();
      await store.ping(); // creates v_xml_cdr on the way
      await store.write([record]);
      await store.write([record]);
      expect(await store.count()).toBe(1);
      expect(await store.get(record.uuid)).toMatchObject({ xml_cdr_uuid: record.uuid });
    } finally {
      await store.close();
    }
  });

  it('without ensureSchema, ping says the table is missing (the caller creates it)', {
    timeout: 60_000,
  }, async () => {
    await server.up().catch(() => {}); // already up after the first test
    const store = new PostgresCdrSink({ connectionString: server.url, max: 2 }, { schema: 'nowhere' });
    try {
      await expect(store.ping()).rejects.toThrow(/nowhere|does not exist/);
    } finally {
      await store.close();
    }
  });
});
