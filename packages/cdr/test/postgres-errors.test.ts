import { SqlNoSuitableHostError } from '@pbxkit/core';
import { describe, expect, it } from 'vitest';
import { parseCdr } from '../src/parse/parse-cdr.js';
import { CdrSinkUnavailableError } from '../src/sink-errors.js';
import { PostgresCdrSink } from '../src/sinks/postgres.js';
import { isPostgresTransient } from '../src/sinks/postgres-errors.js';
import { makeCdr } from './dispatch-helpers.js';

const serverError = (code: string, message = code) =>
  Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('PostgreSQL errors around a failover', () => {
  it('no host of a multi-host URL taking writes is transient (retried, never dead-lettered)', () => {
    const err = new SqlNoSuitableHostError(
      'read-write',
      [new Error('b:2 is not read-write')],
      ['b:2 is a standby'],
    );
    expect(isPostgresTransient(err)).toBe(true);
    expect(
      isPostgresTransient(serverError('25006', 'cannot execute INSERT in a read-only transaction')),
    ).toBe(true);
  });

  it("a unique violation is the records' fault, unless it came from creating the tables", () => {
    const catalog = serverError(
      '23505',
      'duplicate key value violates unique constraint "pg_type_typname_nsp_index"',
    );
    expect(isPostgresTransient(catalog)).toBe(false);
    expect(
      isPostgresTransient(new CdrSinkUnavailableError('could not create the CDR tables', { cause: catalog })),
    ).toBe(true);
  });

  it('with ensureSchema, two receivers racing to create the tables fail their writes as transient', async () => {
    // A pool whose `create table` loses the race PostgreSQL can lose between two concurrent creators.
    const query = async (sql: string) => {
      if (sql.startsWith('create table')) {
        throw serverError(
          '23505',
          'duplicate key value violates unique constraint "pg_type_typname_nsp_index"',
        );
      }
      return { rows: [], rowCount: 0 };
    };
    const pool = {
      query,
      connect: async () => ({ query, on: () => undefined, off: () => undefined, release: () => {} }),
      on: () => undefined,
      off: () => undefined,
      end: async () => {},
    };
    const sink = new PostgresCdrSink({ pool }, { ensureSchema: true });
    const err = await sink.write([parseCdr(makeCdr().xml)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CdrSinkUnavailableError);
    expect((err as Error).message).toMatch(/^could not create the CDR tables: duplicate key value/);
    expect(sink.isTransient(err)).toBe(true);
    await sink.close();
  });
});
