import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { CdrRetention, type CdrStore, PostgresCdrSink, parseCdr } from '../src/index.js';
import { cdrDocuments } from './fixtures.js';

describe('CdrRetention', () => {
  it('deletes CDRs older than N days from each store, keeps the rest, and a failing store does not stop the others', async () => {
    const sink = new PostgresCdrSink({ pglite: await PGlite.create() });
    await sink.createSchema();
    const records = cdrDocuments().map((d) => parseCdr(d.xml));
    await sink.write(records);
    const total = await sink.count();
    const broken: CdrStore = {
      name: 'broken',
      write: async () => {},
      purgeOlderThan: async () => {
        throw new Error('store down');
      },
    };
    const errors: string[] = [];
    // "now" is 2026-12-01: keep 30 days → the CDRs captured in November 2026 stay, 2009-2015 ones go.
    const retention = new CdrRetention({
      stores: [broken, sink],
      days: 30,
      batchSize: 3,
      now: () => new Date('2026-12-01T00:00:00Z'),
    });
    retention.on('error', (store) => errors.push(store));
    expect(retention.cutoff().toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(await retention.runOnce()).toBe(7);
    expect(errors).toEqual(['broken']);
    expect(await sink.count()).toBe(total - 7);
    expect(await retention.runOnce()).toBe(0);
    await retention.stop();
    await sink.close();
  });

  it('refuses a retention of zero days', () => {
    expect(() => new CdrRetention({ stores: [], days: 0 })).toThrow(RangeError);
  });
});
