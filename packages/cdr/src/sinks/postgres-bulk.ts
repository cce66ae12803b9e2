import type { SqlTarget } from '@pbxkit/core';
import { insertNodes, nodeDdl, nodeOf } from '../fusionpbx/node.js';
import { type FusionPbxRow, toFusionPbxRow } from '../fusionpbx/row.js';
import { fusionPbxDdl, V_XML_CDR_COLUMNS } from '../fusionpbx/schema.js';
import type { CdrRecord } from '../record.js';
import type { CdrSink } from '../sink.js';
import { copyBatch, copyPool } from './postgres-copy.js';
import { SqlSinkBase } from './sql-sink-base.js';

/** Options of {@link PostgresBulkCdrWriter}. */
export interface PostgresBulkCdrWriterOptions {
  /** Schema of the tables. Default `public`. */
  schema?: string;
  /** Name in reports. Default `postgres-bulk`. */
  name?: string;
}

/** Element type of each column's array parameter (`uuid primary key` → `uuid`, `char(1)` → `text`). */
const ARRAY_TYPES = new Map(
  V_XML_CDR_COLUMNS.map(([name, type]) => {
    const base = type.split(' ')[0] as string;
    return [name, base.startsWith('char') ? 'text' : base];
  }),
);

/**
 * Writes many CDRs into `v_xml_cdr` (and their nodes into `pbxkit_cdr_node`) fast, for imports: on PostgreSQL
 * each batch is sent with `COPY ... FROM STDIN` (`pg-copy-streams`) into a session-local staging table and
 * moved with one `insert ... select ... on conflict do nothing`; on PGlite with one
 * `insert ... select * from unnest($1::uuid[], ...)`. Only the columns the batch fills are sent (a CSV batch
 * fills about 15 of the 80).
 * Rows are the same as {@link PostgresCdrSink} writes (`toFusionPbxRow`), idempotent by `xml_cdr_uuid`; it does
 * not look up domain or extension uuids in FusionPBX's tables (CSV templates rarely carry the names to look
 * up) and writes no JSON copy.
 */
export class PostgresBulkCdrWriter extends SqlSinkBase implements CdrSink {
  readonly name: string;
  private readonly schema: string;
  private readonly table: string;
  private readonly copy: ReturnType<typeof copyPool>;

  constructor(target: SqlTarget, options: PostgresBulkCdrWriterOptions = {}) {
    super(target, 'PostgresBulkCdrWriter');
    this.copy = copyPool(target);
    this.name = options.name ?? 'postgres-bulk';
    this.schema = options.schema ?? 'public';
    this.table = `"${this.schema.replace(/"/g, '""')}".v_xml_cdr`;
  }

  /** Creates `v_xml_cdr` and `pbxkit_cdr_node` when missing. */
  async createSchema(): Promise<void> {
    const db = await this.client;
    for (const statement of [...fusionPbxDdl(this.schema), ...nodeDdl(this.schema)])
      await db.query(statement);
  }

  async write(records: readonly CdrRecord[]): Promise<void> {
    await this.writeCounted(records);
  }

  /**
   * Stores the records in one transaction; resolves with how many were new (the rest were already stored,
   * or repeated inside the batch).
   */
  async writeCounted(records: readonly CdrRecord[]): Promise<{ stored: number }> {
    if (records.length === 0) return { stored: 0 };
    const rows = new Map<string, FusionPbxRow>();
    const nodes: Array<{ uuid: string; node: NonNullable<ReturnType<typeof nodeOf>> }> = [];
    for (const record of records) {
      const row = toFusionPbxRow(record);
      if (rows.has(row.xml_cdr_uuid)) continue;
      rows.set(row.xml_cdr_uuid, row);
      const node = nodeOf(record);
      if (node) nodes.push({ uuid: row.xml_cdr_uuid, node });
    }
    const list = [...rows.values()];
    const columns = usedColumns(list);
    if (this.copy) {
      const copyNodes = nodes.map(({ uuid, node }) => ({ uuid, ...node }));
      const rowsOf = list as unknown as Array<Record<string, unknown>>;
      return {
        stored: await copyBatch(this.copy.pool, this.schema, { columns, rows: rowsOf, nodes: copyNodes }),
      };
    }
    const now = new Date();
    const params = columns.map((c) => list.map((r) => (r as unknown as Record<string, unknown>)[c] ?? null));
    params.push(list.map(() => now));
    const casts = columns.map((c, i) => `$${i + 1}::${ARRAY_TYPES.get(c) ?? 'text'}[]`);
    casts.push(`$${columns.length + 1}::timestamptz[]`);
    const db = await this.client;
    return db.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        `insert into ${this.table} (${[...columns, 'insert_date'].join(',')})
         select * from unnest(${casts.join(',')})
         on conflict (xml_cdr_uuid) do nothing`,
        params,
      );
      await insertNodes(tx, this.schema, nodes);
      return { stored: rowCount };
    });
  }

  override async close(): Promise<void> {
    if (this.copy?.owned) await this.copy.pool.end();
    await super.close();
  }
}

/** The columns at least one row of the batch fills, `xml_cdr_uuid` first (no per-row allocation). */
function usedColumns(rows: FusionPbxRow[]): string[] {
  const used = ['xml_cdr_uuid'];
  for (const [column] of V_XML_CDR_COLUMNS) {
    if (column === 'xml_cdr_uuid') continue;
    for (const row of rows) {
      if ((row as unknown as Record<string, unknown>)[column] != null) {
        used.push(column);
        break;
      }
    }
  }
  return used;
}
