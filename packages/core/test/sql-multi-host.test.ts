import { describe, expect, it } from 'vitest';
import type { PgPoolClientLike, PgPoolLike } from '../src/sql/client.js';
import { splitHosts } from '../src/sql/hosts.js';
import { multiHostPgClient, SqlNoSuitableHostError } from '../src/sql/multi-host.js';

type Role = 'primary' | 'standby' | 'down';

/**
 * Stand-in pg pools, one per host, whose role the test sets: a host answers the state query as a primary or a
 * standby, refuses connections when down, and refuses writes with 25006 as a standby.
 */
function cluster(roles: Record<string, Role>) {
  const opened: string[] = [];
  const ended: string[] = [];
  const writes: string[] = [];
  const openPool = (url: string): PgPoolLike => {
    const host = new URL(url).host;
    opened.push(host);
    const query = async (sql: string) => {
      const role = roles[host];
      if (role === 'down')
        throw Object.assign(new Error(`connect ECONNREFUSED ${host}`), { code: 'ECONNREFUSED' });
      if (sql.includes('pg_is_in_recovery')) {
        return { rows: [{ recovery: role === 'standby', read_only: role === 'standby' }], rowCount: 1 };
      }
      if (role === 'standby' && sql.startsWith('insert')) {
        throw Object.assign(new Error('cannot execute INSERT in a read-only transaction'), {
          code: '25006',
          severity: 'ERROR',
        });
      }
      if (sql.startsWith('insert') || sql.startsWith('select')) writes.push(host);
      return { rows: [], rowCount: 1 };
    };
    const client: PgPoolClientLike = { query, on: () => client, off: () => client, release: () => {} };
    return {
      query,
      connect: async () => client,
      on: () => undefined,
      off: () => undefined,
      end: async () => {
        ended.push(host);
      },
    };
  };
  return { openPool, opened, ended, writes };
}

const URL_AB = 'postgres://u@a:1,b:2/db?target_session_attrs=read-write';

describe('multiHostPgClient', () => {
  it('writes to the host that takes writes, stays there, and moves when it becomes a standby', async () => {
    const roles: Record<string, Role> = { 'a:1': 'standby', 'b:2': 'primary' };
    const c = cluster(roles);
    const db = multiHostPgClient(splitHosts(URL_AB)!, { openPool: c.openPool });
    await db.query('insert 1');
    await db.query('insert 2');
    expect(c.writes).toEqual(['b:2', 'b:2']);

    // Switchover: b is demoted and a promoted. The first write on b fails (passed on), the next goes to a.
    roles['a:1'] = 'primary';
    roles['b:2'] = 'standby';
    await expect(db.query('insert 3')).rejects.toMatchObject({ code: '25006' });
    expect(c.ended).toContain('b:2');
    await db.transaction(async (tx) => {
      await tx.query('insert 4');
    });
    expect(c.writes).toEqual(['b:2', 'b:2', 'a:1']);
    await db.close();
  });

  it('with no host that takes writes, says why for each host; works again once one does', async () => {
    const roles: Record<string, Role> = { 'a:1': 'down', 'b:2': 'standby' };
    const c = cluster(roles);
    const db = multiHostPgClient(splitHosts(URL_AB)!, { openPool: c.openPool });
    const err = await db.query('insert 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SqlNoSuitableHostError);
    expect(err).toMatchObject({ code: 'SQL_NO_SUITABLE_HOST' });
    expect((err as Error).message).toBe(
      'no PostgreSQL host is read-write: a:1: connect ECONNREFUSED a:1; b:2 is a standby',
    );
    roles['b:2'] = 'primary';
    await db.query('insert 2');
    expect(c.writes).toEqual(['b:2']);
    await db.close();
  });

  it('prefer-standby reads from a standby when there is one, else from any host; any uses the first that answers', async () => {
    const roles: Record<string, Role> = { 'a:1': 'primary', 'b:2': 'standby' };
    const reads = async (attrs: string) => {
      const c = cluster(roles);
      const db = multiHostPgClient(splitHosts(`postgres://u@a:1,b:2/db?target_session_attrs=${attrs}`)!, {
        openPool: c.openPool,
      });
      await db.query('select 1');
      await db.close();
      return c.writes;
    };
    expect(await reads('prefer-standby')).toEqual(['b:2']);
    expect(await reads('any')).toEqual(['a:1']);
    expect(await reads('standby')).toEqual(['b:2']);
    roles['b:2'] = 'down';
    expect(await reads('prefer-standby')).toEqual(['a:1']);
  });

  it('closes every pool it opened, and refuses queries after close', async () => {
    const c = cluster({ 'a:1': 'primary', 'b:2': 'primary' });
    const db = multiHostPgClient(splitHosts(URL_AB)!, { openPool: c.openPool });
    await db.query('insert 1');
    await db.close();
    expect(c.ended).toEqual(['a:1']);
    await expect(db.query('insert 2')).rejects.toMatchObject({ code: 'SQL_CLOSED' });
  });
});
