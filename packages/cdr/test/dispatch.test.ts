import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CdrDispatcher, type CdrDispatcherOptions } from '../src/dispatch/dispatcher.js';
import { parseCdr } from '../src/parse/parse-cdr.js';
import type { CdrRecord } from '../src/record.js';
import type { PreparedCdr, PreparingCdrSink } from '../src/sink.js';
import { CdrSpool } from '../src/spool/spool.js';
import { FlakySink, MemorySink, makeCdr, PoisonSink } from './dispatch-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openSpool(dir = mkdtempSync(join(tmpdir(), 'pbxkit-dispatch-'))): Promise<CdrSpool> {
  const spool = await CdrSpool.open({ dir });
  cleanups.push(() => spool.close());
  return spool;
}

function dispatcher(options: CdrDispatcherOptions): CdrDispatcher {
  const d = new CdrDispatcher({ retry: { minMs: 1, maxMs: 4 }, ...options });
  cleanups.push(() => d.stop());
  return d;
}

async function appendMany(spool: CdrSpool, n: number): Promise<string[]> {
  const uuids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { uuid, xml } = makeCdr();
    uuids.push(uuid);
    await spool.append({ xml, uuid, leg: 'a' });
  }
  return uuids;
}

/** Resolves the first time `check()` holds, tested now and after each `event` of `emitter`. */
function until(
  emitter: CdrDispatcher,
  event: 'delivered' | 'removed' | 'retry' | 'deadLetter',
  check: () => boolean,
) {
  return new Promise<void>((resolve) => {
    if (check()) return resolve();
    const on = () => {
      if (check()) {
        emitter.off(event, on);
        resolve();
      }
    };
    emitter.on(event, on);
  });
}

/** A sink whose writes wait until `open()` is called: an outage that lasts exactly as long as the test wants. */
class GatedSink extends MemorySink {
  private release: (() => void) | undefined;
  private gate: Promise<void>;
  waiting = 0;

  constructor(name: string) {
    super(name);
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  open(): void {
    this.release?.();
  }

  override async write(records: readonly CdrRecord[]): Promise<void> {
    this.waiting++;
    await this.gate;
    await super.write(records);
  }
}

/** Keeps only the uuid of each record; refuses to prepare the uuids in `refuse`. Plain `write` is an error. */
class UuidOnlySink implements PreparingCdrSink<{ uuid: string }> {
  readonly stored = new Set<string>();
  prepared = 0;
  batches = 0;

  constructor(
    readonly name: string,
    private readonly refuse = new Set<string>(),
  ) {}

  prepare(record: CdrRecord): PreparedCdr<{ uuid: string }> {
    if (this.refuse.has(record.uuid)) throw new Error(`cannot prepare ${record.uuid}`);
    this.prepared++;
    return { item: { uuid: record.uuid }, bytes: 64 };
  }

  async writePrepared(items: readonly { uuid: string }[]): Promise<void> {
    this.batches++;
    for (const item of items) this.stored.add(item.uuid);
  }

  async write(): Promise<void> {
    throw new Error('the dispatcher must use writePrepared');
  }
}

describe('CdrDispatcher', () => {
  it('hands a preparing sink only its prepared items, prepared once per entry, whether the record came with the append or from the spool', async () => {
    const spool = await openSpool();
    const before = await appendMany(spool, 5); // spooled before start: read and parsed from the spool
    const slim = new UuidOnlySink('slim');
    const plain = new MemorySink('plain');
    const d = dispatcher({ spool, sinks: [slim, plain], batchSize: 3 });
    await d.start();
    const live: string[] = [];
    for (let i = 0; i < 7; i++) {
      const { uuid, xml } = makeCdr();
      live.push(uuid);
      await spool.append({ xml, uuid, record: parseCdr(xml) }); // as the receiver appends
    }
    await d.drained();
    const all = [...before, ...live].sort();
    expect([...slim.stored].sort()).toEqual(all);
    expect(slim.prepared).toBe(12);
    expect([...plain.rows.keys()].sort()).toEqual(all);
    expect(plain.rows.get(live[0] as string)?.variables).toBeDefined(); // the plain sink still gets records
    expect(await spool.pending()).toEqual([]);
  });

  it('dead-letters an entry a sink cannot prepare, for that sink only', async () => {
    const spool = await openSpool();
    const uuids = await appendMany(spool, 6);
    const bad = uuids[2] as string;
    const slim = new UuidOnlySink('slim', new Set([bad]));
    const plain = new MemorySink('plain');
    const d = dispatcher({ spool, sinks: [slim, plain] });
    const dead: Array<[string, string, unknown]> = [];
    d.on('deadLetter', (sink, id, err) => dead.push([sink, id, err]));
    await d.start();
    await d.drained();
    expect(slim.stored.size).toBe(5);
    expect(slim.stored.has(bad)).toBe(false);
    expect(plain.rows.size).toBe(6);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.[0]).toBe('slim');
    expect(dead[0]?.[1]).toContain(bad);
    expect(String(dead[0]?.[2])).toMatch(/cannot prepare/);
    expect(await spool.deadLetters('slim')).toHaveLength(1);
    expect(await spool.pending()).toEqual([]);
  });

  it('delivers what was spooled before start and what is appended after, to every sink, then removes it', async () => {
    const spool = await openSpool();
    const before = await appendMany(spool, 30);
    const a = new MemorySink('a');
    const b = new MemorySink('b');
    const d = dispatcher({ spool, sinks: [a, b], batchSize: 7 });
    const removed: string[] = [];
    d.on('removed', (id) => removed.push(id));
    await d.start();
    const after = await appendMany(spool, 30);
    await d.drained();
    const all = [...before, ...after].sort();
    expect([...a.rows.keys()].sort()).toEqual(all);
    expect([...b.rows.keys()].sort()).toEqual(all);
    expect(removed).toHaveLength(60);
    expect(await spool.pending()).toEqual([]);
    // Batches were used: fewer writes than records.
    expect(a.writes).toBeLessThan(60);
    expect(a.rows.get(after[0] as string)?.leg).toBe('a');
  });

  it('writes in parallel only when a full batch is waiting, so that batches grow under load', async () => {
    const spool = await openSpool();
    const gated = new GatedSink('gated');
    const d = dispatcher({ spool, sinks: [gated], batchSize: 10, concurrency: 3 });
    await d.start();
    await appendMany(spool, 1);
    // An idle sink is written at once, even a batch of one.
    expect(d.stats().gated?.inFlight).toBe(1);
    await appendMany(spool, 9);
    // Nine waiting is not a full batch: they wait for the write in flight.
    expect(d.stats().gated?.inFlight).toBe(1);
    await appendMany(spool, 1);
    expect(d.stats().gated?.inFlight).toBe(11);
    gated.open();
    await d.drained();
    expect(gated.rows.size).toBe(11);
    expect(gated.writes).toBe(2);
  });

  it('keeps going for one sink while another is down, and removes entries only when both have them', async () => {
    const spool = await openSpool();
    const fast = new MemorySink('fast');
    const down = new GatedSink('down');
    const d = dispatcher({ spool, sinks: [fast, down], batchSize: 5, concurrency: 1 });
    await d.start();
    const uuids = await appendMany(spool, 40);
    await until(d, 'delivered', () => fast.rows.size === 40);
    expect(down.rows.size).toBe(0);
    expect(down.waiting).toBe(1);
    expect(await spool.pending()).toHaveLength(40);
    expect(d.stats().down?.depth).toBe(40);
    expect(d.stats().fast?.depth).toBe(0);
    down.open();
    await d.drained();
    expect([...down.rows.keys()].sort()).toEqual([...uuids].sort());
    expect(await spool.pending()).toEqual([]);
  });

  it('retries a failing sink with backoff until it succeeds', async () => {
    const spool = await openSpool();
    const flaky = new FlakySink('flaky', 4);
    const ok = new MemorySink('ok');
    const d = dispatcher({
      spool,
      sinks: [flaky, ok],
      batchSize: 50,
      retry: { minMs: 1, maxMs: 4, maxAttempts: 10 },
    });
    const retries: number[] = [];
    d.on('retry', (sink, _err, attempt) => {
      expect(sink).toBe('flaky');
      retries.push(attempt);
    });
    const uuids = await appendMany(spool, 10);
    await d.start();
    await d.drained();
    expect(retries.length).toBe(4);
    expect(flaky.rows.size).toBe(10);
    expect(ok.rows.size).toBe(10);
    expect(await spool.pending()).toEqual([]);
    expect(await spool.deadLetters('flaky')).toEqual([]);
    expect([...flaky.rows.keys()].sort()).toEqual([...uuids].sort());
  });

  it('dead-letters per sink after maxAttempts, lets the other sink proceed, and replays for that sink only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-dispatch-'));
    const spool = await openSpool(dir);
    const broken = new FlakySink('store', Number.POSITIVE_INFINITY);
    const other = new MemorySink('other');
    const registry = new Registry();
    const d = dispatcher({
      spool,
      sinks: [broken, other],
      batchSize: 4,
      retry: { minMs: 1, maxMs: 2, maxAttempts: 3 },
      registry,
    });
    const dead: string[] = [];
    d.on('deadLetter', (sink, id) => {
      expect(sink).toBe('store');
      dead.push(id);
    });
    const uuids = await appendMany(spool, 8);
    await d.start();
    await d.drained();
    expect(other.rows.size).toBe(8);
    expect(dead).toHaveLength(8);
    expect(await spool.pending()).toEqual([]);
    const deadIds = await spool.deadLetters('store');
    expect(deadIds.sort()).toEqual([...dead].sort());
    const letter = await spool.readDeadLetter('store', deadIds[0] as string);
    expect(letter.info.error.message).toMatch(/simulated outage/);
    expect(letter.info.attempts).toBe(3);
    expect(existsSync(join(dir, 'dead', 'store', `${deadIds[0]}.xml`))).toBe(true);
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_cdr_sink_dead_lettered_total{sink="store"} 8');
    expect(text).toMatch(/pbxkit_cdr_sink_failures_total\{sink="store"\} \d+/);
    expect(text).toContain('pbxkit_cdr_sink_delivered_total{sink="other"} 8');
    await d.stop();

    // The store is fixed: replay its dead letters. Only it gets them again.
    expect(await spool.replayDead('store')).toBe(8);
    const fixed = new MemorySink('store');
    const other2 = new MemorySink('other');
    const d2 = dispatcher({ spool, sinks: [fixed, other2] });
    await d2.start();
    await d2.drained();
    expect([...fixed.rows.keys()].sort()).toEqual([...uuids].sort());
    expect(other2.received).toBe(0);
    expect(await spool.pending()).toEqual([]);
    expect(readdirSync(join(dir, 'dead', 'store'))).toEqual([]);
  });

  it('isolates a record the sink refuses: the rest of its batch is stored, it alone is dead-lettered', async () => {
    const spool = await openSpool();
    const uuids = await appendMany(spool, 16);
    const poison = uuids[9] as string;
    const sink = new PoisonSink('pg', new Set([poison]));
    const d = dispatcher({
      spool,
      sinks: [sink],
      batchSize: 16,
      retry: { minMs: 1, maxMs: 2, maxAttempts: 8 },
    });
    const dead: string[] = [];
    d.on('deadLetter', (_s, id) => dead.push(id));
    await d.start();
    await d.drained();
    expect(sink.rows.size).toBe(15);
    expect(sink.rows.has(poison)).toBe(false);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toContain(poison);
    expect(await spool.pending()).toEqual([]);
  });

  it('delivers duplicates harmlessly: the same call spooled twice is stored once, both entries leave', async () => {
    const spool = await openSpool();
    const sink = new MemorySink('pg');
    const d = dispatcher({ spool, sinks: [sink] });
    await d.start();
    const { uuid, xml } = makeCdr(randomUUID());
    await spool.append({ xml, uuid });
    await spool.append({ xml, uuid });
    await d.drained();
    expect(sink.rows.size).toBe(1);
    expect(sink.received).toBe(2);
    expect(await spool.pending()).toEqual([]);
  });

  it('after a restart, redelivers only to the sinks that had not stored an entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-dispatch-'));
    const spool = await openSpool(dir);
    const done = new MemorySink('done');
    const late = new GatedSink('late');
    const d = dispatcher({ spool, sinks: [done, late], concurrency: 1 });
    await d.start();
    const uuids = await appendMany(spool, 12);
    await until(d, 'delivered', () => done.rows.size === 12);
    // Stop while `late` is stuck in a write: stop waits for that write, so let it finish after stop began.
    const stopping = d.stop();
    late.open();
    await stopping;
    await spool.close();

    const spool2 = await openSpool(dir);
    const done2 = new MemorySink('done');
    const late2 = new MemorySink('late');
    const d2 = dispatcher({ spool: spool2, sinks: [done2, late2] });
    await d2.start();
    await d2.drained();
    expect(done2.received).toBe(0);
    expect(new Set([...late.rows.keys(), ...late2.rows.keys()])).toEqual(new Set(uuids));
    expect(await spool2.pending()).toEqual([]);
  });

  it('stop() waits for the writes in flight and leaves the rest in the spool', async () => {
    const spool = await openSpool();
    const sink = new GatedSink('slow');
    const d = dispatcher({ spool, sinks: [sink], batchSize: 2, concurrency: 1 });
    await d.start();
    await appendMany(spool, 6);
    let stopped = false;
    const stopping = d.stop().then(() => {
      stopped = true;
    });
    await Promise.resolve();
    expect(stopped).toBe(false);
    sink.open();
    await stopping;
    expect(sink.rows.size).toBeGreaterThanOrEqual(1);
    expect((await spool.pending()).length).toBe(6 - sink.rows.size);
  });

  it('reports queue depth and lag per sink', async () => {
    const spool = await openSpool();
    const registry = new Registry();
    const sink = new GatedSink('gated');
    const d = dispatcher({ spool, sinks: [sink], registry, concurrency: 1, batchSize: 1 });
    await appendMany(spool, 3);
    await d.start();
    const stats = d.stats().gated;
    expect(stats?.depth).toBe(3);
    expect(stats?.inFlight).toBe(1);
    expect(stats?.lagMs).toBeGreaterThanOrEqual(0);
    sink.open();
    await d.drained();
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_cdr_sink_queue_depth_entries{sink="gated"} 0');
    expect(text).toContain('pbxkit_cdr_sink_lag_seconds{sink="gated"} 0');
    expect(text).toContain('pbxkit_cdr_sink_write_duration_seconds_count{sink="gated"} 3');
  });

  it('refuses two sinks with one name', async () => {
    const spool = await openSpool();
    expect(() => new CdrDispatcher({ spool, sinks: [new MemorySink('x'), new MemorySink('x')] })).toThrow(
      RangeError,
    );
  });
});
