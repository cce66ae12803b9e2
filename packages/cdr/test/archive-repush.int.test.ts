import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { decodeCdrBody } from '../src/decode/transport.js';
import { type CdrService, startCdrService } from '../src/dispatch/service.js';
import { parseCdr } from '../src/parse/parse-cdr.js';
import { HttpForwardSink } from '../src/sinks/http-forward.js';
import { CdrSpool } from '../src/spool/spool.js';
import { basic, cliIo, httpRequest, MemorySink, makeCdr } from './dispatch-helpers.js';
import { freeswitchUrlEncode } from './fixtures.js';

/**
 * A contact-centre platform on loopback that answers 2xx to every CDR; while `losing`, it then loses them (the
 * failure the archive is for), otherwise it keeps them by uuid, as FusionPBX's importer does.
 */
class Ccp {
  losing = true;
  posts = 0;
  readonly kept = new Map<string, string>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.posts++;
        const { xml } = decodeCdrBody(Buffer.concat(chunks), req.headers['content-type']);
        const uuid = parseCdr(xml).uuid;
        if (!this.losing && !this.kept.has(uuid)) this.kept.set(uuid, xml);
        res.writeHead(200).end('OK');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/app/xml_cdr/xml_cdr_import.php`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function service(
  spoolDir: string,
  archiveDir: string,
  ccp: Ccp,
  store: MemorySink,
): Promise<CdrService> {
  const svc = await startCdrService({
    spoolDir,
    port: 0,
    sinks: [store, new HttpForwardSink({ url: ccp.url, name: 'ccp', retry: { maxAttempts: 1 } })],
    archive: { dir: archiveDir },
    credentials: { username: 'fs', password: 'secret' },
    reconcileIntervalMs: 0,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await svc.close();
  };
  cleanups.push(close);
  return { ...svc, close };
}

async function post(url: string, xml: string, uuid: string): Promise<number> {
  const answer = await httpRequest(`${url}?uuid=a_${uuid}`, {
    headers: { authorization: basic('fs', 'secret'), 'content-type': 'application/x-www-form-urlencoded' },
    body: `cdr=${freeswitchUrlEncode(xml)}`,
  });
  return answer.status;
}

describe('archive: a CDR lost downstream after its 2xx comes back with pbxkit-cdr repush --archive', () => {
  it('re-sends what the CCP lost, by time, uuid and sink, idempotently, and into a spool for that sink only', {
    timeout: 60_000,
  }, async () => {
    const ccp = new Ccp();
    await ccp.start();
    cleanups.push(() => ccp.close());
    const spoolDir = mkdtempSync(join(tmpdir(), 'pbxkit-archive-spool-'));
    const archiveDir = mkdtempSync(join(tmpdir(), 'pbxkit-archive-'));
    const store = new MemorySink('store');
    const svc = await service(spoolDir, archiveDir, ccp, store);

    const cdrs = Array.from({ length: 6 }, () => makeCdr());
    for (const c of cdrs) expect(await post(svc.url, c.xml, c.uuid)).toBe(200);
    await svc.dispatcher.drained();
    // Delivered everywhere, and the CCP said 200 to each: then lost them all.
    expect(ccp.posts).toBe(6);
    expect(ccp.kept.size).toBe(0);
    expect(store.rows.size).toBe(6);
    expect(await svc.spool.pending()).toEqual([]);
    expect(svc.dispatcher.health().archive?.state).toBe('ok');

    ccp.losing = false;
    const run = cliIo();
    const args = ['repush', '--archive', archiveDir, '--from', '1h', '--sink', 'ccp', '--url', ccp.url];
    expect(await runCli(args, run.io)).toBe(0);
    expect(run.out()).toBe('6 of 6 archived CDRs delivered, 0 failed\n');
    expect(run.err()).toBe('6/6 CDRs (0 failed)\n');
    expect([...ccp.kept.keys()].sort()).toEqual(cdrs.map((c) => c.uuid).sort());
    for (const c of cdrs) expect(ccp.kept.get(c.uuid)).toBe(c.xml);
    // Twice: the CCP is posted the same CDRs again and keeps each once.
    expect(await runCli(args, cliIo().io)).toBe(0);
    expect(ccp.kept.size).toBe(6);
    expect(ccp.posts).toBe(18);

    const byUuid = cliIo();
    const picked = [cdrs[1]?.uuid as string, cdrs[4]?.uuid as string];
    expect(
      await runCli(
        [
          'repush',
          '--archive',
          archiveDir,
          '--uuid',
          picked[0] as string,
          '--uuid',
          picked[1] as string,
          '--url',
          ccp.url,
        ],
        byUuid.io,
      ),
    ).toBe(0);
    expect(byUuid.out()).toBe('2 of 2 archived CDRs delivered, 0 failed\n');
    const none = cliIo();
    expect(
      await runCli(
        ['repush', '--archive', archiveDir, '--from', '1h', '--sink', 'nosuch', '--url', ccp.url],
        none.io,
      ),
    ).toBe(0);
    expect(none.err()).toContain('no archived CDR matches');

    // The spool is the running service's: refused with one line that says what to do.
    const locked = cliIo();
    const toSpool = ['repush', '--archive', archiveDir, '--from', '1h', '--sink', 'ccp', '--spool', spoolDir];
    expect(await runCli(toSpool, locked.io)).toBe(2);
    expect(locked.err()).toMatch(
      /^pbxkit-cdr: the spool is in use by process \d+ .*stop the service first.*\n$/,
    );

    // Service stopped: queued in its spool for the CCP only, delivered when it starts again.
    await svc.close();
    ccp.kept.clear();
    const queued = cliIo();
    expect(await runCli(toSpool, queued.io)).toBe(0);
    expect(queued.out()).toBe(`6 of 6 archived CDRs queued in ${spoolDir} for ccp, 0 failed\n`);
    const again = new MemorySink('store');
    const svc2 = await service(spoolDir, archiveDir, ccp, again);
    await svc2.dispatcher.drained();
    expect(ccp.kept.size).toBe(6);
    expect(again.received).toBe(0);
  });

  it('exits 2 with one line for bad arguments', async () => {
    const archiveDir = mkdtempSync(join(tmpdir(), 'pbxkit-archive-'));
    const cases: Array<[string[], RegExp]> = [
      [['--from', 'yesterday', '--url', 'http://127.0.0.1:9/x'], /--from: not a time: "yesterday"/],
      [
        ['--from', '2h', '--to', 'https://ccp.example.com/x'],
        /--to is the end of the time range here; give the URL with --url/,
      ],
      [['--from', '2h'], /give one destination: --spool DIR, --into DB-URL or --url URL/],
      [['--url', 'http://127.0.0.1:9/x'], /give --from \(and --to\) or --uuid/],
      [
        ['--from', '2026-08-21T16:00', '--to', '2026-08-21T14:00', '--url', 'http://127.0.0.1:9/x'],
        /--from must be before --to/,
      ],
    ];
    for (const [extra, message] of cases) {
      const run = cliIo();
      expect(await runCli(['repush', '--archive', archiveDir, ...extra], run.io), extra.join(' ')).toBe(2);
      expect(run.err()).toMatch(message);
      expect(run.err().trim().split('\n')).toHaveLength(1);
    }
    const missing = cliIo();
    expect(
      await runCli(['repush', '--archive', '/nonexistent', '--from', '2h', '--url', 'http://x/'], missing.io),
    ).toBe(2);
    expect(missing.err()).toMatch(/--archive: no such directory: \/nonexistent/);
  });
});

describe('pbxkit-cdr replay-dead', () => {
  it('puts the dead letters back into the queue, for the sink that refused them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-dead-'));
    const spool = await CdrSpool.open({ dir });
    const { uuid, xml } = makeCdr();
    const id = await spool.append({ xml, uuid, leg: 'a' });
    await spool.attachSink('ccp');
    await spool.deadLetter('ccp', id, new Error('422 refused'), 3);
    await spool.remove(id);
    await spool.close();

    const run = cliIo();
    expect(await runCli(['replay-dead', '--spool', dir], run.io)).toBe(0);
    expect(run.out()).toBe('1 of 1 dead letters back in the queue (ccp), 0 failed\n');
    const reopened = await CdrSpool.open({ dir });
    try {
      expect(await reopened.deadLetters('ccp')).toEqual([]);
      const [pending] = await reopened.pending();
      expect(await reopened.read(pending as string)).toMatchObject({ uuid, xml, sinks: ['ccp'] });
    } finally {
      await reopened.close();
    }
    const noSpool = cliIo();
    expect(await runCli(['replay-dead'], noSpool.io)).toBe(2);
    expect(noSpool.err()).toMatch(/replay-dead: --spool is required/);
  });
});
