// One benchmark run in its own process (so its peak RSS is its own): node client.mjs <lib> <scenario> <port> <n>
// Prints one JSON line: { lib, scenario, n, seconds, rate, cpuRate, misrouted, maxRssMiB }; cpuRate is items per
// second of this process's CPU time, a figure that other load on the machine disturbs less than the rate.
import { createRequire } from 'node:module';
import { AmiClient } from '../dist/index.js';

const [lib, scenario, portText, nText] = process.argv.slice(2);
const port = Number(portText);
const n = Number(nText);
const IN_FLIGHT = 100;
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
    keepaliveMs: 0,
  });
  await client.connect();
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

if (lib === 'pbxkit') await pbxkit();
else asteriskManager();
