import type { SqlClient } from '@pbxkit/core';
import type { CdrRecord } from '../record.js';

/**
 * The table that says which FreeSWITCH node each stored CDR came from. FusionPBX's `v_xml_cdr` has no column
 * for it (its `app_config.php` lists none: no hostname, switchname or core uuid), and FusionPBX's schema
 * upgrade rewrites that table's columns, so the node lives beside it, keyed by `xml_cdr_uuid`, in a table
 * FusionPBX never reads or touches.
 */
export const NODE_TABLE = 'pbxkit_cdr_node';

/** Where a CDR came from: the node's name, its core uuid when known, and the module that wrote the CDR. */
export interface CdrNode {
  /** `switchname` of an XML CDR, or the configured node id of a CSV file or pg_csv row. */
  node: string;
  /** `core-uuid` of an XML CDR (changes at every FreeSWITCH restart), else null. */
  coreUuid: string | null;
  module: 'mod_xml_cdr' | 'mod_cdr_csv' | 'mod_cdr_pg_csv';
}

/** DDL of {@link NODE_TABLE} (idempotent). */
export function nodeDdl(schema = 'public'): string[] {
  const table = `"${schema.replace(/"/g, '""')}".${NODE_TABLE}`;
  return [
    `create table if not exists ${table} (
  xml_cdr_uuid uuid primary key,
  node text not null,
  core_uuid uuid,
  module text not null,
  insert_date timestamptz not null default now()
)`,
    `create index if not exists ${NODE_TABLE}_node_idx on ${table} (node)`,
  ];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The node of a record: its switch name (for a CSV or pg_csv record, the node it was read for), else its core
 * uuid, else `fallback` (a sink's configured node id); undefined when nothing names it.
 */
export function nodeOf(record: CdrRecord, fallback?: string): CdrNode | undefined {
  const coreUuid = record.coreUuid && UUID.test(record.coreUuid) ? record.coreUuid.toLowerCase() : null;
  const node = record.switchname || coreUuid || fallback;
  if (!node) return undefined;
  return { node, coreUuid, module: record.origin?.module ?? 'mod_xml_cdr' };
}

/** Inserts node rows (one statement; a uuid already there keeps its first node). */
export async function insertNodes(
  db: SqlClient,
  schema: string,
  rows: ReadonlyArray<{ uuid: string; node: CdrNode }>,
): Promise<void> {
  if (rows.length === 0) return;
  const table = `"${schema.replace(/"/g, '""')}".${NODE_TABLE}`;
  await db.query(
    `insert into ${table} (xml_cdr_uuid, node, core_uuid, module)
     select * from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[])
     on conflict (xml_cdr_uuid) do nothing`,
    [
      rows.map((r) => r.uuid),
      rows.map((r) => r.node.node),
      rows.map((r) => r.node.coreUuid),
      rows.map((r) => r.node.module),
    ],
  );
}
