import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureLogger } from '../../../scripts/test-observe.js';
import { CdrDispatcher } from '../src/dispatch/dispatcher.js';
import type { CdrRecord } from '../src/record.js';
import { CdrRetention } from '../src/retention/retention.js';
import type { CdrStore } from '../src/sink.js';
import { CdrSpool } from '../src/spool/spool.js';
import { makeCdr, PoisonSink } from './dispatch-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A dispatcher whose sink refuses the one spooled CDR and whose spool cannot store the dead letter: once the
 * dispatcher has started, the sink's dead-letter directory is replaced by a file before the refusal, as a
 * full or read-only disk would refuse it. An error only the dispatcher sees.
 */
async function dispatcherThatCannotDeadLetter(options: {
  registry: Registry;
  logger: ReturnType<typeof captureLogger>['logger'];
}) {
  const dir = mkdtempSync(join(tmpdir(), 'pbxkit-errors-'));
  const spool = await CdrSpool.open({ dir });
  cleanups.push(() => spool.close());
  const { uuid, xml } = makeCdr();
  await spool.append({ xml, uuid, leg: 'a' });
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sink = new (class extends PoisonSink {
    override async write(records: readonly CdrRecord[]): Promise<void> {
      await gate;
      await super.write(records);
    }
  })('store', new Set([uuid]));
  const d = new CdrDispatcher({
    spool,
    sinks: [sink],
    retry: { minMs: 1, maxMs: 1, maxAttempts: 1 },
    ...options,
  });
  cleanups.push(() => d.stop());
  const start = async () => {
    await d.start();
    rmSync(join(dir, 'dead', 'store'), { recursive: true, force: true });
    mkdirSync(join(dir, 'dead'), { recursive: true });
    writeFileSync(join(dir, 'dead', 'store'), 'not a directory');
    release();
  };
  return { d, spool, start };
}

describe('CdrDispatcher errors', () => {
  // The dead letter's write is retried until it succeeds (nothing acknowledged may wait for a restart), so the
  // tests wait for its first failure to be reported rather than for the dispatcher to drain.
  it('are logged and counted when nothing listens (the spool cannot write a dead letter)', async () => {
    const { logger, lines } = captureLogger();
    const registry = new Registry();
    const { d, spool, start } = await dispatcherThatCannotDeadLetter({ registry, logger });
    await start();
    const errors = () => lines.filter((l) => l.level === 'error');
    await vi.waitFor(() => expect(errors().length).toBeGreaterThan(0), { timeout: 20_000 });
    expect(errors()[0]).toMatchObject({
      msg: 'CDR dispatcher error (dead_letter)',
      fields: { component: 'cdr-dispatcher', sink: 'store', kind: 'dead_letter' },
    });
    expect((errors()[0]?.fields.err as NodeJS.ErrnoException | undefined)?.code).toMatch(
      /^(EEXIST|ENOTDIR)$/,
    );
    expect(await registry.metrics()).toMatch(/pbxkit_cdr_errors_total\{component="dispatcher"\} [1-9]/);
    expect(d.health().spool.state).toBe('failing');
    await d.stop();
    // Nothing is lost: the entry stays in the spool for the next start.
    expect(await spool.pending()).toHaveLength(1);
  });

  it('still reach a listener, which gets the error itself', async () => {
    const { logger } = captureLogger();
    const registry = new Registry();
    const { d, start } = await dispatcherThatCannotDeadLetter({ registry, logger });
    const heard: unknown[] = [];
    d.on('error', (err) => heard.push(err));
    await start();
    await vi.waitFor(() => expect(heard.length).toBeGreaterThan(0), { timeout: 20_000 });
    expect((heard[0] as NodeJS.ErrnoException).code).toMatch(/^(EEXIST|ENOTDIR)$/);
    expect(await registry.metrics()).toMatch(/pbxkit_cdr_errors_total\{component="dispatcher"\} [1-9]/);
  });
});

describe('CdrRetention errors', () => {
  const broken: CdrStore = {
    name: 'broken',
    write: async () => {},
    purgeOlderThan: async () => {
      throw new Error('store down');
    },
  };

  it('are logged with the store and counted when nothing listens, and reach a listener too', async () => {
    const { logger, lines } = captureLogger();
    const registry = new Registry();
    const retention = new CdrRetention({ stores: [broken], days: 7, logger, registry });
    await retention.runOnce();
    const heard: string[] = [];
    retention.on('error', (store, err) => heard.push(`${store}: ${err.message}`));
    await retention.runOnce();
    expect(heard).toEqual(['broken: store down']);
    expect(lines.filter((l) => l.level === 'error').map((l) => [l.msg, l.fields.store])).toEqual([
      ['retention purge failed', 'broken'],
      ['retention purge failed', 'broken'],
    ]);
    expect(await registry.metrics()).toContain('pbxkit_cdr_errors_total{component="retention"} 2');
  });
});
