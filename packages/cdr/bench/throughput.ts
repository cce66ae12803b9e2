/**
 * Measures CDRs/s through the receiver with the spool's fsync on (not a test: run it by hand).
 *
 *   packages/cdr/node_modules/.bin/tsx --tsconfig tsconfig.json packages/cdr/bench/throughput.ts \
 *     [--count 3000] [--senders 16] [--kb 50] [--pg postgres://...] [--rounds 3] [--archive]
 *
 * Posts `count` CDRs of about `kb` KB as mod_xml_cdr does with `encode=true` from `senders` keep-alive
 * connections of a worker thread (bodies encoded before the clock starts; client, server and PostgreSQL share
 * the machine's CPUs).
 * Reports HTTP → spool (every 200 means file + directory fsynced) and, with `--pg`, `--rounds` passes of
 * HTTP → spool → PostgreSQL (`v_xml_cdr`, until the dispatcher has drained the spool; each pass checks every
 * CDR is stored, then empties the table) and their median, with the CPU spent per CDR (process,
 * receiving thread) and how busy the whole machine was: a busy share well under 100% with a receiving thread
 * near one CPU-second per second says the receiving thread, not the machine, is the limit.
 * With `--archive`, each PostgreSQL round runs twice, without and with a `CdrArchive` (fsynced, gzip level 1)
 * fed by the dispatcher, and the medians of both are printed: what archiving costs end to end and on the
 * receiving thread (whose CPU is then counted until every CDR is stored and archived).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Registry } from '@pbxkit/core';
import pg from 'pg';
import { CdrArchive } from '../src/archive/archive.js';
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
    rounds: { type: 'string', default: '3' },
    archive: { type: 'boolean', default: false },
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
 * the receiving. Each sender is a keep-alive connection writing ready-made requests and reading the answers,
 * about as little CPU per request as mod_xml_cdr's libcurl spends (Node's `http.request` costs more CPU per
 * 64 KB POST than the receiver's HTTP side, and on a 2-core machine that would be measured as receiver time).
 * Resolves with the number of non-200 answers.
 */
/** CPU time of this process's main thread, ms (from /proc: Node 20 has no per-thread CPU clock). */
function mainThreadCpuMs(): number {
  try {
    const fields =
      readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Busy and total CPU ticks of the whole machine (all processes, PostgreSQL included), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/) ?? [];
    const n = fields.slice(0, 8).map(Number);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    const total = n.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

function postFromWorker(url: string): Promise<{
  failed: number;
  t0: number;
  cpu: NodeJS.CpuUsage;
  mainMs: number;
  main0: number;
  machine0: { busy: number; total: number };
}> {
  const client = `
    const { workerData, parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const { url, senders, bodies } = workerData;
    const target = new URL(url);
    const requests = bodies.map(({ uuid, body }) => Buffer.concat([
      Buffer.from('POST ' + target.pathname + '?uuid=a_' + uuid + ' HTTP/1.1\\r\\nHost: ' + target.host +
        '\\r\\nContent-Type: application/x-www-form-urlencoded\\r\\nContent-Length: ' + body.length + '\\r\\n\\r\\n'),
      Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    ]));
    let next = 0;
    let failed = 0;
    const sender = () => new Promise((resolve) => {
      const socket = net.connect(Number(target.port), target.hostname);
      socket.setNoDelay(true);
      let pending = '';
      const send = () => {
        if (next >= requests.length) return socket.end(resolve);
        socket.write(requests[next++]);
      };
      socket.on('connect', send);
      socket.on('error', () => { failed += requests.length - next; next = requests.length; resolve(); });
      socket.on('data', (chunk) => {
        pending += chunk.toString('latin1');
        for (;;) {
          const headEnd = pending.indexOf('\\r\\n\\r\\n');
          if (headEnd === -1) return;
          const length = /content-length: *(\\d+)/i.exec(pending.slice(0, headEnd));
          const end = headEnd + 4 + (length ? Number(length[1]) : 0);
          if (pending.length < end) return;
          if (!pending.startsWith('HTTP/1.1 200 ')) failed++;
          pending = pending.slice(end);
          send();
        }
      });
    });
    parentPort.postMessage('ready');
    parentPort.once('message', () =>
      Promise.all(Array.from({ length: senders }, sender)).then(() => parentPort.postMessage(failed)));
  `;
  const worker = new Worker(client, { eval: true, workerData: { url, senders, bodies } });
  return new Promise((resolve, reject) => {
    worker.once('message', () => {
      // Requests are built: start the clock.
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const main0 = mainThreadCpuMs();
      const machine0 = machineTicks();
      worker.once('message', (failed: number) => {
        void worker.terminate();
        resolve({
          failed,
          t0,
          cpu: process.cpuUsage(cpu0),
          mainMs: mainThreadCpuMs() - main0,
          main0,
          machine0,
        });
      });
      worker.postMessage('go');
    });
    worker.once('error', reject);
  });
}

/** One pass of all the CDRs; resolves with CDR/s until the last 200 and until all were stored. */
async function run(
  label: string,
  sinks: CdrSink[],
  archived = false,
): Promise<{ acked: number; stored: number; mainMsPerCdr: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'pbxkit-throughput-'));
  const spool = await CdrSpool.open({ dir, fsync: !values['no-fsync'] });
  const registry = new Registry();
  const archive = archived
    ? await CdrArchive.open({ dir: join(dir, 'archive'), fsync: !values['no-fsync'], registry })
    : undefined;
  const dispatcher = sinks.length
    ? new CdrDispatcher({ spool, sinks, batchSize: 200, concurrency: 2, registry, archive })
    : undefined;
  await dispatcher?.start();
  const server = createServer(createCdrReceiver({ spool }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cdr`;
  const { failed, t0, cpu, mainMs, main0, machine0 } = await postFromWorker(url);
  const acked = performance.now() - t0;
  await dispatcher?.drained();
  const stored = performance.now() - t0;
  const mainAllMs = mainThreadCpuMs() - main0;
  const machine1 = machineTicks();
  const busyShare = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
  const mb = (bodies.reduce((n, b) => n + b.body.length, 0) / 1e6).toFixed(0);
  console.log(
    `${label}: ${count} CDRs of ${values.kb} KB (${mb} MB posted), ${senders} senders, ` +
      `fsync ${values['no-fsync'] ? 'OFF' : 'on'}: ` +
      `all 200s in ${(acked / 1000).toFixed(2)} s = ${Math.round((count * 1000) / acked)} CDR/s` +
      (dispatcher
        ? `; all stored in ${(stored / 1000).toFixed(2)} s = ${Math.round((count * 1000) / stored)} CDR/s`
        : '') +
      (failed ? `; ${failed} FAILED` : '') +
      `; CPU per CDR until the last 200: process ${((cpu.user + cpu.system) / 1000 / count).toFixed(2)} ms ` +
      `(client worker included), main thread ${(mainMs / count).toFixed(2)} ms; ` +
      `machine ${Math.round(busyShare * 100)}% busy (${(busyShare * availableParallelism()).toFixed(2)} of ${availableParallelism()} CPUs, PostgreSQL included)`,
  );
  if (dispatcher) {
    const metric = (await registry.getMetricsAsJSON()).find(
      (m) => m.name === 'pbxkit_cdr_sink_write_duration_seconds',
    );
    const sum =
      metric?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
    const n =
      metric?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
    console.log(
      `  sink writes: ${n} batches, ${sum.toFixed(2)} s in write() in total; main thread until all stored` +
        `${archive ? ' and archived' : ''}: ${(mainAllMs / count).toFixed(2)} ms per CDR`,
    );
  }
  if (archive) {
    const json = await registry.getMetricsAsJSON();
    const value = (name: string) => json.find((m) => m.name === name)?.values[0]?.value ?? 0;
    const groups = json
      .find((m) => m.name === 'pbxkit_cdr_archive_write_duration_seconds')
      ?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value;
    const posted = bodies.reduce((n, b) => n + b.body.length, 0);
    console.log(
      `  archive: ${value('pbxkit_cdr_archive_entries_total')} CDRs in ${groups} groups, ` +
        `${(value('pbxkit_cdr_archive_bytes') / 1e6).toFixed(1)} MB on disk (${(posted / value('pbxkit_cdr_archive_bytes')).toFixed(1)}x smaller than posted)`,
    );
    await archive.close();
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await dispatcher?.stop();
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
  return { acked: (count * 1000) / acked, stored: (count * 1000) / stored, mainMsPerCdr: mainAllMs / count };
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

await run('HTTP -> spool', []);
if (values.pg) {
  const schema = `cdr_bench_${process.pid}`;
  const admin = new pg.Pool({ connectionString: values.pg, max: 4 });
  await admin.query(`create schema ${schema}`);
  const sink = new PostgresCdrSink({ pool: admin }, { schema });
  await sink.createSchema();
  // The host's speed varies between runs a minute apart (the receiving thread's CPU for the same work by up
  // to 1.7x): several rounds and their median say more than one run.
  const rounds = Math.max(1, Number(values.rounds));
  const variants = values.archive ? [false, true] : [false];
  const rates = variants.map(() => [] as number[]);
  const mainMs = variants.map(() => [] as number[]);
  for (let round = 1; round <= rounds; round++) {
    for (const [v, archived] of variants.entries()) {
      const what = `HTTP -> spool -> PostgreSQL${archived ? ' + archive' : ''}`;
      const result = await run(`${what}, round ${round}/${rounds}`, [sink], archived);
      rates[v]?.push(result.stored);
      mainMs[v]?.push(result.mainMsPerCdr);
      const { rows } = await admin.query<{ n: string }>(`select count(*) as n from ${schema}.v_xml_cdr`);
      if (Number(rows[0]?.n) !== count) throw new Error(`round ${round}: ${rows[0]?.n} rows of ${count}`);
      await admin.query(`truncate ${schema}.v_xml_cdr`);
    }
  }
  for (const [v, archived] of variants.entries()) {
    const r = rates[v] as number[];
    console.log(
      `HTTP -> spool -> PostgreSQL${archived ? ' + archive' : ''}, every CDR stored once in each round: ` +
        `median ${Math.round(median(r))} CDR/s (rounds: ${r.map((x) => Math.round(x)).join(', ')}; target >= 1,000); ` +
        `main thread until all stored: median ${median(mainMs[v] as number[]).toFixed(2)} ms per CDR`,
    );
  }
  await admin.query(`drop schema ${schema} cascade`);
  await admin.end();
}
