import {
  ErrorReporter,
  type Logger,
  openSqlClient,
  type Registry,
  resolveLogger,
  type SqlClient,
  type SqlTarget,
} from '@pbxkit/core';
import type { StorageBackend } from '../backend.js';

/** Where one copy of a recording is. */
export interface LocationEntry {
  /** Call uuid. */
  uuid: string;
  /** `local`, `archive`, or a peer's tier name. */
  tier: string;
  /** The instance (switch) holding the copy; `''` for shared tiers such as S3. */
  instanceId: string;
  key: string;
  size?: number;
  /** `sha256:<hex>` when known. */
  checksum?: string;
  callStart?: Date;
  updatedAt?: Date;
}

/**
 * Which tier and instance hold each recording. The resolver consults it first and keeps it up to date; the
 * archiver records where it moved files. It is a cache of the truth in the backends: an entry that turns out
 * wrong is forgotten and the tiers are probed.
 */
export interface LocationIndex {
  lookup(uuid: string): Promise<LocationEntry[]>;
  /** Adds or replaces the entry for (uuid, tier, instanceId). */
  record(entry: LocationEntry): Promise<void>;
  forget(uuid: string, tier: string, instanceId: string): Promise<void>;
}

/** A {@link LocationIndex} in memory (tests, single short-lived processes). */
export class MemoryLocationIndex implements LocationIndex {
  private readonly entries = new Map<string, Map<string, LocationEntry>>();

  async lookup(uuid: string): Promise<LocationEntry[]> {
    return [...(this.entries.get(uuid)?.values() ?? [])].map((e) => ({ ...e }));
  }

  async record(entry: LocationEntry): Promise<void> {
    let byTier = this.entries.get(entry.uuid);
    if (!byTier) {
      byTier = new Map();
      this.entries.set(entry.uuid, byTier);
    }
    byTier.set(`${entry.tier}\u0000${entry.instanceId}`, {
      ...entry,
      updatedAt: entry.updatedAt ?? new Date(),
    });
  }

  async forget(uuid: string, tier: string, instanceId: string): Promise<void> {
    this.entries.get(uuid)?.delete(`${tier}\u0000${instanceId}`);
  }
}

/** Options of {@link SqlLocationIndex}. */
export interface SqlLocationIndexOptions {
  /** Table name (optionally schema-qualified, e.g. `storage.locations`). Default `pbxkit_recording_locations`. */
  table?: string;
  /** Where lost database connections are logged. Default: silent. */
  logger?: Logger;
  /** Registry of `pbxkit_storage_errors_total{component="location_index"}` (lost connections). */
  registry?: Registry;
}

interface Row {
  uuid: string;
  tier: string;
  instance_id: string;
  key: string;
  size: string | number | null;
  checksum: string | null;
  call_start: Date | string | null;
  updated_at: Date | string;
}

/**
 * A {@link LocationIndex} in PostgreSQL through `pg`, or in PGlite (embedded PostgreSQL, no server) as the
 * default for single-box installs: `new SqlLocationIndex({ pglite: { dataDir: '/var/lib/pbxkit/index' } })`.
 *
 * @example
 * ```ts
 * const index = new SqlLocationIndex({ connectionString: 'postgres://pbxkit@127.0.0.1/pbxkit' });
 * await index.createSchema();
 * ```
 */
export class SqlLocationIndex implements LocationIndex {
  private readonly client: Promise<SqlClient>;
  private readonly table: string;
  private schemaReady: Promise<void> | undefined;

  constructor(target: SqlTarget, options: SqlLocationIndexOptions = {}) {
    const table = options.table ?? 'pbxkit_recording_locations';
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
      throw new TypeError(`table name ${JSON.stringify(table)} is not a plain SQL identifier`);
    }
    this.table = table;
    const logger = resolveLogger(options.logger, { component: 'storage-location-index' });
    const errors = new ErrorReporter('storage', 'location_index', { logger, registry: options.registry });
    this.client = openSqlClient(target, { errors, usedBy: 'SqlLocationIndex' });
    this.client.catch(() => {});
  }

  /**
   * Creates the table and its index when missing (idempotent). Optional: every method creates them on first use,
   * and again at the next use after an attempt failed, so an index whose database is down when the program starts
   * works once it is back.
   */
  async createSchema(): Promise<void> {
    const db = await this.client;
    await db.query(`create table if not exists ${this.table} (
      uuid text not null,
      tier text not null,
      instance_id text not null default '',
      key text not null,
      size bigint,
      checksum text,
      call_start timestamptz,
      updated_at timestamptz not null default now(),
      primary key (uuid, tier, instance_id)
    )`);
    const name = `${this.table.replace('.', '_')}_tier_idx`;
    await db.query(`create index if not exists ${name} on ${this.table} (tier, instance_id, call_start)`);
  }

  /** The client, once the schema is there (see {@link createSchema}). */
  private async db(): Promise<SqlClient> {
    this.schemaReady ??= this.createSchema().catch((err: unknown) => {
      this.schemaReady = undefined;
      throw err;
    });
    await this.schemaReady;
    return this.client;
  }

  async lookup(uuid: string): Promise<LocationEntry[]> {
    const db = await this.db();
    const { rows } = await db.query<Row>(
      `select * from ${this.table} where uuid = $1 order by updated_at desc`,
      [uuid],
    );
    return rows.map(fromRow);
  }

  async record(entry: LocationEntry): Promise<void> {
    const db = await this.db();
    await db.query(
      `insert into ${this.table} (uuid, tier, instance_id, key, size, checksum, call_start, updated_at)
       values ($1, $2, $3, $4, $5, $6, $7, coalesce($8, now()))
       on conflict (uuid, tier, instance_id) do update set key = excluded.key, size = excluded.size,
         checksum = coalesce(excluded.checksum, ${this.table}.checksum),
         call_start = coalesce(excluded.call_start, ${this.table}.call_start), updated_at = excluded.updated_at`,
      [
        entry.uuid,
        entry.tier,
        entry.instanceId,
        entry.key,
        entry.size ?? null,
        entry.checksum ?? null,
        entry.callStart ?? null,
        entry.updatedAt ?? null,
      ],
    );
  }

  async forget(uuid: string, tier: string, instanceId: string): Promise<void> {
    const db = await this.db();
    await db.query(`delete from ${this.table} where uuid = $1 and tier = $2 and instance_id = $3`, [
      uuid,
      tier,
      instanceId,
    ]);
  }

  /**
   * Rebuilds the entries of one tier from what the backend really holds: lists every key under `prefix`,
   * records those `uuidOf` recognises, and forgets entries of that tier whose object is gone. Resolves with the
   * counts.
   */
  async rescan(
    tier: string,
    instanceId: string,
    backend: StorageBackend,
    options: { prefix?: string; uuidOf?: (key: string) => string | undefined } = {},
  ): Promise<{ recorded: number; forgotten: number }> {
    const uuidOf = options.uuidOf ?? uuidFromKey;
    const db = await this.db();
    // The scan's stamp: millisecond precision, stored exactly by timestamptz; one millisecond ahead, so a row
    // written just before the scan by a clock of millisecond precision (PGlite's now()) never equals it.
    const started = new Date(Date.now() + 1);
    let recorded = 0;
    let cursor: string | undefined;
    do {
      const page = await backend.list(options.prefix ?? '', { cursor });
      for (const item of page.items) {
        const uuid = uuidOf(item.key);
        if (!uuid) continue;
        await this.record({ uuid, tier, instanceId, key: item.key, size: item.size, updatedAt: started });
        recorded++;
      }
      cursor = page.cursor;
    } while (cursor);
    const { rowCount } = await db.query(
      // Everything of this tier the scan did not stamp is gone (an entry a resolver wrote meanwhile goes too:
      // it is a cache, re-learnt at the next probe).
      `delete from ${this.table} where tier = $1 and instance_id = $2 and updated_at <> $3`,
      [tier, instanceId, started],
    );
    return { recorded, forgotten: rowCount };
  }

  async close(): Promise<void> {
    await (await this.client.catch(() => undefined))?.close();
  }
}

const UUID_IN_KEY = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.[^/]*)?$/i;

/** The call uuid in a key's file name (`…/5c7b0f0e-….wav` → `5c7b0f0e-…`), or undefined. */
export function uuidFromKey(key: string): string | undefined {
  return UUID_IN_KEY.exec(key)?.[1]?.toLowerCase();
}

function fromRow(row: Row): LocationEntry {
  const entry: LocationEntry = {
    uuid: row.uuid,
    tier: row.tier,
    instanceId: row.instance_id,
    key: row.key,
    updatedAt: new Date(row.updated_at),
  };
  if (row.size !== null) entry.size = Number(row.size);
  if (row.checksum !== null) entry.checksum = row.checksum;
  if (row.call_start !== null) entry.callStart = new Date(row.call_start);
  return entry;
}
