import { randomUUID } from 'node:crypto';
import {
  ErrorReporter,
  type Logger,
  openSqlClient,
  type Registry,
  resolveLogger,
  type SqlClient,
  type SqlTarget,
} from '@pbxkit/core';
import { toFusionPbxJson } from '../fusionpbx/json.js';
import { type CdrNode, insertNodes, nodeDdl, nodeOf } from '../fusionpbx/node.js';
import { type FusionPbxRow, toFusionPbxRow } from '../fusionpbx/row.js';
import { fusionPbxDdl } from '../fusionpbx/schema.js';
import type { CdrRecord } from '../record.js';
import type { CdrStore, PreparedCdr, PreparingCdrSink } from '../sink.js';
import { CdrSinkUnavailableError } from '../sink-errors.js';
import { type ExtensionKeys, extensionKeys, FusionPbxLookups } from './fusionpbx-lookups.js';
import { isPostgresTransient } from './postgres-errors.js';

/**
 * Where a {@link PostgresCdrSink} stores CDRs: `{ connectionString }` (PostgreSQL, FusionPBX's database),
 * `{ pool }` (a `pg.Pool` of yours), or `{ pglite }` (embedded; an instance, or `{ dataDir }`, `memory://` for
 * in-memory, which needs the optional `@electric-sql/pglite`). See `openSqlClient` in `@pbxkit/core`.
 */
export type PostgresTarget = SqlTarget;

/** Options of {@link PostgresCdrSink}. */
export interface PostgresCdrSinkOptions {
  /** Sink name for metrics and the spool. Default `postgres`. */
  name?: string;
  /** Schema of the tables. Default `public`. */
  schema?: string;
  /**
   * Also store the JSON copy in `v_xml_cdr_json`, which FusionPBX's call details page reads. Off by default:
   * it costs about ten times the row itself (measured: 0.22 ms per 50 KB CDR without, 2.9 ms with, most of it
   * PostgreSQL parsing the jsonb). Turn it on when FusionPBX's UI shows these CDRs.
   */
  storeJson?: boolean;
  /**
   * Fill `domain_uuid` from FusionPBX's `v_domains` by `domain_name` when the CDR lacks it (as FusionPBX's
   * importer does). Default: when a `v_domains` table exists.
   */
  resolveDomains?: boolean;
  /**
   * Fill `extension_uuid` from FusionPBX's `v_extensions` when the CDR has no `extension_uuid` variable, as
   * FusionPBX's importer does (by `last_sent_callee_id_number`, `referred_by_user` or `dialed_user` in the CDR's
   * domain, else by the call-centre agent `cc_agent` through `v_call_center_agents`): FusionPBX's per-extension
   * pages filter on it. Default: when `v_extensions` exists.
   */
  resolveExtensions?: boolean;
  /**
   * Fill `call_center_queue_uuid` from FusionPBX's `v_call_center_queues` by queue extension (`cc_queue` before
   * its `@`) when the CDR lacks it. Default: when `v_call_center_queues` exists.
   */
  resolveQueues?: boolean;
  /** How long the answers of those lookups are reused, ms. Default 300 000 (new extensions show within 5 minutes). */
  lookupCacheMs?: number;
  /**
   * Record the node each CDR came from in `pbxkit_cdr_node` (keyed by `xml_cdr_uuid`; FusionPBX's `v_xml_cdr`
   * has no column for it): the CDR's `switchname`, else its `core-uuid`, else {@link node}. The table is created
   * at the first write when missing. Default true.
   */
  recordNodes?: boolean;
  /** Node id for CDRs that name no node (FreeSWITCH 1.0-era XML without `switchname` or `core-uuid`). */
  node?: string;
  /** Rows per INSERT statement. Default 200. */
  rowsPerStatement?: number;
  /**
   * Create the tables on first use (what {@link PostgresCdrSink.createSchema} does), and again at the next use
   * after an attempt failed, instead of needing `createSchema()` before anything else. A server can then start
   * while PostgreSQL is down: its first writes fail as the store being unreachable (retried by the dispatcher)
   * until the database is back. Default false.
   */
  ensureSchema?: boolean;
  logger?: Logger;
  /** Registry of `pbxkit_cdr_errors_total{component="postgres_sink"}` (lost connections). */
  registry?: Registry;
}

type Row = FusionPbxRow & { insert_date: Date };

/** What {@link PostgresCdrSink} keeps of a record until it is written: its row, and its JSON copy if stored. */
export interface PostgresPreparedCdr {
  row: FusionPbxRow;
  /** `v_xml_cdr_json.json`, when `storeJson` is on. */
  json?: string;
  /** The numbers that may name its extension in `v_extensions`, when it has no `extension_uuid`. */
  keys?: ExtensionKeys;
  /** The node it came from, when known and `recordNodes` is on. */
  node?: CdrNode;
}

/**
 * Stores CDRs in FusionPBX's `v_xml_cdr` table (and the JSON copy in `v_xml_cdr_json`) on PostgreSQL through
 * `pg`, or on PGlite as an embedded default that needs no server. Idempotent by call uuid:
 * `INSERT ... ON CONFLICT (xml_cdr_uuid) DO NOTHING`, so a CDR delivered twice is stored once, and a batch
 * with a duplicate never fails (the failure mode that moved 84,742 good files aside in one FusionPBX install).
 * Works against an existing FusionPBX database (only the columns FusionPBX has are written).
 *
 * @example
 * ```ts
 * const sink = new PostgresCdrSink({ connectionString: 'postgres://fusionpbx@127.0.0.1/fusionpbx' });
 * await sink.createSchema(); // no-op on a FusionPBX database
 * await sink.write([parseCdr(xml)]);
 * ```
 */
export class PostgresCdrSink implements CdrStore, PreparingCdrSink<PostgresPreparedCdr> {
  readonly name: string;
  private readonly client: Promise<SqlClient>;
  private readonly options: PostgresCdrSinkOptions;
  private readonly log: Logger;
  private readonly table: string;
  private readonly jsonTable: string;
  private schemaReady: Promise<void> | undefined;
  private nodeTableReady: Promise<void> | undefined;
  private readonly lookups: FusionPbxLookups;

  constructor(target: PostgresTarget, options: PostgresCdrSinkOptions = {}) {
    this.options = options;
    this.name = options.name ?? 'postgres';
    this.log = resolveLogger(options.logger, { component: 'cdr-postgres', sink: this.name });
    const schema = `"${(options.schema ?? 'public').replace(/"/g, '""')}"`;
    this.table = `${schema}.v_xml_cdr`;
    this.jsonTable = `${schema}.v_xml_cdr_json`;
    this.lookups = new FusionPbxLookups(schema, {
      domains: options.resolveDomains,
      extensions: options.resolveExtensions,
      queues: options.resolveQueues,
      cacheMs: options.lookupCacheMs,
    });
    const errors = new ErrorReporter('cdr', 'postgres_sink', {
      logger: this.log,
      registry: options.registry,
    });
    this.client = openSqlClient(target, { errors, usedBy: 'PostgresCdrSink' });
    // Avoid an unhandled rejection if nobody calls a method before the connection fails.
    this.client.catch(() => {});
  }

  /** Creates `v_xml_cdr`, `v_xml_cdr_json` and their indexes when missing (safe on a FusionPBX database). */
  async createSchema(): Promise<void> {
    const db = await this.client;
    for (const statement of fusionPbxDdl(this.options.schema)) await db.query(statement);
    for (const statement of nodeDdl(this.options.schema)) await db.query(statement);
  }

  /**
   * Checks that the store answers and its table is there (a `select` of no row), for a health endpoint. With
   * `ensureSchema` it creates the tables first when they are missing.
   */
  async ping(): Promise<void> {
    const db = await this.db();
    await db.query(`select 1 from ${this.table} limit 0`);
  }

  /** The client, once the schema is there when `ensureSchema` is on (a failed attempt is retried next time). */
  private async db(): Promise<SqlClient> {
    const db = await this.client;
    if (this.options.ensureSchema !== true) return db;
    this.schemaReady ??= this.createSchema().catch((err: unknown) => {
      this.schemaReady = undefined;
      // Not about the records being written: two receivers creating the tables of a fresh database at once
      // can fail with 23505 on PostgreSQL's catalog, which would otherwise count as the records' fault.
      throw new CdrSinkUnavailableError(`could not create the CDR tables: ${(err as Error).message}`, {
        cause: err,
      });
    });
    await this.schemaReady;
    return db;
  }

  /** Inserts the batch in one transaction; rows already present are left as they are. */
  async write(records: readonly CdrRecord[]): Promise<void> {
    await this.writePrepared(records.map((record) => this.prepare(record).item));
  }

  /** The row (and JSON copy) of a record: all this sink keeps of it (see {@link PreparingCdrSink}). */
  prepare(record: CdrRecord): PreparedCdr<PostgresPreparedCdr> {
    const row = detachStrings(toFusionPbxRow(record));
    const keys = extensionKeys(record, row);
    const item: PostgresPreparedCdr = keys ? { row, keys } : { row };
    const node = this.options.recordNodes === false ? undefined : nodeOf(record, this.options.node);
    if (node) item.node = node;
    // A record read from a CSV line or a pg_csv row has no XML to make FusionPBX's JSON copy from.
    if (this.options.storeJson !== true || record.origin) return { item, bytes: ROW_BYTES };
    item.json = JSON.stringify(toFusionPbxJson(record));
    return { item, bytes: ROW_BYTES + item.json.length };
  }

  /** {@link PostgresCdrSink.write} for prepared records. */
  async writePrepared(items: readonly PostgresPreparedCdr[]): Promise<void> {
    if (items.length === 0) return;
    const unique = new Map<
      string,
      { row: Row; json: string | undefined; keys: ExtensionKeys | undefined; node: CdrNode | undefined }
    >();
    const now = new Date();
    for (const item of items) {
      const row = { ...item.row, insert_date: now };
      if (!unique.has(row.xml_cdr_uuid))
        unique.set(row.xml_cdr_uuid, { row, json: item.json, keys: item.keys, node: item.node });
    }
    const db = await this.db();
    const nodes = [...unique.values()].flatMap((e) =>
      e.node ? [{ uuid: e.row.xml_cdr_uuid, node: e.node }] : [],
    );
    if (nodes.length) await this.nodeTable(db);
    const entries = [...unique.values()];
    await this.lookups.resolve(db, entries);
    const perStatement = this.options.rowsPerStatement ?? 200;
    await db.transaction(async (tx) => {
      for (let i = 0; i < entries.length; i += perStatement) {
        const chunk = entries.slice(i, i + perStatement);
        const inserted = await this.insertRows(
          tx,
          chunk.map((c) => c.row),
        );
        if (this.options.storeJson === true && inserted.size > 0) {
          await this.insertJson(
            tx,
            chunk.filter((c) => inserted.has(c.row.xml_cdr_uuid)),
          );
        }
      }
      await insertNodes(tx, this.options.schema ?? 'public', nodes);
    });
  }

  /** Creates the node table once (again after a failed attempt): a FusionPBX database lacks it. */
  private nodeTable(db: SqlClient): Promise<void> {
    this.nodeTableReady ??= (async () => {
      for (const statement of nodeDdl(this.options.schema)) await db.query(statement);
    })().catch((err: unknown) => {
      this.nodeTableReady = undefined;
      throw err;
    });
    return this.nodeTableReady;
  }

  /**
   * True when a failed write says nothing about its rows (connection refused or lost, server shutting down, too
   * many connections, read-only standby, ...): the dispatcher then retries until the store is back instead of
   * dead-lettering. Data and constraint errors (SQLSTATE classes 22, 23, 54) are the records' own. See
   * {@link isPostgresTransient}.
   */
  isTransient(err: unknown): boolean {
    return isPostgresTransient(err);
  }

  /** The stored row of a call leg, or undefined. */
  async get(uuid: string): Promise<Record<string, unknown> | undefined> {
    const db = await this.db();
    const { rows } = await db.query(`select * from ${this.table} where xml_cdr_uuid = $1`, [uuid]);
    return rows[0];
  }

  /** How many CDRs the table holds. */
  async count(): Promise<number> {
    const db = await this.db();
    const { rows } = await db.query<{ n: string | number }>(`select count(*) as n from ${this.table}`);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Deletes CDRs whose call started before `cutoff` (`start_stamp`; FusionPBX keys on `insert_date`, which keeps
   * re-imported old calls for another full period), with their JSON copies, `batchSize` rows per statement
   * so no statement holds locks for long. Resolves with the number deleted.
   */
  async purgeOlderThan(
    cutoff: Date,
    options: { batchSize?: number; signal?: AbortSignal } = {},
  ): Promise<number> {
    const db = await this.db();
    const batchSize = options.batchSize ?? 5000;
    const hasJsonTable = await this.hasTable(db, this.jsonTable);
    let total = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const deleted = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ xml_cdr_uuid: string }>(
          `delete from ${this.table} where xml_cdr_uuid in (
             select xml_cdr_uuid from ${this.table} where start_stamp < $1 limit $2
           ) returning xml_cdr_uuid`,
          [cutoff, batchSize],
        );
        if (rows.length && hasJsonTable) {
          await tx.query(`delete from ${this.jsonTable} where xml_cdr_uuid = any($1::uuid[])`, [
            rows.map((r) => r.xml_cdr_uuid),
          ]);
        }
        return rows.length;
      });
      total += deleted;
      if (deleted < batchSize) break;
    }
    this.log.info({ cutoff, deleted: total }, 'purged old CDRs');
    return total;
  }

  async close(): Promise<void> {
    const db = await this.client.catch(() => undefined);
    await db?.close();
  }

  private async insertRows(tx: SqlClient, rows: Row[]): Promise<Set<string>> {
    const columns = Object.keys(rows[0] as Row) as Array<keyof Row>;
    const params: unknown[] = [];
    const tuples = rows.map((row) => {
      const placeholders = columns.map((column) => {
        params.push(row[column]);
        return `$${params.length}`;
      });
      return `(${placeholders.join(',')})`;
    });
    const { rows: inserted } = await tx.query<{ xml_cdr_uuid: string }>(
      `insert into ${this.table} (${columns.join(',')}) values ${tuples.join(',')}
       on conflict (xml_cdr_uuid) do nothing returning xml_cdr_uuid`,
      params,
    );
    return new Set(inserted.map((r) => r.xml_cdr_uuid));
  }

  private async insertJson(
    tx: SqlClient,
    entries: Array<{ row: Row; json: string | undefined }>,
  ): Promise<void> {
    const params: unknown[] = [];
    const tuples = entries.map(({ row, json }) => {
      params.push(randomUUID(), row.xml_cdr_uuid, row.domain_uuid, row.start_stamp, json, row.insert_date);
      const n = params.length;
      return `($${n - 5},$${n - 4},$${n - 3},$${n - 2},$${n - 1}::jsonb,$${n})`;
    });
    await tx.query(
      `insert into ${this.jsonTable} (xml_cdr_json_uuid, xml_cdr_uuid, domain_uuid, start_stamp, json, insert_date)
       values ${tuples.join(',')}`,
      params,
    );
  }

  private async hasTable(db: SqlClient, name: string): Promise<boolean> {
    const { rows } = await db.query<{ t: string | null }>('select to_regclass($1)::text as t', [name]);
    return Boolean(rows[0]?.t);
  }
}

/**
 * Gives the row's long strings their own storage. They are slices of the CDR's XML text, and V8 keeps a slice's
 * whole parent alive: a waiting row would hold the 50 KB document (measured: 51.6 KB retained per row before,
 * 1.7 KB after, for ~3 us). Prepending a character makes V8 build a new flat string that the slice then points
 * into.
 */
function detachStrings(row: FusionPbxRow): FusionPbxRow {
  const fields = row as unknown as Record<string, unknown>;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value === 'string' && value.length >= 13) fields[key] = ` ${value}`.slice(1);
  }
  return row;
}

/** About the heap of one prepared row (measured ~1 KB on 50 KB CDRs), for the dispatcher's cache bound. */
const ROW_BYTES = 2048;
