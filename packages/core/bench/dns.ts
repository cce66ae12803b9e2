/**
 * `pnpm --filter @pbxkit/core bench`: the DNS responder side by side with dnsmasq (and with dns2's own server,
 * the floor it is built on), all serving the same zone on loopback, measured with dnsperf in one run; then the
 * responder's latency while a flood of malformed packets hits it. See the package README for the figures.
 *
 * Options: --seconds <n> per dnsperf round (default 5), --rounds <n> (default 3, interleaved; the median is
 * reported), --flood-rate <packets/s> (default 5000), --probe-rate <queries/s> (default 2000), --strict
 * (exit 1 when a target is missed), --only qps|flood (one half of the run), --outstanding <n> (dnsperf -q,
 * default 100, dnsperf's own default).
 *
 * dnsperf and dnsmasq come from Debian's packages: installed by scripts/services/dns-tools.sh when missing (as
 * root), or named by PBXKIT_TEST_DNSPERF / PBXKIT_TEST_DNSMASQ. dnsmasq runs from a config in a temp dir on a
 * free loopback port, and is stopped at the end; the system's resolver is never touched.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { floodPackets, percentile, probeQuery } from '../test/dns-packets.js';
import { dnsmasqConfig, QUERY_MIX, ZONE } from './bench-zone.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../../..');
const { values: opts } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'flood-rate': { type: 'string', default: '5000' },
    'probe-rate': { type: 'string', default: '2000' },
    strict: { type: 'boolean', default: false },
    only: { type: 'string', default: 'qps,flood' },
    outstanding: { type: 'string', default: '100' },
  },
});
const SECONDS = Number(opts.seconds);
const ROUNDS = Number(opts.rounds);
const FLOOD_RATE = Number(opts['flood-rate']);
const PROBE_RATE = Number(opts['probe-rate']);
const ONLY = new Set((opts.only ?? '').split(','));
const OUTSTANDING = Number(opts.outstanding);
/** The targets. */
const MIN_RATIO = 0.4;
const MAX_FLOOD_P99_MS = 50;

type Side = 'dnsmasq' | 'pbxkit' | 'dns2';
interface Server {
  side: Side;
  port: number;
  process: ChildProcess;
}

const children: ChildProcess[] = [];
const workDir = mkdtempSync(join(tmpdir(), 'pbxkit-dns-bench-'));

function cleanup(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  rmSync(workDir, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** dnsperf and dnsmasq: from the environment, else installed and located by the test-services script. */
function tools(): { dnsperf: string; dnsmasq: string } {
  let dnsperf = process.env.PBXKIT_TEST_DNSPERF;
  let dnsmasq = process.env.PBXKIT_TEST_DNSMASQ;
  if (!dnsperf || !dnsmasq) {
    const script = join(repoRoot, 'scripts/services/dns-tools.sh');
    const out = execFileSync('bash', [script, 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exported = new Map(
      out
        .split('\n')
        .map((line) => /^export (\w+)=(.*)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1] as string, m[2] as string]),
    );
    dnsperf ??= exported.get('PBXKIT_TEST_DNSPERF');
    dnsmasq ??= exported.get('PBXKIT_TEST_DNSMASQ');
  }
  if (!dnsperf || !dnsmasq)
    throw new Error('dnsperf or dnsmasq not found (see scripts/services/dns-tools.sh)');
  return { dnsperf, dnsmasq };
}

/** A UDP port free on loopback now (dnsmasq takes it a moment later). */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Resolves once a DNS server on `port` answers a query (polled every 100 ms, for at most 10 s). */
async function waitAnswering(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await probeQuery(port, `sip.${ZONE}`, 100)) return;
    if (Date.now() > deadline) throw new Error(`nothing answers DNS on 127.0.0.1:${port}`);
  }
}

async function startDnsmasq(binary: string): Promise<Server> {
  const port = await freePort();
  const conf = join(workDir, 'dnsmasq.conf');
  writeFileSync(conf, dnsmasqConfig(port, join(workDir, 'dnsmasq.pid')));
  // --user: as root dnsmasq would switch to its own system user, which may not exist where only the binary is.
  const args = ['-C', conf, ...(process.getuid?.() === 0 ? ['--user=root'] : [])];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  await waitAnswering(port);
  return { side: 'dnsmasq', port, process: child };
}

async function startNodeServer(side: 'pbxkit' | 'dns2'): Promise<Server> {
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, join(here, 'dns-server.ts'), side], {
    env: { ...process.env, TSX_TSCONFIG_PATH: join(here, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      out += text;
      const ready = /READY (\d+)/.exec(out);
      if (ready) resolve(Number(ready[1]));
    });
    child.on('exit', (code) => reject(new Error(`${side} server exited with ${code}`)));
  });
  return { side, port, process: child };
}

/** CPU seconds (user + system) a process has used, from /proc (Linux), or undefined elsewhere. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

interface PerfResult {
  qps: number;
  lost: number;
  sent: number;
  cpuPerQueryMicros: number | undefined;
  latenciesMs: number[];
}

/** One dnsperf run against `server`; with `verbose`, every answer's latency is collected too. */
async function dnsperf(
  binary: string,
  server: Server,
  extra: string[],
  verbose = false,
): Promise<PerfResult> {
  const queries = join(workDir, 'queries.txt');
  writeFileSync(queries, `${QUERY_MIX}\n`);
  const args = ['-s', '127.0.0.1', '-p', String(server.port), '-d', queries, '-l', String(SECONDS), ...extra];
  if (verbose) args.push('-v');
  const cpu0 = cpuSeconds(server.process.pid);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      text += chunk;
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`dnsperf exited ${code}:\n${text}`)),
    );
  });
  const cpu1 = cpuSeconds(server.process.pid);
  const number = (label: string) => Number(new RegExp(`${label}:\\s+([\\d.]+)`).exec(out)?.[1] ?? Number.NaN);
  const completed = number('Queries completed');
  const latenciesMs = verbose
    ? out
        .split('\n')
        .map((line) => /^> \S+ \S+ \S+ ([\d.]+)$/.exec(line))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]) * 1000)
    : [];
  return {
    qps: number('Queries per second'),
    lost: number('Queries lost'),
    sent: number('Queries sent'),
    cpuPerQueryMicros:
      cpu0 !== undefined && cpu1 !== undefined && completed > 0
        ? ((cpu1 - cpu0) * 1e6) / completed
        : undefined,
    latenciesMs,
  };
}

/**
 * Sends malformed packets to `port` at `rate` a second until `signal` fires; resolves with the rate achieved.
 * Bounded: it stops with the dnsperf run it accompanies.
 */
async function flood(port: number, rate: number, signal: AbortSignal): Promise<number> {
  const socket = createSocket('udp4');
  const packets = floodPackets();
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) * rate) / 1000);
      for (; sent < due; sent++) socket.send(packets[sent % packets.length] as Buffer, port, '127.0.0.1');
    }, 5);
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      resolve();
    });
  });
  const elapsedMs = performance.now() - started;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return (sent * 1000) / elapsedMs;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';

/** Throughput of each server, rounds interleaved; true when the responder reaches the target ratio. */
async function measureQps(dnsperfBin: string, servers: Server[]): Promise<boolean> {
  console.log(
    `dnsperf -l ${SECONDS} -q ${OUTSTANDING} (1 client), ${ROUNDS} rounds interleaved, median; query mix: ` +
      'A, AAAA, SRV, NAPTR, NXDOMAIN',
  );
  const load = ['-q', String(OUTSTANDING)];
  const results = new Map<Side, PerfResult[]>(servers.map((s) => [s.side, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of servers) results.get(server.side)?.push(await dnsperf(dnsperfBin, server, load));
  }
  const qps = (side: Side) => median((results.get(side) ?? []).map((r) => r.qps));
  const cpu = (side: Side) => median((results.get(side) ?? []).map((r) => r.cpuPerQueryMicros ?? Number.NaN));
  for (const server of servers) {
    const runs = results.get(server.side) ?? [];
    console.log(
      `  ${server.side.padEnd(8)} ${fmt(qps(server.side)).padStart(8)} qps   rounds ${runs.map((r) => fmt(r.qps)).join(', ')}` +
        `   lost ${runs.reduce((n, r) => n + r.lost, 0)}   CPU ${fmt(cpu(server.side), 1)} µs/query`,
    );
  }
  const ratio = qps('pbxkit') / qps('dnsmasq');
  console.log(
    `pbxkit / dnsmasq: ${ratio.toFixed(2)} (target >= ${MIN_RATIO}: ${ratio >= MIN_RATIO ? 'met' : 'MISSED'}); ` +
      `by CPU per query (less sensitive to the machine's load): ${(cpu('dnsmasq') / cpu('pbxkit')).toFixed(2)}`,
  );
  console.log(
    `dns2 / dnsmasq:   ${(qps('dns2') / qps('dnsmasq')).toFixed(2)}; by CPU per query: ` +
      `${(cpu('dnsmasq') / cpu('dns2')).toFixed(2)} (dns2's own server, for reference)`,
  );
  return ratio >= MIN_RATIO;
}

/**
 * Latency of valid queries at a steady rate, without and with the malformed flood, rounds interleaved between
 * dnsmasq and the responder; true when the responder's median flood p99 is on target and nothing was lost.
 */
async function measureFlood(dnsperfBin: string, servers: Server[]): Promise<boolean> {
  const probe = ['-Q', String(PROBE_RATE), '-q', '500', '-t', '1'];
  console.log(
    `valid queries at ${fmt(PROBE_RATE)}/s for ${SECONDS} s, without and with a flood of ${fmt(FLOOD_RATE)} ` +
      `malformed packets/s, ${ROUNDS} rounds interleaved:`,
  );
  const sides = servers.filter((s) => s.side !== 'dns2');
  const runs = new Map<Side, Array<{ calm: PerfResult; stormy: PerfResult; floodRate: number }>>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const server of sides) {
      const calm = await dnsperf(dnsperfBin, server, probe, true);
      const controller = new AbortController();
      const flooding = flood(server.port, FLOOD_RATE, controller.signal);
      const stormy = await dnsperf(dnsperfBin, server, probe, true);
      controller.abort();
      runs.set(server.side, [...(runs.get(server.side) ?? []), { calm, stormy, floodRate: await flooding }]);
    }
  }
  const p99 = (r: PerfResult) => percentile(r.latenciesMs, 0.99);
  const list = (values: number[]) => values.map((v) => fmt(v, 1)).join(', ');
  let ok = true;
  for (const server of sides) {
    const rounds = runs.get(server.side) ?? [];
    const calm = rounds.map((r) => p99(r.calm));
    const stormy = rounds.map((r) => p99(r.stormy));
    const lost = rounds.reduce((n, r) => n + r.stormy.lost, 0);
    const cpu = median(rounds.map((r) => r.stormy.cpuPerQueryMicros ?? Number.NaN));
    console.log(
      `  ${server.side.padEnd(8)} p99 without flood ${fmt(median(calm), 2)} ms (${list(calm)}); with flood ` +
        `${fmt(median(stormy), 2)} ms (${list(stormy)}), p50 ${fmt(median(rounds.map((r) => percentile(r.stormy.latenciesMs, 0.5))), 2)} ms, ` +
        `${lost} lost, flood ${fmt(median(rounds.map((r) => r.floodRate)))}/s, CPU ${fmt(cpu, 1)} µs per valid query`,
    );
    if (server.side === 'pbxkit') {
      ok = median(stormy) < MAX_FLOOD_P99_MS && lost === 0;
      console.log(
        `flood p99 ${fmt(median(stormy), 2)} ms (target < ${MAX_FLOOD_P99_MS} ms, none lost: ${ok ? 'met' : 'MISSED'})`,
      );
    }
  }
  return ok;
}

async function main(): Promise<void> {
  const { dnsperf: dnsperfBin, dnsmasq } = tools();
  const dnsmasqVersion = execFileSync(dnsmasq, ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const servers: Server[] = [await startDnsmasq(dnsmasq), await startNodeServer('pbxkit')];
  if (ONLY.has('qps')) servers.push(await startNodeServer('dns2'));
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `DNS responder benchmark: Node ${process.version}, ${availableParallelism()} CPUs, load average ${load}; ` +
      `${dnsmasqVersion}`,
  );
  // Warm-up: lets V8 optimise the Node servers' hot paths before anything is measured.
  for (const server of servers.slice(1)) await dnsperf(dnsperfBin, server, ['-l', '2']);
  const qpsOk = ONLY.has('qps') ? await measureQps(dnsperfBin, servers) : true;
  const floodOk = ONLY.has('flood') ? await measureFlood(dnsperfBin, servers) : true;
  if (opts.strict && !(qpsOk && floodOk)) process.exitCode = 1;
}

try {
  await main();
} finally {
  cleanup();
}
