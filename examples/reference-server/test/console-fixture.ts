import { randomBytes } from 'node:crypto';
import { CdrSpool } from '@pbxkit/cdr';
import pg from 'pg';
import { pino } from 'pino';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { configFromEnv } from '../src/config/load.js';
import { type ReferenceServer, startReferenceServer } from '../src/server.js';
import { type CallPair, callPair, toneWav, writeRecording } from './console-calls.js';
import { tempDir } from './helpers.js';

export const OPERATOR = { user: 'ops', password: `console-${randomBytes(12).toString('hex')}` };
export const AUTH = `Basic ${Buffer.from(`${OPERATOR.user}:${OPERATOR.password}`).toString('base64')}`;

/** A reference server on a database of its own, with calls, a recording and a dead letter. */
export interface ConsoleFixture {
  server: ReferenceServer;
  /** Recorded, answered: 15551230001 → 201. */
  answered: CallPair;
  /** Missed: 15559990002 → 202 (the caller gave up). */
  missed: CallPair;
  /** Answered on another domain: 4420799900 → 301. */
  other: CallPair;
  /** Its A leg was dead-lettered for the `postgres` sink by a previous run: not in v_xml_cdr until replayed. */
  dead: CallPair;
  wav: Buffer;
  close(): Promise<void>;
}

async function post(url: string, leg: 'a' | 'b', cdr: { uuid: string; xml: string }): Promise<void> {
  const res = await fetch(`${url}/cdr?uuid=${leg === 'a' ? 'a_' : ''}${cdr.uuid}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: cdr.xml,
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`POST /cdr answered ${res.status}`);
}

/**
 * Creates a database of its own on the test PostgreSQL, leaves a dead letter in the spool as an earlier run
 * would have (the A leg of `dead`, refused by `postgres`), starts the server with operator auth, posts the
 * calls' legs as mod_xml_cdr does and waits until the store has them all.
 */
export async function startConsoleFixture(name: string): Promise<ConsoleFixture> {
  const admin = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });
  const database = `pbxkit_console_${name}_${process.pid}_${Date.now()}`;
  await admin.query(`create database ${database}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${database}`;
  const data = await tempDir(`console-${name}`);
  const recordings = `${data.dir}/recordings`;
  const now = Date.now();
  const answered = callPair({
    caller: '15551230001',
    destination: '201',
    start: new Date(now - 3600_000),
    recordRoot: recordings,
  });
  const missed = callPair({
    caller: '15559990002',
    destination: '202',
    start: new Date(now - 1800_000),
    missed: true,
  });
  const other = callPair({
    caller: '4420799900',
    destination: '301',
    start: new Date(now - 900_000),
    domain: 'other.example.com',
    durationS: 95,
  });
  const dead = callPair({ caller: '15557770003', destination: '203', start: new Date(now - 600_000) });
  const wav = toneWav(6);
  await writeRecording(answered, wav);

  // A previous run's dead letter: appended, then given up on by `postgres` (the index sink still gets it).
  const spool = await CdrSpool.open({ dir: `${data.dir}/cdr-spool`, fsync: false });
  await spool.attachSink('postgres');
  const id = await spool.append({ xml: dead.a.xml, uuid: dead.a.uuid, leg: 'a' });
  await spool.deadLetter('postgres', id, new Error('new row violates check constraint "cdr_check"'), 10);
  await spool.close();

  const config = configFromEnv({
    PBXKIT_PORT: '0',
    PBXKIT_DATA_DIR: data.dir,
    PBXKIT_DATABASE_URL: url.toString(),
    PBXKIT_STORAGE_LOCAL_ROOT: recordings,
    PBXKIT_AUTH_USERS: `${OPERATOR.user}:${OPERATOR.password}`,
  });
  // PBXKIT_TEST_LOG=error shows what the server logs (a 500's cause).
  const level = process.env.PBXKIT_TEST_LOG;
  const server = await startReferenceServer(config, level ? pino({ level }) : undefined);
  try {
    const legs: Array<['a' | 'b', { uuid: string; xml: string }]> = [];
    for (const pair of [answered, missed, other]) legs.push(['a', pair.a], ['b', pair.b]);
    legs.push(['b', dead.b]);
    const stored = new Promise<void>((resolve) => {
      let seen = 0;
      server.dispatcher.on('delivered', (sink, ids) => {
        seen += sink === 'postgres' ? ids.length : 0;
        if (seen >= legs.length) resolve();
      });
    });
    for (const [leg, cdr] of legs) await post(server.url, leg, cdr);
    await stored;
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    server,
    answered,
    missed,
    other,
    dead,
    wav,
    async close() {
      await server.close();
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.end();
      await data.cleanup();
    },
  };
}
