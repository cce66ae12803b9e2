import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { fixture } from '../../../scripts/test-env.js';
import { parseCdr } from '../src/parse/parse-cdr.js';
import type { CdrRecord } from '../src/record.js';
import type { CdrSink } from '../src/sink.js';

/** The a-leg CDR FreeSWITCH sent in the urlencoded capture: the template of generated CDRs. */
const TEMPLATE = fixture('cdr-freeswitch', 'urlencoded__basic-7100__loopback-7100-a.xml').toString('utf8');
const TEMPLATE_UUID = parseCdr(TEMPLATE).uuid;

/**
 * A real CDR (the captured one) rewritten for a new call `uuid`; with `bytes`, padded with extra channel
 * variables to about that size (a 50 KB CDR is typical of a call with a few transfers).
 */
export function makeCdr(uuid: string = randomUUID(), bytes = 0): { uuid: string; xml: string } {
  let xml = TEMPLATE.split(TEMPLATE_UUID).join(uuid);
  if (bytes > xml.length) {
    const pad: string[] = [];
    let size = xml.length;
    for (let i = 0; size < bytes; i++) {
      // Like real variables: mostly plain text, a few %XX escapes (FreeSWITCH URL-encodes values).
      const line = `    <sip_h_X-Pbxkit-Pad-${i}>sip%3A${i}%40pbx.example.com%3Btransport%3Dudp;tag=a8f2c9e1b3d4f5a6b7c8d9e0</sip_h_X-Pbxkit-Pad-${i}>\n`;
      pad.push(line);
      size += line.length;
    }
    xml = xml.replace('<variables>\n', `<variables>\n${pad.join('')}`);
  }
  return { uuid, xml };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One POST (or any method) over real HTTP. */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Basic auth header value. */
export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** An in-memory sink, idempotent by uuid like the real stores; counts every write it was handed. */
export class MemorySink implements CdrSink {
  readonly rows = new Map<string, CdrRecord>();
  writes = 0;
  /** Records handed over, duplicates included. */
  received = 0;

  constructor(readonly name = 'memory') {}

  async write(records: readonly CdrRecord[]): Promise<void> {
    this.writes++;
    this.received += records.length;
    for (const r of records) if (!this.rows.has(r.uuid)) this.rows.set(r.uuid, r);
  }
}

/** Fails its first `failures` writes, then behaves like {@link MemorySink}. */
export class FlakySink extends MemorySink {
  failed = 0;

  constructor(
    name: string,
    private failures: number,
  ) {
    super(name);
  }

  override async write(records: readonly CdrRecord[]): Promise<void> {
    if (this.failed < this.failures) {
      this.failed++;
      throw new Error(`${this.name}: simulated outage (${this.failed}/${this.failures})`);
    }
    await super.write(records);
  }
}

/** Refuses every record whose uuid is in `poison` (the whole batch fails, as a database would). */
export class PoisonSink extends MemorySink {
  constructor(
    name: string,
    readonly poison: Set<string>,
  ) {
    super(name);
  }

  override async write(records: readonly CdrRecord[]): Promise<void> {
    const bad = records.find((r) => this.poison.has(r.uuid));
    if (bad) throw new Error(`${this.name}: refuses ${bad.uuid}`);
    await super.write(records);
  }
}

/** Captures what `runCli` writes. */
export function cliIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}
