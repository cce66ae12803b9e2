// One benchmark run in its own process (so its peak RSS is its own): node client.mjs <lib> <scenario> <port> <n>
// Prints one JSON line: { lib, scenario, n, seconds, rate, cpuRate, misrouted, maxRssMiB }; cpuRate is items per
// second of this process's CPU time, a figure that other load on the machine disturbs less than the rate.
// lib: pbxkit, asterisk-manager, or (sequential only) bare: a raw socket, the floor no client can beat.
// BENCH_AMI_DIST points at another build of @pbxkit/ami (default ../dist), to compare two versions.
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';

const dist = process.env.BENCH_AMI_DIST ?? new URL('../dist', import.meta.url).pathname;
const { AmiClient } = await import(pathToFileURL(`${dist}/index.js`).href);

const [lib, scenario, portText, nText] = process.argv.slice(2);
const port = Number(portText);
const n = Number(nText);
const IN_FLIGHT = 100;
// Sequential runs: calls made before the measured interval, so that both sides run warm (JIT-compiled).
const WARMUP = Math.min(1000, Math.ceil(n / 5));
// Events every login brings; not part of the measured stream.
const LOGIN_EVENTS = new Set(['FullyBooted', 'SuccessfulAuth']);

let cpuStart = process.cpuUsage();

/** Starts the measured interval (after connecting and logging in). */
function begin() {
  cpuStart = process.cpuUsage();
  return performance.now();
}

function report(seconds, misrouted = 0) {
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      lib,
      scenario,
      n,
      seconds,
      rate: n / seconds,
      cpuRate: n / cpuSeconds,
      misrouted,
      maxRssMiB,
    }),
  );
  process.exit(0);
}

/** Keeps IN_FLIGHT actions outstanding until n are answered; `send(token, done)` sends one. */
function pump(send) {
  return new Promise((resolve) => {
    let started = 0;
    let answered = 0;
    let misrouted = 0;
    const next = () => {
      const token = `t${started++}`;
      send(token, (echo) => {
        if (echo !== token) misrouted++;
        answered++;
        if (answered === n) resolve(misrouted);
        else if (started < n) next();
      });
    };
    for (let i = 0; i < Math.min(IN_FLIGHT, n); i++) next();
  });
}

async function pbxkit() {
  const client = new AmiClient({
    host: '127.0.0.1',
    port,
    username: 'bench',
    secret: 'bench',
    keepalive: false,
    keepaliveMs: 0, // the same for builds before `keepalive` (BENCH_AMI_DIST)
  });
  await client.connect();
  if (scenario === 'sequential') {
    for (let i = 0; i < WARMUP; i++) await client.action({ Action: 'Ping' });
    const t0 = begin();
    for (let i = 0; i < n; i++) await client.action({ Action: 'Ping' });
    return report((performance.now() - t0) / 1000);
  }
  const t0 = begin();
  if (scenario === 'events') {
    let seen = 0;
    await new Promise((resolve) => {
      client.on('event', (e) => {
        if (e.name === 'BenchDone') resolve();
        else if (!LOGIN_EVENTS.has(e.name)) seen++;
      });
      void client.action({ Action: 'BenchEvents', Count: n });
    });
    if (seen !== n) throw new Error(`pbxkit saw ${seen} of ${n} events`);
    return report((performance.now() - t0) / 1000);
  }
  const misrouted = await pump((Token, done) => {
    client.action({ Action: 'Echo', Token }).then((r) => done(r.get('Echo')));
  });
  report((performance.now() - t0) / 1000, misrouted);
}

function asteriskManager() {
  const Manager = createRequire(import.meta.url)('asterisk-manager');
  const ami = new Manager(port, '127.0.0.1', 'bench', 'bench', true);
  if (scenario === 'sequential') {
    // asterisk-manager queues actions until its login is answered: the warm-up starts right away.
    let t0 = 0;
    const ping = (i) => {
      if (i === WARMUP) t0 = begin();
      if (i === WARMUP + n) return report((performance.now() - t0) / 1000);
      ami.action({ action: 'Ping' }, () => ping(i + 1));
    };
    ping(0);
    return;
  }
  const t0 = begin();
  if (scenario === 'events') {
    let seen = 0;
    ami.on('managerevent', (e) => {
      if (e.event === 'BenchDone') {
        if (seen !== n) throw new Error(`asterisk-manager saw ${seen} of ${n} events`);
        report((performance.now() - t0) / 1000);
      } else if (!LOGIN_EVENTS.has(e.event)) seen++;
    });
    ami.action({ action: 'BenchEvents', count: n });
    return;
  }
  pump((token, done) => {
    ami.action({ action: 'Echo', token }, (err, res) => done(err ? undefined : res?.echo));
  }).then((misrouted) => report((performance.now() - t0) / 1000, misrouted));
}

/**
 * The floor: a raw socket that writes each Ping and waits for the end of the next `Response:` message, with no
 * parsing, no ActionID matching, no timeouts. Not a usable client; it measures what the loopback and the
 * server cost a sequential round trip.
 */
async function bare() {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.setEncoding('latin1');
  let buffered = '';
  let waiting;
  const deliver = () => {
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1 || !waiting) return;
      const message = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      if (!message.startsWith('Response:')) continue; // events after the login
      const resolve = waiting;
      waiting = undefined;
      resolve();
    }
  };
  const next = () =>
    new Promise((resolve) => {
      waiting = resolve;
      deliver();
    });
  let banner = true;
  socket.on('data', (chunk) => {
    buffered += chunk;
    if (banner) {
      const eol = buffered.indexOf('\r\n');
      if (eol === -1) return;
      buffered = buffered.slice(eol + 2); // the banner line has no blank line after it
      banner = false;
    }
    deliver();
  });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('Action: Login\r\nUsername: bench\r\nSecret: bench\r\nActionID: login\r\n\r\n');
  await next();
  let id = 0;
  const ping = () => {
    socket.write(`Action: Ping\r\nActionID: ${++id}\r\n\r\n`);
    return next();
  };
  for (let i = 0; i < WARMUP; i++) await ping();
  const t0 = begin();
  for (let i = 0; i < n; i++) await ping();
  report((performance.now() - t0) / 1000);
}

if (lib === 'pbxkit') await pbxkit();
else if (lib === 'bare') await bare();
else asteriskManager();
