import { ErrorReporter } from '../error-reporter.js';
import { PbxkitError } from '../errors.js';
import { type PgPoolLike, pgClient, type SqlClient } from './client.js';
import {
  HOST_STATE_SQL,
  type HostList,
  type HostState,
  hostMatches,
  isHostFailure,
  type TargetSessionAttrs,
} from './hosts.js';

/**
 * None of the hosts of a multi-host connection string could be used: each refused the connection, failed, or
 * is not what `target_session_attrs` asks for (every host a standby while a `read-write` host is wanted, as
 * during a failover before the promotion). `errors` holds each host's reason, in the order tried. Retrying
 * later is the cure.
 */
export class SqlNoSuitableHostError extends PbxkitError {
  constructor(
    readonly targetSessionAttrs: TargetSessionAttrs,
    readonly errors: readonly unknown[],
    reasons: readonly string[],
  ) {
    super(
      'SQL_NO_SUITABLE_HOST',
      `no PostgreSQL host is ${targetSessionAttrs === 'any' ? 'reachable' : targetSessionAttrs}: ${reasons.join('; ')}`,
    );
  }
}

/** Options of {@link multiHostPgClient}. */
export interface MultiHostPgClientOptions {
  /** Opens a `pg` pool on one host's connection string; the client ends it when the host fails. */
  openPool: (url: string) => PgPoolLike;
  /** Logs and counts hosts that fail (and the connection errors of each pool, see `pgClient`). */
  errors?: ErrorReporter;
}

interface Chosen {
  index: number;
  client: SqlClient;
}

/**
 * A {@link SqlClient} over several PostgreSQL hosts with libpq's `target_session_attrs` semantics: the hosts are
 * tried in order and the first one that connects and is what is asked (`read-write`: accepts writes;
 * `primary`, `standby`, `read-only`, `prefer-standby`, `any`) is used, through a pool of its own, until a
 * statement fails in a way that says the host is gone or no longer suitable (connection lost, shutting down,
 * 25006 read-only after it became a standby). That statement's error is passed on (it may or may not have
 * been applied: retrying is the caller's call) and the next statement chooses a host again. When none fits,
 * statements fail with {@link SqlNoSuitableHostError} until one does.
 *
 * The host is checked when it is chosen, not on every new connection as libpq does: a host that turns into a
 * standby without restarting is noticed at the first write it refuses.
 */
export function multiHostPgClient(hosts: HostList, options: MultiHostPgClientOptions): SqlClient {
  const errors = options.errors ?? new ErrorReporter('core', 'sql');
  const clients = new Map<number, SqlClient>();
  let current: Chosen | undefined;
  let choosing: Promise<Chosen> | undefined;
  let closed = false;

  const clientFor = (index: number): SqlClient => {
    let client = clients.get(index);
    if (!client) {
      client = pgClient(options.openPool(hosts.urls[index] as string), { owned: true, errors });
      clients.set(index, client);
    }
    return client;
  };
  // The pool of a failed host is ended (its connections are dead or read-only); the next use opens a new one.
  const drop = (index: number): void => {
    const client = clients.get(index);
    clients.delete(index);
    client?.close().catch(() => {});
  };

  const choose = async (): Promise<Chosen> => {
    const attrs = hosts.targetSessionAttrs;
    const passes: TargetSessionAttrs[] = attrs === 'prefer-standby' ? ['standby', 'any'] : [attrs];
    const failures: unknown[] = [];
    const reasons: string[] = [];
    for (const wanted of passes) {
      for (let index = 0; index < hosts.urls.length; index++) {
        const label = hosts.labels[index];
        try {
          const client = clientFor(index);
          const { rows } = await client.query<{ recovery: boolean; read_only: boolean }>(HOST_STATE_SQL);
          const row = rows[0];
          const state: HostState = { inRecovery: row?.recovery === true, readOnly: row?.read_only === true };
          if (hostMatches(wanted, state)) return { index, client };
          reasons.push(`${label} is ${state.inRecovery ? 'a standby' : 'read-only'}`);
          failures.push(new Error(`${label} is not ${wanted}`));
        } catch (err) {
          drop(index);
          reasons.push(`${label}: ${(err as Error).message}`);
          failures.push(err);
        }
      }
    }
    throw new SqlNoSuitableHostError(attrs, failures, reasons);
  };

  const pick = (): Promise<Chosen> => {
    if (closed) return Promise.reject(new PbxkitError('SQL_CLOSED', 'the SQL client is closed'));
    if (current) return Promise.resolve(current);
    choosing ??= choose().then(
      (chosen) => {
        choosing = undefined;
        current = chosen;
        return chosen;
      },
      (err: unknown) => {
        choosing = undefined;
        throw err;
      },
    );
    return choosing;
  };

  const onFailure = (chosen: Chosen, err: unknown): void => {
    if (!isHostFailure(err)) return;
    errors.report(err, {
      msg: 'PostgreSQL host failed: the next statement chooses a host again',
      level: 'warn',
      host: hosts.labels[chosen.index],
    });
    if (current === chosen) current = undefined;
    drop(chosen.index);
  };

  return {
    async query(sql, params) {
      const chosen = await pick();
      try {
        return await chosen.client.query(sql, params);
      } catch (err) {
        onFailure(chosen, err);
        throw err;
      }
    },
    async transaction(fn) {
      const chosen = await pick();
      try {
        return await chosen.client.transaction(fn);
      } catch (err) {
        onFailure(chosen, err);
        throw err;
      }
    },
    async close() {
      closed = true;
      current = undefined;
      const all = [...clients.values()];
      clients.clear();
      await Promise.all(all.map((c) => c.close()));
    },
  };
}
