/**
 * Measures CDRs/s through the receiver with the spool's fsync on (not a test: run it by hand).
 *
 *   packages/cdr/node_modules/.bin/tsx --tsconfig tsconfig.json packages/cdr/bench/throughput.ts \
 *     [--count 3000] [--senders 16] [--kb 50] [--pg postgres://...]
 *
 * Posts `count` CDRs of about `kb` KB as mod_xml_cdr does with `encode=true` from `senders` keep-alive
 * connections of a worker thread (bodies encoded before the clock starts; client, server and PostgreSQL share
 * the machine's CPUs).
 * Reports HTTP → spool (every 200 means file + directory fsynced) and, with `--pg`, HTTP → spool →
 * PostgreSQL (`v_xml_cdr`, until the dispatcher has drained the spool).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Registry } from '@pbxkit/core';
import pg from 'pg';
import { CdrDispatcher } from '../src/dispatch/dispatcher.js';
import { createCdrReceiver } from '../src/receiver/receiver.js';
import type { CdrSink } from '../src/sink.js';
import { PostgresCdrSink } from '../src/sinks/postgres.js';
import { CdrSpool } from '../src/spool/spool.js';
import { makeCdr } from '../test/dispatch-helpers.js';
import { freeswitchUrlEncode } from '../test/fixtures.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '3000' },
    senders: { type: 'string', default: '16' },
    kb: { type: 'string', default: '50' },
    pg: { type: 'string' },
    'no-fsync': { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const senders = Number(values.senders);
const bytes = Number(values.kb) * 1024;

const bodies = Array.from({ length: count }, () => {
  const { uuid, xml } = makeCdr(randomUUID(), bytes);
  return { uuid, body: Buffer.from(`cdr=${freeswitchUrlEncode(xml)}`) };
});

/**
 * The senders run in a worker thread, as FreeSWITCH runs in another process: the receiver's thread does only
 * the receiving. Resolves with the number of non-200 answers.
 */
function postFromWorker(url: string): Promise<number> {
  const client = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { Agent, request } = require('node:http');
    const { url, senders, bodies } = workerData;
    const agent = new Agent({ keepAlive: true, maxSockets: senders });
    let next = 0;
    let failed = 0;
    const post = ({ uuid, body }) => new Promise((resolve) => {
      const req = request(url + '?uuid=a_' + uuid, { method: 'POST', agent, headers: {
        'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', () => resolve(0));
      req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    });
    Promise.all(Array.from({ length: senders }, async () => {
      while (next < bodies.length) if ((await post(bodies[next++])) !== 200) failed++;
    })).then(() => { agent.destroy(); parentPort.postMessage(failed); });
  `;
  const worker = new Worker(client, { eval: true, workerData: { url, senders, bodies } });
  return new Promise((resolve, reject) => {
    worker.once('message', (failed: number) => {
      void worker.terminate();
      resolve(failed);
    });
    worker.once('error', reject);
  });
}

async function run(label: string, sinks: CdrSink[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pbxkit-throughput-'));
  const spool = await CdrSpool.open({ dir, fsync: !values['no-fsync'] });
  const registry = new Registry();
  const dispatcher = sinks.length
    ? new CdrDispatcher({ spool, sinks, batchSize: 200, concurrency: 2, registry })
    : undefined;
  await dispatcher?.start();
  const server = createServer(createCdrReceiver({ spool }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cdr`;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const failed = await postFromWorker(url);
  const cpu = process.cpuUsage(cpu0);
  const acked = performance.now() - t0;
  await dispatcher?.drained();
  const stored = performance.now() - t0;
  const mb = (bodies.reduce((n, b) => n + b.body.length, 0) / 1e6).toFixed(0);
  console.log(
    `${label}: ${count} CDRs of ${values.kb} KB (${mb} MB posted), ${senders} senders, fsync ${values['no-fsync'] ? 'OFF' : 'on'}: ` +
      `all 200s in ${(acked / 1000).toFixed(2)} s = ${Math.round((count * 1000) / acked)} CDR/s` +
      (dispatcher
        ? `; all stored in ${(stored / 1000).toFixed(2)} s = ${Math.round((count * 1000) / stored)} CDR/s`
        : '') +
      (failed ? `; ${failed} FAILED` : '') +
      `; process CPU ${((cpu.user + cpu.system) / 1000 / count).toFixed(1)} ms per CDR (client worker included)`,
  );
  if (dispatcher) {
    const metric = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'pbxkit_cdr_sink_write_duration_seconds',
    );
    const sum =
      metric?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
    const n =
      metric?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
    console.log(`  sink writes: ${n} batches, ${sum.toFixed(2)} s in write() in total`);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dispatcher?.stop();
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
}

await run('HTTP -> spool', []);
if (values.pg) {
  const schema = `cdr_bench_${process.pid}`;
  const admin = new pg.Pool({ connectionString: values.pg, max: 4 });
  await admin.query(`create schema ${schema}`);
  const sink = new PostgresCdrSink({ pool: admin }, { schema });
  await sink.createSchema();
  await run('HTTP -> spool -> PostgreSQL', [sink]);
  const { rows } = await admin.query<{ n: string }>(`select count(*) as n from ${schema}.v_xml_cdr`);
  console.log(`rows in v_xml_cdr: ${rows[0]?.n}`);
  await admin.query(`drop schema ${schema} cascade`);
  await admin.end();
}
