/**
 * `pnpm --filter @pbxkit/esl bench`: @pbxkit/esl side by side with modesl, on the same bytes, each side of each
 * scenario in its own process (so peak RSS is its own). See README.md.
 *
 * Options: --scale <f> (multiplies every count, e.g. 0.2 for a smoke run), --only <plain,json,api>.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FakeFreeSwitch } from '../src/testing/index.js';
import { median, type ParseSide, RESULT_PREFIX, type WorkerResult } from './common.js';
import { CHUNK_BYTES, eventCycle } from './streams.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { values: opts } = parseArgs({
  // `pnpm bench -- --scale 0.2` passes the `--` through.
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: { scale: { type: 'string', default: '1' }, only: { type: 'string', default: 'plain,json,api' } },
});
const scale = Number(opts.scale);
const only = new Set((opts.only ?? '').split(','));
const n = (count: number) => Math.max(1, Math.round(count * scale));

// Counts: chosen so the whole run stays well under a minute on 2 cores.
const PARSE_EVENTS = n(50_000);
const PARSE_WARMUP = n(5_000);
const SEQ_CALLS = n(4_000);
const SEQ_WARMUP = n(1_000);
// Pipelined calls need a long warm-up: the client's hot path is only optimised after several thousand calls.
const PIPE_CALLS = n(50_000);
const PIPE_WARMUP = n(10_000);
const WINDOW = 100;
/** Rounds of each api measurement; `rate` is the best round. */
const ROUNDS = 5;
/** Rounds of each parse process (two processes per side: 6 rounds in all). */
const PARSE_ROUNDS = 3;
/** Per api run: modesl with Nagle answers a sequential call every ~40 ms, so its runs end on this budget. */
const API_BUDGET_MS = 2_500 * Math.min(1, scale * 2);

const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const workerPath = join(here, 'worker.ts');

function runWorker(args: Array<string | number>): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, workerPath, ...args.map(String)], {
      env: { ...process.env, TSX_TSCONFIG_PATH: join(here, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      out += text;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) {
        reject(new Error(`worker ${args.join(' ')} exited with ${code}:\n${out}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as WorkerResult);
    });
  });
}

async function apiWorker(args: Array<string | number>): Promise<WorkerResult> {
  // A fresh fake per run: its command log grows with every call, and each run starts from the same state.
  const fake = await FakeFreeSwitch.start();
  fake.onApi('echo', (text) => `${text}\n`);
  try {
    const [scenario, side, ...rest] = args;
    const cpu0 = process.cpuUsage();
    const result = await runWorker(['api', scenario as string, side as string, fake.port, ...rest]);
    const cpu = process.cpuUsage(cpu0);
    const served = fake.received.filter((r) => r.command.startsWith('api echo ')).length;
    result.serverCpuMicrosPerOp = (cpu.user + cpu.system) / Math.max(1, served);
    return result;
  } finally {
    await fake.stop();
  }
}

const progress = (text: string) => process.stderr.write(`  ${text}\n`);
const started = performance.now();
const results: WorkerResult[] = [];
async function measure(label: string, run: () => Promise<WorkerResult>): Promise<WorkerResult> {
  const t0 = performance.now();
  const result = await run();
  progress(`${label}: ${fmtRate(result.rate)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return result;
}

/** One side measured in several processes: every round counts (best, median), peak RSS is the highest. */
function merge(parts: WorkerResult[]): WorkerResult {
  const [first] = parts as [WorkerResult];
  const rounds = parts.flatMap((p) => p.rounds);
  const ops = parts.reduce((sum, p) => sum + p.ops, 0);
  return {
    ...first,
    ops,
    elapsedMs: parts.reduce((sum, p) => sum + p.elapsedMs, 0),
    rate: Math.max(...rounds),
    rounds,
    medianRate: median(rounds),
    cpuMicrosPerOp: parts.reduce((sum, p) => sum + p.cpuMicrosPerOp * p.ops, 0) / ops,
    idleRssKiB: Math.min(...parts.map((p) => p.idleRssKiB)),
    maxRssKiB: Math.max(...parts.map((p) => p.maxRssKiB)),
  };
}

/**
 * Parse scenarios: each side runs twice, in A B ... B A order, half the events each time, so that a burst of
 * other load on the machine does not fall on one side only.
 */
async function parseSides(scenario: 'plain' | 'json', sides: ParseSide[]): Promise<WorkerResult[]> {
  const half = Math.ceil(PARSE_EVENTS / 2);
  const runs = new Map<ParseSide, WorkerResult[]>();
  for (const side of [...sides, ...[...sides].reverse()]) {
    const result = await measure(`${scenario} ${side}`, () =>
      runWorker(['parse', scenario, side, half, PARSE_WARMUP, PARSE_ROUNDS]),
    );
    runs.set(side, [...(runs.get(side) ?? []), result]);
  }
  const merged = sides.map((side) => merge(runs.get(side) ?? []));
  results.push(...merged);
  return merged;
}

// ---------------------------------------------------------------------------------------------------------
// Formatting

const fmtInt = (v: number) => Math.round(v).toLocaleString('en-US');
const fmtRate = (v: number) => `${fmtInt(v)}/s`;
const fmtMiB = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const fmtRatio = (v: number) => `${v >= 10 ? v.toFixed(1) : v.toFixed(2)}x`;

interface Row {
  id: string;
  label: string;
  unit: string;
  pbxkit: WorkerResult;
  modesl: WorkerResult;
  target: number | undefined;
  note?: string;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Run

const modeslVersion = (
  JSON.parse(readFileSync(require.resolve('modesl/package.json'), 'utf8')) as { version: string }
).version;
const cpu = cpus();
const machine = `node ${process.version}, ${process.platform} ${process.arch}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? '?'})`;
console.log(`@pbxkit/esl vs modesl ${modeslVersion}: ${machine}`);
const plainCycle = eventCycle('12-event-plain-all-during-call.txt', 'text/event-plain');
const jsonCycle = eventCycle('13-event-json-during-call.txt', 'text/event-json');
for (const c of [plainCycle, jsonCycle]) {
  // As worker.ts cuts it: each process parses PARSE_ROUNDS rounds of whole repeats of the cycle.
  const repeats = Math.max(1, Math.ceil(Math.ceil(PARSE_EVENTS / 2) / PARSE_ROUNDS / c.events));
  const rounds = 2 * PARSE_ROUNDS;
  console.log(
    `stream ${c.contentType}: the ${c.events} events of ${c.fixture} (${fmtInt(c.bytes.length)} bytes)` +
      ` x ${repeats} = ${fmtInt(repeats * c.events)} events, ${((c.bytes.length * repeats) / 1048576).toFixed(1)} MiB` +
      ` per round, in ${CHUNK_BYTES / 1024} KiB chunks; ${rounds} rounds per side = ${fmtInt(rounds * repeats * c.events)} events`,
  );
}
progress('running (each side of each scenario in its own process)...');

const rows: Row[] = [];
if (only.has('plain')) {
  const [modesl, full, map, lazy] = (await parseSides('plain', [
    'modesl',
    'pbxkit-full',
    'pbxkit-map',
    'pbxkit-lazy',
  ])) as [WorkerResult, WorkerResult, WorkerResult, WorkerResult];
  rows.push(
    {
      id: 'plain-full',
      label: 'text/event-plain, every header decoded',
      unit: 'events',
      pbxkit: full,
      modesl,
      target: 5,
    },
    {
      id: 'plain-full-map',
      label: 'text/event-plain, every header decoded (headerMap)',
      unit: 'events',
      pbxkit: map,
      modesl,
      target: 5,
      note: 'modesl: same run as above',
    },
    {
      id: 'plain-lazy',
      label: 'text/event-plain, framing only (name)',
      unit: 'events',
      pbxkit: lazy,
      modesl,
      target: 20,
      note: 'modesl: same run as above (it always decodes)',
    },
  );
}
if (only.has('json')) {
  const [modesl, full, floor] = (await parseSides('json', ['modesl', 'pbxkit-full', 'json-floor'])) as [
    WorkerResult,
    WorkerResult,
    WorkerResult,
  ];
  rows.push(
    {
      id: 'json-full',
      label: 'text/event-json, every header decoded',
      unit: 'events',
      pbxkit: full,
      modesl,
      target: 2,
    },
    {
      // What any JSON.parse-based decoder pays: pbxkit's framing plus JSON.parse of each body, nothing else.
      id: 'json-floor',
      label: 'text/event-json: floor (framing + JSON.parse only)',
      unit: 'events',
      pbxkit: floor,
      modesl,
      target: undefined,
      note: 'modesl: same run as above',
    },
  );
}
if (only.has('api')) {
  for (const [scenario, calls, warmup, label] of [
    ['api-seq', SEQ_CALLS, SEQ_WARMUP, 'api round trips, sequential'],
    ['api-pipe', PIPE_CALLS, PIPE_WARMUP, `api round trips, ${WINDOW} in flight`],
  ] as const) {
    // Only modesl with Nagle needs the time budget; the others get one that never ends a healthy run.
    const args = (side: string) => [
      scenario,
      side,
      calls,
      warmup,
      side === 'modesl' ? API_BUDGET_MS : 60_000,
      WINDOW,
      ROUNDS,
    ];
    const pbxkit = await measure(`${scenario} pbxkit`, () => apiWorker(args('pbxkit')));
    const noDelay = await measure(`${scenario} modesl (Nagle off)`, () => apiWorker(args('modesl-nodelay')));
    const shipped = await measure(`${scenario} modesl (as shipped)`, () => apiWorker(args('modesl')));
    results.push(pbxkit, noDelay, shipped);
    rows.push(
      {
        id: `${scenario}-nodelay`,
        label: `${label} vs modesl, Nagle off`,
        unit: 'calls',
        pbxkit,
        modesl: noDelay,
        target: 1.5,
      },
      {
        id: `${scenario}-shipped`,
        label: `${label} vs modesl as shipped`,
        unit: 'calls',
        pbxkit,
        modesl: shipped,
        target: undefined,
      },
    );
    if (scenario === 'api-seq') {
      // What no client can go below: the loopback round trip and the fake server's own work per call.
      const floor = await measure(`${scenario} bare socket floor`, () => apiWorker(args('floor')));
      results.push(floor);
      rows.push({
        id: `${scenario}-floor`,
        label: `${label}: bare-socket floor (no library) vs modesl, Nagle off`,
        unit: 'calls',
        pbxkit: floor,
        modesl: noDelay,
        target: undefined,
      });
    }
  }
}
const totalSeconds = (performance.now() - started) / 1000;

// Same bytes must give the same values on both sides.
const checks: string[] = [];
for (const row of rows.filter((r) => r.unit === 'events')) {
  const expected = row.id === 'plain-lazy' ? row.modesl.checksumName : row.modesl.checksum;
  const same = row.pbxkit.ops === row.modesl.ops && row.pbxkit.checksum === expected;
  checks.push(
    `${row.id}: ${same ? 'same events and header values on both sides' : 'MISMATCH between the sides'}`,
  );
  if (!same) process.exitCode = 1;
}

console.log('');
console.log(
  table(
    [
      'scenario',
      'pbxkit',
      'modesl',
      'pbxkit/modesl',
      'target',
      'median ratio',
      'CPU ratio',
      'pbxkit RSS',
      'modesl RSS',
    ],
    rows.map((r) => [
      r.label,
      fmtRate(r.pbxkit.rate),
      fmtRate(r.modesl.rate),
      fmtRatio(r.pbxkit.rate / r.modesl.rate),
      r.target === undefined ? '-' : `>= ${r.target}x`,
      fmtRatio(r.pbxkit.medianRate / r.modesl.medianRate),
      fmtRatio(r.modesl.cpuMicrosPerOp / r.pbxkit.cpuMicrosPerOp),
      fmtMiB(r.pbxkit.maxRssKiB),
      fmtMiB(r.modesl.maxRssKiB),
    ]),
  ),
);
const workers = [...new Set(results)];
const idle = workers.map((w) => w.idleRssKiB);
console.log(
  `Rates: events or calls per second of wall time, best round (of ${2 * PARSE_ROUNDS} in 2 processes per parse side, ${ROUNDS} per api side; median ratio: of the medians;` +
    ` CPU ratio: modesl's CPU time per event or call over pbxkit's, in the client process, less sensitive to` +
    ` other load on the machine).` +
    `\nRSS: peak (process.resourceUsage().maxRSS) of the side's own process; the tsx loader alone holds` +
    ` ${fmtMiB(Math.min(...idle))}-${fmtMiB(Math.max(...idle))} of it (RSS before any work).`,
);
const parseResults = workers.filter((w) => !w.scenario.startsWith('api'));
if (parseResults.length) {
  console.log('');
  console.log(
    table(
      ['parse run', 'events', 'seconds', 'best/s', 'median/s', 'CPU us/event', 'idle RSS', 'peak RSS'],
      parseResults.map((w) => [
        `${w.scenario} ${w.side}`,
        fmtInt(w.ops),
        (w.elapsedMs / 1000).toFixed(2),
        fmtInt(w.rate),
        fmtInt(w.medianRate),
        w.cpuMicrosPerOp.toFixed(1),
        fmtMiB(w.idleRssKiB),
        fmtMiB(w.maxRssKiB),
      ]),
    ),
  );
}
const apiResults = workers.filter((w) => w.scenario.startsWith('api'));
if (apiResults.length) {
  console.log('');
  console.log(
    table(
      [
        'api run',
        'calls',
        'in flight',
        'seconds',
        'best/s',
        'median/s',
        'client CPU us/call',
        'fake CPU us/call',
        'misrouted',
        'note',
      ],
      apiResults.map((w) => [
        `${w.scenario} ${w.side}`,
        fmtInt(w.ops),
        String(w.window ?? 1),
        (w.elapsedMs / 1000).toFixed(2),
        fmtInt(w.rate),
        fmtInt(w.medianRate),
        w.cpuMicrosPerOp.toFixed(1),
        (w.serverCpuMicrosPerOp ?? 0).toFixed(1),
        String(w.misrouted ?? 0),
        w.stalled
          ? 'STALLED: replies stopped coming'
          : w.capped
            ? `time budget ended it (${fmtInt(w.wanted ?? 0)} wanted)`
            : '',
      ]),
    ),
  );
  console.log(
    'CPU us/call: CPU time (user+system) per call of the client process, and of the FakeFreeSwitch process.',
  );
  for (const w of apiResults.filter((r) => r.misroutedExamples?.length)) {
    console.log(
      `  ${w.scenario} ${w.side} misrouted, e.g. ${JSON.stringify(w.misroutedExamples?.slice(0, 3))}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Summary

interface Verdict {
  id: string;
  ratio: number | undefined;
  medianRatio?: number;
  cpuRatio?: number;
  target: string;
  met: boolean | undefined;
}
const verdicts: Verdict[] = rows.map((r) => {
  const ratio = r.pbxkit.rate / r.modesl.rate;
  return {
    id: r.id,
    ratio,
    medianRatio: r.pbxkit.medianRate / r.modesl.medianRate,
    cpuRatio: r.modesl.cpuMicrosPerOp / r.pbxkit.cpuMicrosPerOp,
    target: r.target === undefined ? 'none (information)' : `>= ${r.target}x`,
    met: r.target === undefined ? undefined : ratio >= r.target,
  };
});
const misroutedBySide = new Map<string, { misrouted: number; calls: number; stalled: boolean }>();
for (const w of apiResults) {
  const entry = misroutedBySide.get(w.side) ?? { misrouted: 0, calls: 0, stalled: false };
  entry.misrouted += w.misrouted ?? 0;
  entry.calls += w.answered ?? w.ops;
  entry.stalled ||= w.stalled ?? false;
  misroutedBySide.set(w.side, entry);
}
const pbxkitApi = misroutedBySide.get('pbxkit');
if (pbxkitApi) {
  verdicts.push({
    id: 'api-misrouted-pbxkit',
    ratio: undefined,
    target: '0 misrouted',
    met: pbxkitApi.misrouted === 0 && !pbxkitApi.stalled,
  });
}
console.log('');
console.log('SUMMARY (ratio = pbxkit/modesl, best rounds; median and CPU ratios for comparison)');
for (const v of verdicts) {
  const status = v.met === undefined ? 'info' : v.met ? 'MET' : 'NOT MET';
  const value = v.ratio === undefined ? '' : fmtRatio(v.ratio);
  const extra =
    v.medianRatio === undefined
      ? ''
      : `  (median ${fmtRatio(v.medianRatio)}, CPU ${fmtRatio(v.cpuRatio ?? 0)})`;
  console.log(
    `  ${v.id.padEnd(22)} ${value.padStart(8)}  target ${v.target.padEnd(20)} ${status.padEnd(8)}${extra}`,
  );
}
if (misroutedBySide.size) {
  const parts = [...misroutedBySide].map(
    ([side, m]) => `${side} ${m.misrouted} of ${fmtInt(m.calls)}${m.stalled ? ' (STALLED)' : ''}`,
  );
  console.log(`  misrouted api replies (warm-up calls included): ${parts.join(', ')}`);
}
for (const c of checks) console.log(`  check ${c}`);
console.log(`  total ${totalSeconds.toFixed(1)} s`);

const report = {
  date: new Date().toISOString(),
  machine,
  modesl: modeslVersion,
  counts: {
    PARSE_EVENTS,
    PARSE_WARMUP,
    SEQ_CALLS,
    SEQ_WARMUP,
    PIPE_CALLS,
    PIPE_WARMUP,
    WINDOW,
    API_BUDGET_MS,
    ROUNDS,
    PARSE_ROUNDS,
  },
  rows: rows.map((r) => ({
    id: r.id,
    label: r.label,
    pbxkitRate: r.pbxkit.rate,
    modeslRate: r.modesl.rate,
    ratio: r.pbxkit.rate / r.modesl.rate,
    medianRatio: r.pbxkit.medianRate / r.modesl.medianRate,
    cpuRatio: r.modesl.cpuMicrosPerOp / r.pbxkit.cpuMicrosPerOp,
    target: r.target ?? null,
    met: r.target === undefined ? null : r.pbxkit.rate / r.modesl.rate >= r.target,
    pbxkitMaxRssKiB: r.pbxkit.maxRssKiB,
    modeslMaxRssKiB: r.modesl.maxRssKiB,
  })),
  verdicts,
  workers,
  totalSeconds,
};
const resultsDir = join(here, 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `bench-${report.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(`  results: ${file}`);
console.log(JSON.stringify(report));
