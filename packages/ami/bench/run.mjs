// pnpm --filter @pbxkit/ami bench: @pbxkit/ami against asterisk-manager, side by side, over real loopback TCP
// against the same FakeAsterisk and the same bytes. Each run is a separate client process; the best of
// BENCH_RUNS (default 3) counts, runs of the two libraries alternating. Also printed: items per second of
// client CPU time, which load from other processes disturbs less. Sizes: BENCH_EVENTS (default 400000),
// BENCH_ACTIONS (default 100000), BENCH_SEQUENTIAL (default 5000 sequential Pings, BENCH_SEQ_RUNS rounds,
// default 7, of the three sides in turn: asterisk-manager, @pbxkit/ami and a bare socket, the floor; medians
// count, as a busy machine makes single rounds swing). BENCH_AMI_BEFORE=<dist directory of another build> adds
// that build as a fourth side of the sequential rounds, to compare two versions under the same load.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBenchServer } from './server.mjs';

const run = promisify(execFile);
const client = fileURLToPath(new URL('./client.mjs', import.meta.url));
const events = Number(process.env.BENCH_EVENTS ?? 400_000);
const actions = Number(process.env.BENCH_ACTIONS ?? 100_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const sequential = Number(process.env.BENCH_SEQUENTIAL ?? 5_000);
const seqRuns = Number(process.env.BENCH_SEQ_RUNS ?? 7);

const server = await startBenchServer();

async function once(lib, scenario, n, env = process.env) {
  const { stdout } = await run(process.execPath, [client, lib, scenario, String(server.port), String(n)], {
    maxBuffer: 1 << 20,
    env,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

/** Runs the two libraries alternately, so a change in the machine's load hits both, and keeps the best of each. */
async function bestOfBoth(scenario, n) {
  const best = {};
  for (let i = 0; i < runs; i++) {
    for (const lib of ['asterisk-manager', 'pbxkit']) {
      const r = await once(lib, scenario, n);
      const top = best[lib];
      best[lib] = {
        ...(top && top.rate > r.rate ? top : r),
        cpuRate: Math.max(r.cpuRate, top?.cpuRate ?? 0),
        misrouted: r.misrouted + (top?.misrouted ?? 0),
        maxRssMiB: Math.max(r.maxRssMiB, top?.maxRssMiB ?? 0),
      };
    }
  }
  return [best['asterisk-manager'], best.pbxkit];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Sequential Pings: rounds of the three sides in turn; each side's median rate and median CPU rate. */
async function sequentialRounds(n) {
  const before = process.env.BENCH_AMI_BEFORE;
  const sides = ['asterisk-manager', 'pbxkit', 'bare', ...(before ? ['before'] : [])];
  const results = Object.fromEntries(sides.map((s) => [s, []]));
  for (let i = 0; i < seqRuns; i++) {
    for (const side of sides) {
      const r =
        side === 'before'
          ? await once('pbxkit', 'sequential', n, { ...process.env, BENCH_AMI_DIST: before })
          : await once(side, 'sequential', n);
      results[side].push(r);
    }
  }
  return Object.fromEntries(
    sides.map((s) => [
      s,
      {
        rate: median(results[s].map((r) => r.rate)),
        best: Math.max(...results[s].map((r) => r.rate)),
        cpuRate: median(results[s].map((r) => r.cpuRate)),
        maxRssMiB: Math.max(...results[s].map((r) => r.maxRssMiB)),
      },
    ]),
  );
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const rows = [];
for (const [scenario, n, target] of [
  ['events', events, 6],
  ['actions', actions, 2],
]) {
  if (!(n > 0)) continue;
  const [baseline, ours] = await bestOfBoth(scenario, n);
  rows.push({
    scenario,
    n,
    baseline,
    ours,
    ratio: ours.rate / baseline.rate,
    cpuRatio: ours.cpuRate / baseline.cpuRate,
    target,
  });
}
const seq = sequential > 0 ? await sequentialRounds(sequential) : undefined;
await server.close();

console.log(
  `\n@pbxkit/ami vs asterisk-manager (node ${process.version}, best of ${runs} alternated runs, loopback TCP)\n`,
);
console.log(
  'scenario                          | asterisk-manager     | @pbxkit/ami          | ratio  | target | per CPU-second',
);
console.log(
  '----------------------------------|----------------------|----------------------|--------|--------|---------------',
);
for (const r of rows) {
  const label = r.scenario === 'events' ? `events (${fmt(r.n)})` : `actions, 100 in flight (${fmt(r.n)})`;
  console.log(
    `${label.padEnd(34)}| ${`${fmt(r.baseline.rate)}/s`.padEnd(20)} | ${`${fmt(r.ours.rate)}/s`.padEnd(20)} | ${r.ratio
      .toFixed(2)
      .padStart(5)}x | >=${r.target}x   | ${r.cpuRatio.toFixed(2)}x`,
  );
}
if (seq) {
  const am = seq['asterisk-manager'];
  const ours = seq.pbxkit;
  const floor = seq.bare;
  console.log(
    `\nsequential Pings (${fmt(sequential)} per round, median of ${seqRuns} rounds, best in brackets; one in flight)\n`,
  );
  console.log('side              | rate                    | per CPU-second | @pbxkit/ami is   | target');
  console.log('------------------|-------------------------|----------------|------------------|-------');
  const row = (label, r, ratio, target) =>
    console.log(
      `${label.padEnd(18)}| ${`${fmt(r.rate)}/s (${fmt(r.best)}/s)`.padEnd(24)}| ${`${fmt(r.cpuRate)}/s`.padEnd(15)}| ${ratio === undefined ? ''.padEnd(17) : `${ratio.toFixed(2)}x of it`.padEnd(17)}| ${target}`,
    );
  row('asterisk-manager', am, ours.rate / am.rate, '>=1.0x');
  row('@pbxkit/ami', ours, undefined, '');
  row('bare socket', floor, ours.rate / floor.rate, '>=0.9x');
  if (seq.before) row('the other build', seq.before, ours.rate / seq.before.rate, '(information)');
  console.log(
    `CPU per Ping (client process): asterisk-manager ${(1e6 / am.cpuRate).toFixed(1)} us, @pbxkit/ami ${(1e6 / ours.cpuRate).toFixed(1)} us, bare socket ${(1e6 / floor.cpuRate).toFixed(1)} us`,
  );
  rows.push(
    { scenario: 'sequential vs asterisk-manager', ratio: ours.rate / am.rate, target: 1 },
    { scenario: 'sequential vs bare socket', ratio: ours.rate / floor.rate, target: 0.9 },
  );
}
console.log('\npeak RSS (MiB, per client process)');
for (const r of rows.filter((r) => r.baseline)) {
  console.log(
    `  ${r.scenario.padEnd(8)} asterisk-manager ${r.baseline.maxRssMiB.toFixed(1).padStart(7)}   @pbxkit/ami ${r.ours.maxRssMiB.toFixed(1).padStart(7)}`,
  );
}
const misrouted = rows.reduce((sum, r) => sum + (r.ours?.misrouted ?? 0), 0);
console.log(
  `\nmisrouted responses: @pbxkit/ami ${misrouted}, asterisk-manager ${rows.find((r) => r.scenario === 'actions')?.baseline.misrouted ?? 0}`,
);
const failed = rows.filter((r) => r.ratio < r.target);
if (failed.length > 0 || misrouted > 0) {
  console.log(`below target: ${failed.map((r) => r.scenario).join(', ') || 'misrouted responses'}`);
  process.exitCode = 1;
}
