// pnpm --filter @pbxkit/ami bench: @pbxkit/ami against asterisk-manager, side by side, over real loopback TCP
// against the same FakeAsterisk and the same bytes. Each run is a separate client process; the best of
// BENCH_RUNS (default 3) counts. Sizes: BENCH_EVENTS (default 200000), BENCH_ACTIONS (default 100000).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBenchServer } from './server.mjs';

const run = promisify(execFile);
const client = fileURLToPath(new URL('./client.mjs', import.meta.url));
const events = Number(process.env.BENCH_EVENTS ?? 200_000);
const actions = Number(process.env.BENCH_ACTIONS ?? 100_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);

const server = await startBenchServer();

async function best(lib, scenario, n) {
  let top;
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, [client, lib, scenario, String(server.port), String(n)], {
      maxBuffer: 1 << 20,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1));
    if (!top || result.rate > top.rate)
      top = { ...result, maxRssMiB: Math.max(result.maxRssMiB, top?.maxRssMiB ?? 0) };
  }
  return top;
}

const fmt = (x) => Math.round(x).toLocaleString('en-US');
const rows = [];
for (const [scenario, n, target] of [
  ['events', events, 6],
  ['actions', actions, 2],
]) {
  const baseline = await best('asterisk-manager', scenario, n);
  const ours = await best('pbxkit', scenario, n);
  rows.push({ scenario, n, baseline, ours, ratio: ours.rate / baseline.rate, target });
}
await server.close();

console.log(`\n@pbxkit/ami vs asterisk-manager (node ${process.version}, best of ${runs}, loopback TCP)\n`);
console.log(
  'scenario                      | asterisk-manager       | @pbxkit/ami            | ratio  | target',
);
console.log(
  '------------------------------|------------------------|------------------------|--------|-------',
);
for (const r of rows) {
  const label = r.scenario === 'events' ? `events (${fmt(r.n)})` : `actions, 100 in flight (${fmt(r.n)})`;
  const cell = (x) => `${fmt(x.rate)}/s ${x.misrouted ? `${x.misrouted} misrouted` : ''}`.padEnd(22);
  console.log(
    `${label.padEnd(30)}| ${cell(r.baseline)} | ${cell(r.ours)} | ${r.ratio.toFixed(2).padStart(5)}x | >=${r.target}x`,
  );
}
console.log('\npeak RSS (MiB, per client process)');
for (const r of rows) {
  console.log(
    `  ${r.scenario.padEnd(8)} asterisk-manager ${r.baseline.maxRssMiB.toFixed(1).padStart(7)}   @pbxkit/ami ${r.ours.maxRssMiB.toFixed(1).padStart(7)}`,
  );
}
const misrouted = rows.reduce((sum, r) => sum + r.ours.misrouted, 0);
console.log(`\n@pbxkit/ami misrouted responses: ${misrouted}`);
const failed = rows.filter((r) => r.ratio < r.target);
if (failed.length > 0 || misrouted > 0) {
  console.log(`below target: ${failed.map((r) => r.scenario).join(', ') || 'misrouted responses'}`);
  process.exitCode = 1;
}
