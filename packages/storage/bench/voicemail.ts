/**
 * `bash scripts/with-test-services.sh pnpm --filter @pbxkit/storage bench:voicemail`: how soon a voicemail left
 * on node A can be played from node B's disk and fetched from the portal (GET /voicemail/...), over
 * BENCH_VM_MESSAGES (default 200) messages of 150 KB, three nodes (FakeFreeSwitch events, the test PostgreSQL,
 * radosgw), side by side with what an operator would set up instead: a periodic sync (the agent with no
 * notifier, reconciling every second, like an rsync cron job at its most eager). Prints p50/p95/p99/max.
 */
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pgClient } from '@pbxkit/core';
import { createVoicemailHandler, ModVoicemailIndex } from '../src/index.js';
import { s3Backend } from '../test/s3-helpers.js';
import { type RunningNode, startNode } from '../test/vm-cluster.js';
import { leaveMessage, MOD_VOICEMAIL_DDL, ownDatabase } from '../test/vm-helpers.js';

const MESSAGES = Number(process.env.BENCH_VM_MESSAGES ?? 200);
const SIZE = 150_000;
const BOX = { domain: 'bench.example.com', user: '1000' };

function percentiles(values: number[]): string {
  const s = [...values].sort((x, y) => x - y);
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
  return `p50 ${at(50).toFixed(0)} ms, p95 ${at(95).toFixed(0)} ms, p99 ${at(99).toFixed(0)} ms, max ${at(100).toFixed(0)} ms`;
}

async function until(check: () => Promise<boolean>, started: number, limitMs = 60_000): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

async function scenario(
  name: string,
  count: number,
  withNotifier: boolean,
): Promise<{ disk: number[]; portal: number[] }> {
  const db = await ownDatabase('pbxkit_vm_bench');
  await db.pool.query(MOD_VOICEMAIL_DDL);
  const shared = s3Backend(`pbxkit-vmbench-${process.pid}-${Date.now().toString(36)}`, {
    prefix: 'voicemail',
  });
  await shared.ensureBucket();
  const extra = withNotifier ? {} : { notifier: undefined, reconcileIntervalMs: 1000 };
  const nodes: RunningNode[] = [];
  for (const n of ['a', 'b', 'c']) nodes.push(await startNode(n, db, shared, extra));
  const [a, b] = nodes as [RunningNode, RunningNode];
  const portal = createVoicemailHandler({ index: new ModVoicemailIndex(pgClient(db.pool)), shared });
  const server = http.createServer((req, res) => void portal(req, res)).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/voicemail`;
  const disk: number[] = [];
  const fetched: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const msg = await leaveMessage(a, db.pool, BOX, SIZE);
      const [d, p] = await Promise.all([
        until(async () => (await stat(join(b.root, msg.key)).catch(() => undefined))?.size === SIZE, started),
        until(async () => (await status(`${base}/${BOX.domain}/${BOX.user}/${msg.uuid}`)) === 200, started),
      ]);
      disk.push(d);
      fetched.push(p);
    }
  } finally {
    server.close();
    for (const node of nodes) await node.stop();
    await db.drop();
  }
  console.log(`${name} (${count} messages of ${SIZE / 1000} KB)`);
  console.log(`  on B's disk:     ${percentiles(disk)}`);
  console.log(`  from the portal: ${percentiles(fetched)}`);
  return { disk, portal: fetched };
}

const p99 = (v: number[]) => [...v].sort((x, y) => x - y)[Math.ceil(0.99 * v.length) - 1] as number;
const agent = await scenario('agent with notifier (LISTEN/NOTIFY)', MESSAGES, true);
const sync = await scenario('periodic sync every 1 s (no notifier)', Math.min(MESSAGES, 50), false);
console.log(
  `p99 on B's disk: agent ${p99(agent.disk).toFixed(0)} ms vs periodic sync ${p99(sync.disk).toFixed(0)} ms (${(p99(sync.disk) / p99(agent.disk)).toFixed(1)}x); ` +
    `1 s goal ${p99(agent.disk) <= 1000 && p99(agent.portal) <= 1000 ? 'met' : 'NOT met'} (disk and portal p99)`,
);
process.exit(0);
