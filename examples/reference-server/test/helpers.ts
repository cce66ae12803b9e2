import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReferenceServer } from '../src/server.js';

/** A temp directory of the test's own. */
export async function tempDir(name: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `pbxkit-ref-${name}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A call as FreeSWITCH under FusionPBX reports it: a CDR whose recording is in FusionPBX's layout. */
export interface Call {
  uuid: string;
  start: Date;
  domain: string;
  /** FusionPBX's `record_path`: `<root>/<domain>/archive/<YYYY>/<Mon>/<DD>`. */
  recordPath: string;
  audio: Buffer;
  /** The mod_xml_cdr body (text/xml). */
  xml: string;
}

/** A call that started `daysAgo` days ago, recorded under `root` (FusionPBX's recordings directory). */
export function makeCall(root: string, daysAgo: number, bytes = 64_000): Call {
  const uuid = randomUUID();
  const start = new Date(Date.now() - daysAgo * 86_400_000);
  const domain = 'pbx.example.com';
  const pad = (n: number) => String(n).padStart(2, '0');
  const recordPath = join(
    root,
    domain,
    'archive',
    String(start.getUTCFullYear()),
    MONTHS[start.getUTCMonth()] as string,
    pad(start.getUTCDate()),
  );
  const xml = `<?xml version="1.0"?>
<cdr core-uuid="c" switchname="fs1"><variables>
<uuid>${uuid}</uuid><domain_name>${domain}</domain_name><start_epoch>${Math.floor(start.getTime() / 1000)}</start_epoch>
<billsec>30</billsec><hangup_cause>NORMAL_CLEARING</hangup_cause>
<record_path>${encodeURIComponent(recordPath)}</record_path>
<record_name>${uuid}.wav</record_name>
</variables></cdr>`;
  return { uuid, start, domain, recordPath, audio: randomBytes(bytes), xml };
}

/** Writes the call's recording where FreeSWITCH would have, dated when the call ended. */
export async function record(call: Call): Promise<string> {
  await mkdir(call.recordPath, { recursive: true });
  const file = join(call.recordPath, `${call.uuid}.wav`);
  await writeFile(file, call.audio);
  await utimes(file, call.start, call.start);
  return file;
}

/** Posts the call's CDR as mod_xml_cdr does; resolves with the status. */
export async function postCdr(
  url: string,
  call: Pick<Call, 'uuid' | 'xml'>,
  credentials?: string,
): Promise<number> {
  const res = await fetch(`${url}/cdr?uuid=a_${call.uuid}`, {
    method: 'POST',
    headers: {
      'content-type': 'text/xml',
      ...(credentials ? { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } : {}),
    },
    body: call.xml,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Resolves once `sink` has stored every one of `uuids` (the dispatcher's `delivered` event). */
export function delivered(server: ReferenceServer, sink: string, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const on = (name: string, ids: readonly string[]) => {
      if (name !== sink) return;
      seen += ids.length;
      if (seen >= count) {
        server.dispatcher.off('delivered', on);
        resolve();
      }
    };
    server.dispatcher.on('delivered', on);
  });
}

/** Asks `/health` until `accept` says yes (the state it waits for comes from retries and timers). */
export async function healthUntil(
  url: string,
  accept: (status: number, body: HealthBody) => boolean,
  deadlineMs = 60_000,
): Promise<{ status: number; body: HealthBody; text: string }> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const res = await fetch(`${url}/health`);
    const text = await res.text();
    const body = JSON.parse(text) as HealthBody;
    if (accept(res.status, body)) return { status: res.status, body, text };
    if (Date.now() > deadline) throw new Error(`health never got there: ${res.status} ${text}`);
    await new Promise((r) => setTimeout(r, 200)); // the next look, not a synchronisation
  }
}

export interface HealthBody {
  status: string;
  problems: string[];
  cdrStore: { ok: boolean; state: string; error?: { message: string } };
  sinks: Record<string, { ok: boolean; state: string; lagMs: number; deadLetters: number }>;
  spool: { ok: boolean; backlog: number; freeBytes?: number };
  storage: Array<{ tier: string; ok: boolean; detail: string }>;
  archiver?: { lastRun?: { result: string; archived: number } };
}

/** An HTTP server standing in for the CCP: it counts the CDRs posted to it by uuid, and can refuse them. */
export async function fakeCcp(): Promise<{
  url: string;
  received: Map<string, number>;
  refuse: boolean;
  bodies: Array<{ contentType: string | undefined; auth: string | undefined; body: string }>;
  close(): Promise<void>;
}> {
  const state = {
    url: '',
    received: new Map<string, number>(),
    refuse: false,
    bodies: [] as Array<{ contentType: string | undefined; auth: string | undefined; body: string }>,
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.refuse) {
        res.writeHead(503).end();
        return;
      }
      const uuid = new URL(req.url ?? '/', 'http://x').searchParams.get('uuid')?.replace(/^a_/, '') ?? '';
      state.received.set(uuid, (state.received.get(uuid) ?? 0) + 1);
      state.bodies.push({
        contentType: req.headers['content-type'],
        auth: req.headers.authorization,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200).end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cdr`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

export { randomUUID };
