/**
 * One side of one benchmark scenario, run in its own process by `run.ts` so that its peak RSS is its own.
 * Prints one line: RESULT_PREFIX + JSON (a WorkerResult).
 *
 *   worker.ts parse <plain|json> <pbxkit-full|pbxkit-lazy|modesl> <events> <warmupEvents> <rounds>
 *   worker.ts api <api-seq|api-pipe> <pbxkit|modesl|modesl-nodelay> <port> <calls> <warmupCalls> <budgetMs> <window> <rounds>
 *
 * The measured work is split in rounds; the result carries every round's rate, and `rate` is the best round
 * (the machine may be shared: the best round is the one least disturbed by other processes).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { EslClient, EslEvent, EslParser, isEventFrame } from '../src/index.js';
import { openBareClient } from './bare-client.js';
import {
  type ApiScenario,
  type ApiSide,
  median,
  type ParseScenario,
  type ParseSide,
  RESULT_PREFIX,
  type WorkerResult,
} from './common.js';
import { ModeslConnection, type ModeslEvent, ModeslParser } from './modesl.js';
import { chunksOf, type EventCycle, eventCycle } from './streams.js';

const idleRssKiB = Math.round(process.memoryUsage().rss / 1024);

type Measured = Pick<WorkerResult, 'ops' | 'elapsedMs' | 'rate' | 'rounds' | 'medianRate' | 'cpuMicrosPerOp'>;

function finish(result: Omit<WorkerResult, 'idleRssKiB' | 'maxRssKiB'>): void {
  const full: WorkerResult = { ...result, idleRssKiB, maxRssKiB: process.resourceUsage().maxRSS };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(full)}\n`, () => process.exit(0));
}

/** Runs `round` `rounds` times (each returns the ops it did), timing each with performance.now(). */
async function measureRounds(rounds: number, round: () => number | Promise<number>): Promise<Measured> {
  if (rounds === 0) return { ops: 0, elapsedMs: 0, rate: 0, rounds: [], medianRate: 0, cpuMicrosPerOp: 0 };
  const rates: number[] = [];
  let ops = 0;
  let elapsedMs = 0;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const done = await round();
    const ms = performance.now() - t0;
    ops += done;
    elapsedMs += ms;
    rates.push((done / ms) * 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    ops,
    elapsedMs,
    rate: Math.max(...rates),
    rounds: rates,
    medianRate: median(rates),
    cpuMicrosPerOp: (cpu.user + cpu.system) / ops,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Parsing: the same chunks of the same stream, pbxkit (EslParser + EslEvent) or modesl (Parser).

interface ParseOutcome {
  events: number;
  checksum: number;
  checksumName: number;
}

const len = (value: string | number | null | undefined): number =>
  value === null || value === undefined ? 0 : String(value).length;

function parsePbxkit(
  cycle: EventCycle,
  repeats: number,
  mode: 'full' | 'map' | 'lazy' | 'json-floor',
): ParseOutcome {
  const parser = new EslParser();
  let events = 0;
  let checksum = 0;
  for (const chunk of chunksOf(cycle.bytes, repeats)) {
    for (const frame of parser.feed(chunk)) {
      if (!isEventFrame(frame)) continue;
      events++;
      if (mode === 'json-floor') {
        // The floor of JSON decoding: JSON.parse of the body and nothing else (no checks, no EslEvent).
        const parsed = JSON.parse((frame.body as Buffer).toString('utf8')) as Record<string, string>;
        checksum += len(parsed['Event-Name']) + len(parsed['Unique-ID']);
        continue;
      }
      const event = EslEvent.fromFrame(frame);
      if (mode === 'lazy') {
        // Routing by name: the rest of the event stays undecoded.
        checksum += event.name.length;
      } else if (mode === 'map') {
        // Reading `headerMap` decodes every header into a Map.
        const headers = event.headerMap;
        checksum += len(headers.get('Event-Name')) + len(headers.get('Unique-ID'));
      } else {
        // Reading `headers` decodes every header (URL-decoding or JSON) into a plain object.
        const headers = event.headers;
        checksum += len(headers['Event-Name']) + len(headers['Unique-ID']);
      }
    }
  }
  return { events, checksum, checksumName: mode === 'lazy' ? checksum : 0 };
}

const PARSE_MODES = {
  'pbxkit-full': 'full',
  'pbxkit-map': 'map',
  'pbxkit-lazy': 'lazy',
  'json-floor': 'json-floor',
} as const;

function parseModesl(cycle: EventCycle, repeats: number): ParseOutcome {
  const socket = new EventEmitter();
  const parser = new ModeslParser(socket);
  let events = 0;
  let checksum = 0;
  let checksumName = 0;
  parser.on('error', (err) => {
    throw err;
  });
  // modesl decodes every header of every event before emitting it; reading them costs a linear lookup.
  parser.on('esl::event', (event: ModeslEvent) => {
    events++;
    const name = len(event.getHeader('Event-Name'));
    checksumName += name;
    checksum += name + len(event.getHeader('Unique-ID'));
  });
  for (const chunk of chunksOf(cycle.bytes, repeats)) socket.emit('data', chunk);
  return { events, checksum, checksumName };
}

async function runParse(
  scenario: ParseScenario,
  side: ParseSide,
  events: number,
  warmupEvents: number,
  rounds: number,
): Promise<void> {
  const cycle =
    scenario === 'plain'
      ? eventCycle('12-event-plain-all-during-call.txt', 'text/event-plain')
      : eventCycle('13-event-json-during-call.txt', 'text/event-json');
  const run = (repeats: number) =>
    side === 'modesl' ? parseModesl(cycle, repeats) : parsePbxkit(cycle, repeats, PARSE_MODES[side]);
  run(Math.max(1, Math.ceil(warmupEvents / cycle.events)));
  // Each round parses the stream from its start with a new parser: `events / rounds` events.
  const repeats = Math.max(1, Math.ceil(events / rounds / cycle.events));
  let checksum = 0;
  let checksumName = 0;
  const measured = await measureRounds(rounds, () => {
    const outcome = run(repeats);
    if (outcome.events !== repeats * cycle.events) {
      throw new Error(`${side} produced ${outcome.events} events, expected ${repeats * cycle.events}`);
    }
    checksum = outcome.checksum;
    checksumName = outcome.checksumName;
    return outcome.events;
  });
  finish({ scenario, side, ...measured, checksum, checksumName });
}

// ---------------------------------------------------------------------------------------------------------
// api round trips over loopback TCP against FakeFreeSwitch (running in the parent process).

interface ApiClient {
  call(command: string): Promise<string>;
  close(): Promise<void>;
}

async function openPbxkit(port: number): Promise<ApiClient> {
  const client = new EslClient({ host: '127.0.0.1', port, password: 'ClueCon', reconnect: false });
  await client.connect();
  return { call: (command) => client.api(command), close: () => client.close() };
}

async function openModesl(port: number, noDelay: boolean): Promise<ApiClient> {
  const conn = await new Promise<ModeslConnection>((resolve, reject) => {
    const c: ModeslConnection = new ModeslConnection('127.0.0.1', port, 'ClueCon', () => resolve(c));
    c.on('error', reject);
  });
  // As shipped modesl never calls setNoDelay: each command is two writes (`api ...\n`, then `\n`) and Nagle holds
  // the second until the first is acknowledged (delayed ACK, ~40 ms on Linux).
  if (noDelay) conn.socket?.setNoDelay(true);
  return {
    // modesl queues api callbacks in a FIFO and shifts one per `api/response`: replies are matched by order.
    call: (command) =>
      new Promise<string>((resolve) => conn.api(command, (event) => resolve(event.getBody()))),
    close: async () => conn.disconnect(),
  };
}

interface ApiOutcome {
  done: number;
  misrouted: number;
  examples: Array<{ sent: string; got: string }>;
  elapsedMs: number;
  capped: boolean;
  stalled: boolean;
}

let nextId = 0;

/** `count` calls of `api echo <id>`, `window` in flight at once, for at most `budgetMs`. */
async function calls(
  client: ApiClient,
  count: number,
  window: number,
  budgetMs: number,
): Promise<ApiOutcome> {
  let issued = 0;
  let done = 0;
  let misrouted = 0;
  const examples: Array<{ sent: string; got: string }> = [];
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  const lane = async (): Promise<void> => {
    while (issued < count && performance.now() < deadline) {
      issued++;
      const id = String(nextId++);
      const body = await client.call(`echo ${id}`);
      if (body !== `${id}\n`) {
        misrouted++;
        if (examples.length < 5) examples.push({ sent: id, got: body });
      }
      done++;
    }
  };
  // A watchdog, not a pause: if replies stop (a callback never called), give up instead of hanging.
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<void>((resolve) => {
    let seen = -1;
    timer = setInterval(() => {
      if (done === seen) {
        stalled = true;
        resolve();
      }
      seen = done;
    }, 5000);
  });
  await Promise.race([Promise.all(Array.from({ length: window }, lane)), stall]);
  clearInterval(timer);
  const elapsedMs = performance.now() - t0;
  return { done, misrouted, examples, elapsedMs, capped: !stalled && done < count, stalled };
}

async function runApi(
  scenario: ApiScenario,
  side: ApiSide,
  port: number,
  count: number,
  warmup: number,
  budgetMs: number,
  window: number,
  rounds: number,
): Promise<void> {
  const client =
    side === 'pbxkit'
      ? await openPbxkit(port)
      : side === 'floor'
        ? await openBareClient(port, 'ClueCon')
        : await openModesl(port, side === 'modesl-nodelay');
  const lanes = scenario === 'api-seq' ? 1 : window;
  const warm = await calls(client, warmup, lanes, Math.max(500, budgetMs / 4));
  const outcomes: ApiOutcome[] = [warm];
  let stalled = warm.stalled;
  const measured = await measureRounds(stalled ? 0 : rounds, async () => {
    if (stalled) return 0;
    const outcome = await calls(client, Math.ceil(count / rounds), lanes, budgetMs / rounds);
    outcomes.push(outcome);
    stalled = outcome.stalled;
    return outcome.done;
  });
  const result = {
    scenario,
    side,
    ...measured,
    misrouted: outcomes.reduce((sum, o) => sum + o.misrouted, 0),
    answered: outcomes.reduce((sum, o) => sum + o.done, 0),
    misroutedExamples: outcomes.flatMap((o) => o.examples).slice(0, 5),
    capped: outcomes.slice(1).some((o) => o.capped),
    stalled,
    wanted: count,
    window: lanes,
  };
  if (!stalled) await client.close();
  finish(result);
}

const [kind, scenario, side, ...rest] = process.argv.slice(2);
const nums = rest.map(Number);
if (kind === 'parse') {
  await runParse(
    scenario as ParseScenario,
    side as ParseSide,
    nums[0] ?? 50_000,
    nums[1] ?? 5_000,
    nums[2] ?? 5,
  );
} else if (kind === 'api') {
  await runApi(
    scenario as ApiScenario,
    side as ApiSide,
    nums[0] ?? 8021,
    nums[1] ?? 2000,
    nums[2] ?? 200,
    nums[3] ?? 10_000,
    nums[4] ?? 100,
    nums[5] ?? 5,
  );
} else {
  throw new Error(`usage: worker.ts parse|api ... (got ${process.argv.slice(2).join(' ')})`);
}
