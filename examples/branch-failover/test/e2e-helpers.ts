import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { promisify } from 'node:util';
import { testDig } from '../../../scripts/test-env.js';

const run = promisify(execFile);
const exampleDir = new URL('..', import.meta.url).pathname;

/** A port free for both TCP and UDP on 127.0.0.1 (the DNS responder binds both). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const p = (server.address() as { port: number }).port;
        server.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

/** The A answers `dig` gets for `name` from the responder on `port` (`+short`). */
export async function digA(port: number, name: string): Promise<string[]> {
  const { stdout } = await run(testDig(), [
    '@127.0.0.1',
    '-p',
    String(port),
    '+short',
    '+time=2',
    '+tries=1',
    name,
    'A',
  ]);
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';'));
}

/** Sends one line to the status socket and returns everything it answered until it closed or `lines` came. */
export function statusRequest(port: number, line: string, lines = 1): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = () => {
      socket.destroy();
      resolve(text);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.split('\n').length - 1 >= lines) done();
    });
    socket.on('end', done);
    socket.on('error', reject);
    socket.write(`${line}\n`);
  });
}

/** `GetStatus(token)` parsed: `{ Timestamp, Monitor, Sync, Service }`. */
export async function getStatus(port: number, token: string): Promise<Record<string, string>> {
  const text = await statusRequest(port, `GetStatus(${token})`);
  return (JSON.parse(text) as Array<Record<string, string>>)[0] as Record<string, string>;
}

/** A JSON command on the status socket; resolves with its `result`. */
export async function command(
  port: number,
  token: string,
  name: string,
  fields: Record<string, unknown> = {},
) {
  const answer = JSON.parse(await statusRequest(port, JSON.stringify({ command: name, token, ...fields })));
  if (!answer.ok) throw new Error(`${name}: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

/** Polls `check` until it returns a value other than `undefined`/`false`, or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The daemon as a child process, its pino lines parsed as they come. */
export interface DaemonProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr: () => string;
  /** The first log line (from now on or already seen) for which `match` is true. */
  waitLog(
    what: string,
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

export function startDaemonProcess(configFile: string, args: string[] = []): DaemonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', configFile, ...args], {
    cwd: exampleDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let err = '';
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    logs,
    stderr: () => err,
    exited,
    waitLog: (what, match, timeoutMs) => until(what, () => logs.find(match), timeoutMs, 50),
  };
}
