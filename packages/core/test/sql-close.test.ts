import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ErrorReporter } from '../src/error-reporter.js';
import { type PgPoolLike, pgClient } from '../src/sql/client.js';

/** A pool whose connection is terminated by the server while `end()` runs (a database dropped at that moment). */
class PoolEndingWithError extends EventEmitter {
  query = async () => ({ rows: [], rowCount: 0 });
  connect = async () => {
    throw new Error('not used');
  };
  async end(): Promise<void> {
    await Promise.resolve();
    this.emit(
      'error',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    );
  }
}

describe('SQL client close', () => {
  it('a pool of its own that reports a terminated connection while ending: reported, not thrown', async () => {
    const pool = new PoolEndingWithError();
    const registry = new Registry();
    const errors = new ErrorReporter('core', 'close_test', { registry });
    const db = pgClient(pool as unknown as PgPoolLike, { owned: true, errors });
    await expect(db.close()).resolves.toBeUndefined();
    const counted = await registry.getSingleMetric('pbxkit_core_errors_total')?.get();
    expect(counted?.values.find((v) => v.labels.component === 'close_test')?.value).toBe(1);
  });

  it('a pool of yours gets no listener of ours left after close', async () => {
    const pool = new PoolEndingWithError();
    const db = pgClient(pool as unknown as PgPoolLike);
    expect(pool.listenerCount('error')).toBe(1);
    await db.close();
    expect(pool.listenerCount('error')).toBe(0);
  });
});
