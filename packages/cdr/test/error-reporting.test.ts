import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@pbxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../../scripts/test-observe.js';
import { CdrDispatcher } from '../src/dispatch/dispatcher.js';
import { CdrRetention } from '../src/retention/retention.js';
import type { CdrStore } from '../src/sink.js';
import { CdrSpool } from '../src/spool/spool.js';
import { makeCdr, PoisonSink } from './dispatch-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A dispatcher whose sink refuses the one spooled CDR and whose spool cannot store the dead letter (the sink's
 * dead-letter directory is taken by a file, as a full or read-only disk would refuse it): an error only the
 * dispatcher sees.
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
  mkdirSync(join(dir, 'dead'), { recursive: true });
  writeFileSync(join(dir, 'dead', 'store'), 'not a directory');
  const sink = new PoisonSink('store', new Set([uuid]));
  const d = new CdrDispatcher({
    spool,
    sinks: [sink],
    retry: { minMs: 1, maxMs: 1, maxAttempts: 1 },
    ...options,
  });
  cleanups.push(() => d.stop());
  return { d, spool };
}

describe('CdrDispatcher errors', () => {
  it('are logged and counted when nothing listens (the spool cannot write a dead letter)', async () => {
    const { logger, lines } = captureLogger();
    const registry = new Registry();
    const { d, spool } = await dispatcherThatCannotDeadLetter({ registry, logger });
    await d.start();
    await d.drained();
    const logged = lines.filter((l) => l.level === 'error');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      msg: 'could not write the dead letter',
      fields: { component: 'cdr-dispatcher', sink: 'store' },
    });
    expect((logged[0]?.fields.err as NodeJS.ErrnoException | undefined)?.code).toMatch(/^(EEXIST|ENOTDIR)$/);
    expect(await registry.metrics()).toContain('pbxkit_cdr_errors_total{component="dispatcher"} 1');
    // Nothing is lost: the entry stays in the spool for the next start.
    expect(await spool.pending()).toHaveLength(1);
  });

  it('still reach a listener, which gets the error itself', async () => {
    const { logger } = captureLogger();
    const registry = new Registry();
    const { d } = await dispatcherThatCannotDeadLetter({ registry, logger });
    const heard: unknown[] = [];
    d.on('error', (err) => heard.push(err));
    await d.start();
    await d.drained();
    expect(heard).toHaveLength(1);
    expect((heard[0] as NodeJS.ErrnoException).code).toMatch(/^(EEXIST|ENOTDIR)$/);
    expect(await registry.metrics()).toContain('pbxkit_cdr_errors_total{component="dispatcher"} 1');
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
