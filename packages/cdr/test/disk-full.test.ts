import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, Registry } from '@pbxkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CdrArchive } from '../src/archive/archive.js';
import { CdrDispatcher, type CdrDispatcherOptions } from '../src/dispatch/dispatcher.js';
import type { CdrRecord } from '../src/record.js';
import { CdrSpool } from '../src/spool/spool.js';
import { disk } from './disk-faults.js';
import { MemorySink, makeCdr } from './dispatch-helpers.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const { faultyFs } = await import('./disk-faults.js');
  return faultyFs(await importOriginal());
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  disk.full = false;
  disk.dir = '';
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A logger that keeps what it is given. */
function memoryLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj: obj as never, msg });
    };
  const logger: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: () => logger,
  };
  return { logger, lines };
}

async function openSpool(dir: string): Promise<CdrSpool> {
  const spool = await CdrSpool.open({ dir });
  cleanups.push(() => spool.close());
  return spool;
}

function dispatcher(options: CdrDispatcherOptions): CdrDispatcher {
  const d = new CdrDispatcher(options);
  cleanups.push(() => d.stop());
  return d;
}

/**
 * A sink whose writes wait until `open()`, so that the disk can fill while they are in flight; it refuses
 * every batch holding a uuid of `poison`, as a database refuses a bad row.
 */
class HeldSink extends MemorySink {
  private release: () => void = () => {};
  private readonly gate = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  constructor(
    name: string,
    private readonly poison = new Set<string>(),
  ) {
    super(name);
  }
  open(): void {
    this.release();
  }
  override async write(records: readonly CdrRecord[]): Promise<void> {
    await this.gate;
    const bad = records.find((r) => this.poison.has(r.uuid));
    if (bad) throw new Error(`${this.name}: refuses ${bad.uuid}`);
    await super.write(records);
  }
}

/** Resolves when `check()` holds, tested now and after every `event`. */
function until(d: CdrDispatcher, event: 'error' | 'delivered', check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (check()) return resolve();
    const on = () => {
      if (check()) {
        d.off(event, on);
        resolve();
      }
    };
    d.on(event, on);
  });
}

describe('a spool whose disk fills up and is freed again', () => {
  it('loses no acknowledged CDR from the queues: journal and dead-letter writes are retried, and everything drains without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-disk-full-'));
    disk.dir = dir;
    const spool = await openSpool(dir);
    const store = new HeldSink('store');
    const acked = Array.from({ length: 20 }, () => makeCdr());
    const poison = acked[0]?.uuid as string; // first: its batch is refused at once, halved down to it
    const picky = new HeldSink('picky', new Set([poison]));
    const registry = new Registry();
    const { logger, lines } = memoryLogger();
    const d = dispatcher({
      spool,
      sinks: [store, picky],
      batchSize: 5,
      // Two attempts: today's dispatcher counted every journal failure as one, and gave up on the entries.
      retry: { minMs: 1, maxMs: 5, maxAttempts: 2 },
      registry,
      logger,
      reconcileIntervalMs: 0, // the error paths alone must bring everything through
    });
    const kinds = new Map<string, number>();
    d.on('error', (_err, kind) => kinds.set(kind, (kinds.get(kind) ?? 0) + 1));
    await d.start();
    // Acknowledged while the disk had room; both sinks are in the middle of writes.
    for (const { uuid, xml } of acked) await spool.append({ xml, uuid, leg: 'a' });

    disk.full = true;
    // Traffic goes on: appends fail (the receiver answers 500 and FreeSWITCH keeps the CDR).
    const refused = await spool.append({ ...makeCdr(), leg: 'a' }).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);
    // Their writes succeed, but no journal line can be written, and neither can the poison's dead letter.
    store.open();
    picky.open();
    await until(
      d,
      'error',
      () =>
        ((kinds.get('journal') ?? 0) >= 3 && (kinds.get('dead_letter') ?? 0) >= 3) ||
        (d.stats().store?.depth ?? 0) < 20, // an entry dropped from the queue: the assertion below says so
    );
    // Nothing acknowledged left the queues or the spool.
    expect(await spool.pending()).toHaveLength(20);
    expect(d.stats().store?.depth).toBe(20);
    expect(d.stats().picky?.depth).toBe(20);
    const failing = d.health();
    expect(failing.status).toBe('degraded');
    expect(failing.spool.state).toBe('failing');
    expect(failing.spool.lastError?.message).toMatch(/ENOSPC/);
    expect(failing.sinks.store?.state).toBe('up'); // the sink is fine: the disk is not

    disk.full = false;
    const later = Array.from({ length: 5 }, () => makeCdr());
    for (const { uuid, xml } of later) await spool.append({ xml, uuid, leg: 'a' });
    await d.drained();

    const all = [...acked, ...later].map((c) => c.uuid);
    expect(new Set(store.rows.keys())).toEqual(new Set(all));
    expect(new Set(picky.rows.keys())).toEqual(new Set(all.filter((u) => u !== poison)));
    expect(await spool.pending()).toEqual([]);
    expect(await spool.deadLetters('picky')).toHaveLength(1);
    expect(await spool.deadLetters('store')).toEqual([]);
    expect(d.health()).toMatchObject({ status: 'ok', spool: { state: 'ok' } });
    // Surfaced: logged through the dispatcher's logger, and counted.
    expect(lines.some((l) => l.level === 'error' && l.obj.kind === 'journal')).toBe(true);
    expect(lines.some((l) => l.level === 'error' && l.obj.kind === 'dead_letter')).toBe(true);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/pbxkit_cdr_dispatcher_errors_total\{kind="journal"\} [1-9]/);
    expect(metrics).toMatch(/pbxkit_cdr_dispatcher_errors_total\{kind="dead_letter"\} [1-9]/);

    // The torn journal lines the full disk left were rewritten away: a restart finds nothing to redeliver.
    await d.stop();
    await spool.close();
    const reopened = await openSpool(dir);
    expect(await reopened.pending()).toEqual([]);
    for (const name of readdirSync(join(dir, 'state'))) {
      for (const line of readFileSync(join(dir, 'state', name), 'utf8')
        .split('\n')
        .filter(Boolean)) {
        expect(line).toMatch(/^\d{13}-[0-9a-z]+-\d{8}-[A-Za-z0-9_-]+$/);
      }
    }
  });

  it('a spool journal whose append failed halfway takes the same marks again once there is room', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-disk-full-'));
    disk.dir = dir;
    const spool = await openSpool(dir);
    await spool.attachSink('s');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await spool.append({ ...makeCdr(), leg: 'a' }));
    await spool.markDone('s', [ids[0] as string]);
    disk.full = true;
    await expect(spool.markDone('s', [ids[1] as string])).rejects.toThrow(/ENOSPC/);
    await expect(spool.markDone('s', [ids[1] as string])).rejects.toThrow(/ENOSPC/);
    disk.full = false;
    await spool.markDone('s', [ids[1] as string, ids[2] as string]);
    expect(readFileSync(join(dir, 'state', 's.done'), 'utf8')).toBe(`${ids.join('\n')}\n`);
    await spool.close();
    const reopened = await openSpool(dir);
    await reopened.attachSink('s');
    expect(ids.map((id) => reopened.isDone('s', id))).toEqual([true, true, true]);
  });
});

describe('the reconciliation of the spool against the queues', () => {
  it('finds an entry no queue holds, delivers it without a restart, and logs and counts it', async () => {
    const spool = await openSpool(mkdtempSync(join(tmpdir(), 'pbxkit-reconcile-')));
    const sink = new MemorySink('store');
    const registry = new Registry();
    const { logger, lines } = memoryLogger();
    const d = dispatcher({ spool, sinks: [sink], registry, logger, reconcileIntervalMs: 20 });
    await d.start();
    // The entry's append event never reaches the dispatcher (as if a path had dropped it from the queue).
    spool.removeAllListeners('append');
    const lost = makeCdr();
    await spool.append({ ...lost, leg: 'a' });
    await until(d, 'delivered', () => sink.rows.has(lost.uuid));
    await d.drained();
    expect(await spool.pending()).toEqual([]);
    expect(lines.some((l) => l.level === 'error' && l.obj.kind === 'lost_entry')).toBe(true);
    expect(await registry.metrics()).toContain('pbxkit_cdr_dispatcher_errors_total{kind="lost_entry"} 1');
  });
});

describe('an entry whose bytes no longer match their checksum', () => {
  it('is dead-lettered with what could be read, and leaves the spool, instead of staying there for ever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-corrupt-'));
    const spool = await openSpool(dir);
    const cdr = makeCdr();
    const id = await spool.append({ ...cdr, leg: 'a' });
    const segment = join(dir, 'segments', '0000000001.seg');
    const bytes = readFileSync(segment);
    const at = bytes.length - 40; // inside the XML
    bytes.writeUInt8((bytes.readUInt8(at) ^ 0xff) & 0xff, at);
    writeFileSync(segment, bytes);
    const sink = new MemorySink('store');
    const d = dispatcher({ spool, sinks: [sink], retry: { minMs: 1, maxMs: 2 } });
    await d.start();
    await d.drained();
    expect(sink.rows.size).toBe(0);
    expect(await spool.pending()).toEqual([]);
    expect(await spool.deadLetters('store')).toEqual([id]);
    const letter = await spool.readDeadLetter('store', id);
    expect(letter.info).toMatchObject({ uuid: cdr.uuid, unreadable: expect.stringMatching(/checksum/) });
    expect(letter.xml.length).toBe(cdr.xml.length);
  });
});

describe('an archive whose disk fills up and is freed again', () => {
  it('keeps delivered CDRs in the spool, retries with one probe rather than every entry, and archives them all once there is room', async () => {
    const archiveDir = mkdtempSync(join(tmpdir(), 'pbxkit-archive-full-'));
    const spool = await openSpool(mkdtempSync(join(tmpdir(), 'pbxkit-disk-full-')));
    const archive = await CdrArchive.open({ dir: archiveDir });
    cleanups.push(() => archive.close());
    const appended: string[] = [];
    const append = archive.append.bind(archive);
    archive.append = (input) => {
      appended.push(input.id);
      return append(input);
    };
    const cdrs = Array.from({ length: 40 }, () => makeCdr());
    for (const c of cdrs) await spool.append({ xml: c.xml, uuid: c.uuid, leg: 'a' });
    disk.dir = archiveDir;
    disk.full = true;
    const sink = new MemorySink('store');
    const d = dispatcher({ spool, sinks: [sink], archive, retry: { minMs: 2, maxMs: 10 } });
    await d.start();
    await until(d, 'error', () => appended.length >= 60);

    expect(sink.rows.size).toBe(40);
    expect(await spool.pending()).toHaveLength(40); // delivered, not archived: still in the spool
    const health = d.health();
    expect(health.status).toBe('degraded');
    expect(health.archive).toMatchObject({ state: 'failing', lastError: { code: 'ENOSPC' } });
    // One entry probes while the others wait: only it was tried again (not all 40, every round).
    const tried = new Map<string, number>();
    for (const id of appended) tried.set(id, (tried.get(id) ?? 0) + 1);
    expect([...tried.values()].filter((n) => n > 1)).toHaveLength(1);

    disk.full = false;
    await d.drained();
    expect(await spool.pending()).toEqual([]);
    expect(d.health().archive?.state).toBe('ok');
    const listed = await archive.reader.list({});
    expect(listed.map((e) => e.uuid).sort()).toEqual(cdrs.map((c) => c.uuid).sort());
  });
});
