// Benchmark of the realtime cluster view: 3 FakeFreeSwitch nodes (in a child process) replay the recorded events
// of fixtures/esl and fixtures/fs-modules/esl as fast as their sockets take them; FreeSwitchCluster (this process)
// follows all three. Prints events/s applied end to end (wire → EslParser → EslEvent → ClusterState), beside the
// rate of ClusterState alone on the same events (no I/O), and checks the state after each replay.
//
//   pnpm --filter @pbxkit/esl bench:cluster               # ~30-60 s on 2 cores
//   pnpm --filter @pbxkit/esl bench:cluster -- --scale 0.2
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CLUSTER_EVENTS,
  ClusterState,
  EslClient,
  EslEvent,
  EslParser,
  FreeSwitchCluster,
  isEventFrame,
} from '@pbxkit/esl';
import type { FakesReply, FakesRequest } from './cluster-fakes.js';
import { REPLAYED } from './cluster-fakes.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
const REPEAT = Math.max(1, Math.round(1500 * scale));
const ROUNDS = 4;
const TARGET = 30_000;

/** The recorded events a node subscribed as the view is would get (the fake sends only those). */
function subscribedEvents(): EslEvent[] {
  const names = new Set(CLUSTER_EVENTS.filter((n) => n === n.toUpperCase()));
  const subclasses = new Set(CLUSTER_EVENTS.filter((n) => n !== n.toUpperCase()));
  return REPLAYED.flatMap((path) =>
    new EslParser()
      .feed(readFileSync(path))
      .filter((f) => isEventFrame(f))
      .map((f) => EslEvent.fromFrame(f)),
  ).filter((e) => names.has(e.name) && (e.name !== 'CUSTOM' || subclasses.has(e.subclass ?? '')));
}

/** ClusterState alone over the same events (decoded headers, no sockets): the ceiling of the wiring. */
function stateAlone(events: EslEvent[], repeat: number): number {
  const state = new ClusterState();
  for (const node of ['fs1', 'fs2', 'fs3']) {
    state.apply({ type: 'syncing', node, at: 0 });
    state.apply({ type: 'snapshot', node, at: 0, snapshot: { channels: [], calls: [], registrations: [] } });
  }
  for (const e of events) void e.headerMap; // decoded once, as the wire path decodes each event once
  const started = performance.now();
  for (let r = 0; r < repeat; r++)
    for (const node of ['fs1', 'fs2', 'fs3'])
      for (const event of events) state.apply({ type: 'event', node, event });
  return (events.length * repeat * 3) / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const events = subscribedEvents();
  const perNode = events.length * REPEAT;
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(here, 'cluster-fakes.ts')], {
    env: { ...process.env, TSX_TSCONFIG_PATH: join(here, 'tsconfig.json') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: Array<(reply: FakesReply) => void> = [];
  child.on('message', (reply: FakesReply) => replies.shift()?.(reply));
  const ask = (request: FakesRequest | undefined) =>
    new Promise<FakesReply>((resolve) => {
      replies.push(resolve);
      if (request) child.send(request);
    });
  const { ports } = (await ask(undefined)) as { ports: number[] };

  const clients = ports.map((port) => new EslClient({ port, password: 'ClueCon', keepalive: false }));
  const cluster = new FreeSwitchCluster({
    nodes: { fs1: clients[0], fs2: clients[1], fs3: clients[2] } as never,
  });
  const snapStart = performance.now();
  await cluster.start();
  const snapMs = performance.now() - snapStart;
  const regs = cluster.registrations().length;
  if (cluster.nodes().some((n) => n.status !== 'up') || regs !== 3000)
    throw new Error(`snapshot incomplete: ${JSON.stringify(cluster.nodes())}, ${regs} registrations`);
  let changes = 0;
  cluster.on('change', () => changes++);

  const applied = () => cluster.nodes().reduce((sum, n) => sum + n.events, 0);
  const rates: number[] = [];
  const cpuRates: number[] = [];
  console.log(
    `cluster view: 3 nodes x ${REPEAT} replays x ${events.length} recorded events = ${3 * perNode} events per round` +
      ` (snapshot of 3 x 1000 registrations + callcenter lists: ${snapMs.toFixed(0)} ms)`,
  );
  for (let round = 0; round <= ROUNDS; round++) {
    const before = applied();
    const target = before + 3 * perNode;
    const started = performance.now();
    const cpu = process.cpuUsage();
    const done = new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`stalled at ${applied() - before} of ${3 * perNode}`)),
        300_000,
      );
      const check = () => {
        if (applied() < target) return;
        clearTimeout(deadline);
        clearInterval(poll);
        resolve();
      };
      // Not a sleep for synchronisation: the count is read from the state, 20 times a second, until it is reached.
      const poll = setInterval(check, 50);
    });
    const written = (await ask({ replay: REPEAT })) as { written: number; ms: number };
    await done;
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    if (written.written !== 3 * perNode)
      throw new Error(`the fakes wrote ${written.written}, expected ${3 * perNode}`);
    // State after the replay: every replayed call ended (no channel left), the member left its queue, the
    // agents are where the recording left them, and the snapshot's registrations are untouched.
    const agents = cluster.agents().map((a) => `${a.node}:${a.name}:${a.status}`);
    const ok =
      cluster.channels().length === 0 &&
      cluster.members().length === 0 &&
      cluster.registrations().length === 3000 &&
      agents.filter((a) => a.endsWith('agent-a@default:Logged Out')).length === 3 &&
      agents.filter((a) => a.endsWith('agent-b@default:On Break')).length === 3;
    if (!ok) throw new Error(`state wrong after round ${round}: ${JSON.stringify(agents)}`);
    const rate = (3 * perNode) / seconds;
    const perCpu = (3 * perNode) / cpuSeconds;
    console.log(
      `${round === 0 ? 'warm-up' : `round ${round}`}: ${Math.round(rate).toLocaleString('en')} events/s` +
        ` (${seconds.toFixed(2)} s; the view used ${cpuSeconds.toFixed(2)} s of CPU = ${Math.round(perCpu).toLocaleString('en')}` +
        ` events per CPU-second; fakes wrote for ${(written.ms / 1000).toFixed(2)} s; state correct)`,
    );
    if (round > 0) {
      rates.push(rate);
      cpuRates.push(perCpu);
    }
  }
  const best = Math.max(...rates);
  const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)] as number;
  const alone = stateAlone(events, REPEAT);
  console.log(`changes emitted: ${changes.toLocaleString('en')}`);
  console.log(
    `SUMMARY end to end: best ${Math.round(best).toLocaleString('en')} events/s, median ${Math.round(median).toLocaleString('en')}` +
      ` (target >= ${TARGET.toLocaleString('en')}: ${best >= TARGET ? 'met' : 'NOT met'}); ClusterState alone:` +
      ` ${Math.round(alone).toLocaleString('en')} events/s (${(alone / best).toFixed(1)}x the end-to-end rate);` +
      ` per CPU-second of the view: best ${Math.round(Math.max(...cpuRates)).toLocaleString('en')} events` +
      ` (what one free core would sustain)`,
  );
  await cluster.stop();
  await Promise.all(clients.map((c) => c.close()));
  child.send({ stop: true } satisfies FakesRequest);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
