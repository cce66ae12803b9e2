import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { PostgresCdrSink } from '../src/sinks/postgres.js';
import { type Cdr, postConcurrently, ServiceProcess } from './crash-helpers.js';
import { makeCdr } from './dispatch-helpers.js';

/** The store the child delivers to: FusionPBX's `v_xml_cdr` (keyed by `xml_cdr_uuid`) in a schema of its own on the real PostgreSQL. */
interface Store {
  env: Record<string, string>;
  /** Every stored uuid, once per row. */
  uuids(): Promise<string[]>;
  close(): Promise<void>;
}

async function openStore(): Promise<Store> {
  const url = testDatabaseUrl();
  const schema = `cdr_crash_${process.pid}_${randomUUID().slice(0, 8)}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await pool.query(`create schema ${schema}`);
  const sink = new PostgresCdrSink({ pool }, { schema });
  await sink.createSchema();
  return {
    env: { CRASH_DATABASE_URL: url, CRASH_SCHEMA: schema },
    uuids: async () =>
      (await pool.query<{ u: string }>(`select xml_cdr_uuid::text as u from ${schema}.v_xml_cdr`)).rows.map(
        (r) => r.u,
      ),
    close: async () => {
      await pool.query(`drop schema ${schema} cascade`);
      await pool.end();
    },
  };
}

describe('crash safety: kill -9 of the receiving process mid-load', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
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
});
