import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../packages/cdr/test/private-postgres.js';
import { testDatabaseUrl, testHaproxy } from '../../../scripts/test-env.js';
import { healthUntil, makeCall, postCdr, tempDir } from './helpers.js';
import { startServerProcess } from './server-process.js';

const SENDERS = 16;
const PER_SENDER = 60;

/**
 * HAProxy's config: plain TCP checks every 250 ms (a receiver that accepts connections takes CDRs into its
 * spool whether or not the database is up, so /health is not what decides where CDRs go), and a request whose
 * connection failed or got no answer is sent again, to the other receiver (idempotent by call uuid).
 */
function haproxyConfig(port: number, backends: number[]): string {
  return `global
  maxconn 512
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response
  option http-buffer-request
frontend cdr
  bind 127.0.0.1:${port}
  default_backend receivers
backend receivers
  balance roundrobin
${backends.map((p, i) => `  server r${i} 127.0.0.1:${p} check inter 250 fall 1 rise 2`).join('\n')}
`;
}

/** True once something accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function until(what: string, check: () => Promise<boolean>, deadlineMs = 120_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100)); // the next look, not a synchronisation
  }
}

type Receiver = Awaited<ReturnType<typeof startServerProcess>>;

describe('two reference-server receivers behind HAProxy, one database, a spool each', () => {
  const admin = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });
  const db = `pbxkit_haproxy_${randomUUID().slice(0, 8)}`;
  let dbUrl = '';
  beforeAll(async () => {
    await admin.query(`create database ${db}`);
    const u = new URL(testDatabaseUrl());
    u.pathname = `/${db}`;
    dbUrl = u.toString();
  }, 60_000);
  afterAll(async () => {
    await admin.query(`drop database if exists ${db} with (force)`);
    await admin.end();
  }, 60_000);

  it('SIGKILL of either receiver mid-load: every 2xx-acknowledged CDR is stored exactly once', {
    timeout: 900_000,
  }, async () => {
    const dirs = [await tempDir('haproxy-a'), await tempDir('haproxy-b')];
    const ports = [await freePort(), await freePort()];
    const receivers: Array<Receiver | undefined> = [];
    let haproxy: ChildProcess | undefined;
    const start = (i: number) =>
      startServerProcess(dirs[i]!.dir, {
        PBXKIT_PORT: String(ports[i]),
        PBXKIT_HOST: '127.0.0.1',
        PBXKIT_DATABASE_URL: dbUrl,
        PBXKIT_STORAGE_INSTANCE_ID: `receiver-${i}`,
      });
    try {
      // Both at once, on a database without tables: both create them.
      receivers.push(...(await Promise.all([start(0), start(1)])));
      const frontPort = await freePort();
      const config = join(dirs[0]!.dir, 'haproxy.cfg');
      await writeFile(config, haproxyConfig(frontPort, ports));
      let haproxyOutput = '';
      haproxy = spawn(testHaproxy(), ['-f', config, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
      haproxy.stdout?.on('data', (c: Buffer) => (haproxyOutput += c.toString()));
      haproxy.stderr?.on('data', (c: Buffer) => (haproxyOutput += c.toString()));
      await until(`haproxy listening (${haproxyOutput})`, () => listening(frontPort));
      const front = `http://127.0.0.1:${frontPort}`;

      const acked = new Set<string>();
      const progress = new EventEmitter();
      const refusals = new Map<string, number>();
      const ackedAtLeast = (n: number) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (acked.size < n) return;
            progress.off('ack', check);
            resolve();
          };
          progress.on('ack', check);
          check();
        });
      const started = Date.now();
      // As mod_xml_cdr with retries: each CDR is posted until it is acknowledged.
      const sender = async () => {
        for (let i = 0; i < PER_SENDER; i++) {
          const call = makeCall(dirs[0]!.dir, 0, 0);
          for (let attempt = 0; ; attempt++) {
            const status = await postCdr(`${front}`, call).catch((err: Error) => `error ${err.message}`);
            if (status === 200) break;
            refusals.set(String(status), (refusals.get(String(status)) ?? 0) + 1);
            if (attempt > 200) throw new Error(`CDR ${call.uuid} never acknowledged: last ${status}`);
            await new Promise((r) => setTimeout(r, 50)); // mod_xml_cdr's retry delay, not a synchronisation
          }
          acked.add(call.uuid);
          progress.emit('ack');
        }
      };
      const kills: string[] = [];
      const chaos = async () => {
        for (const [i, killAt, restartAt] of [
          [0, 200, 350],
          [1, 500, 650],
        ] as const) {
          await ackedAtLeast(killAt);
          receivers[i]?.child.kill('SIGKILL');
          await receivers[i]?.exited;
          const killedAt = Date.now();
          await ackedAtLeast(restartAt);
          // What systemd does (Restart=always): the same spool, the same port.
          receivers[i] = await start(i);
          const health = await healthUntil(receivers[i]!.url, () => true);
          kills.push(
            `receiver ${i} SIGKILLed at ${killAt} acknowledged, restarted ${Date.now() - killedAt} ms later ` +
              `with ${health.body.spool.backlog} CDRs still in its spool at its first /health answer`,
          );
        }
      };
      await Promise.all([...Array.from({ length: SENDERS }, sender), chaos()]);
      const loadMs = Date.now() - started;

      // Every acknowledged CDR reaches the database: the live receivers drain their spools.
      const check = new pg.Pool({ connectionString: dbUrl, max: 1 });
      try {
        const counts = async () => {
          const { rows } = await check.query<{ u: string; n: number }>(
            'select xml_cdr_uuid::text as u, count(*)::int as n from v_xml_cdr group by 1',
          );
          return new Map(rows.map((r) => [r.u, r.n]));
        };
        await until(
          'every acknowledged CDR stored',
          async () => {
            const c = await counts();
            return [...acked].every((u) => c.has(u));
          },
          300_000,
        );
        for (const r of receivers) await healthUntil(r!.url, (_s, body) => body.spool.backlog === 0, 120_000);
        const final = await counts();
        const lost = [...acked].filter((u) => !final.has(u));
        const duplicated = [...final.values()].filter((n) => n > 1).length;
        console.log(
          `HAProxy + 2 receivers: ${acked.size} CDRs acknowledged from ${SENDERS} senders in ${loadMs} ms ` +
            `(${Math.round(acked.size / (loadMs / 1000))}/s); ${lost.length} lost, ${duplicated} duplicated; ` +
            `answers that were not 2xx (re-sent): ${JSON.stringify(Object.fromEntries(refusals))}\n  ` +
            kills.join('\n  '),
        );
        expect(acked.size).toBe(SENDERS * PER_SENDER);
        expect(lost).toEqual([]);
        expect(duplicated).toBe(0);
        expect(final.size).toBe(acked.size);
      } finally {
        await check.end();
      }
    } finally {
      haproxy?.kill('SIGTERM');
      for (const r of receivers) {
        r?.child.kill('SIGTERM');
        await r?.exited;
      }
      for (const d of dirs) await d.cleanup();
    }
  });
});
