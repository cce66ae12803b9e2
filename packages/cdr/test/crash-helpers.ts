import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { testDatabaseUrl } from '../../../scripts/test-env.js';
import { PostgresCdrSink } from '../src/sinks/postgres.js';
import { basic } from './dispatch-helpers.js';
import { freeswitchUrlEncode } from './fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
// tsx's loader in this very process, not its `tsx` command: that command runs the script in a child process of
// its own, so a SIGKILL would kill only the wrapper and leave the service running.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

type Message = Record<string, unknown>;

/** A child process running a service script (`crash-child.ts` by default), spoken to through JSON lines. */
export class ServiceProcess {
  private readonly messages: Message[] = [];
  private readonly waiters: Array<(m: Message) => void> = [];
  private stderr = '';
  readonly exited: Promise<number | null>;
  url = '';

  private constructor(readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let message: Message;
      try {
        message = JSON.parse(line) as Message;
      } catch {
        return;
      }
      const waiter = this.waiters.shift();
      if (waiter) waiter(message);
      else this.messages.push(message);
    });
    proc.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    this.exited = new Promise((resolveExit) => proc.on('exit', (code) => resolveExit(code)));
  }

  static async start(env: Record<string, string>, script = 'crash-child.ts'): Promise<ServiceProcess> {
    const proc = spawn(process.execPath, ['--import', TSX_LOADER, join(here, script)], {
      cwd: root,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json'), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child = new ServiceProcess(proc);
    const first = await Promise.race([
      child.next(),
      child.exited.then((code) => {
        throw new Error(`service process exited (${code}) before listening:\n${child.stderr}`);
      }),
    ]);
    // The process that listens is the one kill() will kill.
    if (first.pid !== proc.pid) throw new Error(`the service runs as pid ${first.pid}, not ${proc.pid}`);
    child.url = String(first.url);
    return child;
  }

  next(): Promise<Message> {
    const queued = this.messages.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolveMessage) => this.waiters.push(resolveMessage));
  }

  /** `kill -9`: no handler runs, nothing is flushed. */
  kill(): Promise<number | null> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  /** Resolves when the child's dispatcher has delivered everything; with the spool's pending count. */
  async drain(): Promise<number> {
    this.proc.stdin?.write('drain\n');
    const answer = await this.next();
    return Number(answer.pending);
  }

  async close(): Promise<void> {
    this.proc.stdin?.write('close\n');
    await this.exited;
  }

  get errors(): string {
    return this.stderr;
  }
}

/** One CDR to post. */
export interface Cdr {
  uuid: string;
  xml: string;
}

/**
 * Posts CDRs as mod_xml_cdr does (`encode=true`, `?uuid=a_<uuid>`, Basic auth) with `senders` concurrent
 * connections. `onAck` runs after each 2xx with the number so far; once `stop()` is called no new post starts.
 * Resolves with the uuids that got a 2xx and those that did not (refused, reset, never sent).
 */
export async function postConcurrently(
  url: string,
  cdrs: readonly Cdr[],
  options: { senders: number; onAck?: (acked: number, stop: () => void) => void },
): Promise<{ acked: string[]; notAcked: string[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.senders });
  const acked: string[] = [];
  const notAcked: string[] = [];
  let next = 0;
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  const auth = basic('fs', 'secret');
  async function sender(): Promise<void> {
    while (next < cdrs.length) {
      const cdr = cdrs[next++] as Cdr;
      if (stopped) {
        notAcked.push(cdr.uuid);
        continue;
      }
      const body = `cdr=${freeswitchUrlEncode(cdr.xml)}`;
      const status = await new Promise<number>((resolveStatus) => {
        const req = request(
          `${url}?uuid=a_${cdr.uuid}`,
          {
            method: 'POST',
            agent,
            headers: {
              authorization: auth,
              'content-type': 'application/x-www-form-urlencoded',
              'user-agent': 'freeswitch-xml/1.0',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolveStatus(res.statusCode ?? 0));
            res.on('error', () => resolveStatus(0));
          },
        );
        req.on('error', () => resolveStatus(0));
        req.end(body);
      });
      if (status >= 200 && status < 300) {
        acked.push(cdr.uuid);
        options.onAck?.(acked.length, stop);
      } else {
        notAcked.push(cdr.uuid);
      }
    }
  }
  await Promise.all(Array.from({ length: options.senders }, sender));
  agent.destroy();
  return { acked, notAcked };
}

/** The store the child delivers to: FusionPBX's `v_xml_cdr` (keyed by `xml_cdr_uuid`) in a schema of its own on the real PostgreSQL. */
export interface CrashStore {
  env: Record<string, string>;
  /** Every stored uuid, once per row. */
  uuids(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openCrashStore(): Promise<CrashStore> {
  const url = testDatabaseUrl();
  const schema = `cdr_crash_${process.pid}_${randomUUID().slice(0, 8)}`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await pool.query(`create schema ${schema}`);
  const sink = new PostgresCdrSink({ pool }, { schema });
  await sink.createSchema();
  return {
    env: { CRASH_DATABASE_URL: url, CRASH_SCHEMA: schema },
    uuids: async () =>
      (await pool.query<{ u: string }>(`select xml_cdr_uuid::text as u from ${schema}.v_xml_cdr`)).rows.map(
        (r) => r.u,
      ),
    close: async () => {
      await pool.query(`drop schema ${schema} cascade`);
      await pool.end();
    },
  };
}
