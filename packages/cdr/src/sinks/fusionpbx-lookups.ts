import type { SqlClient } from '@pbxkit/core';
import type { FusionPbxRow } from '../fusionpbx/row.js';
import type { CdrRecord } from '../record.js';

/** Which of FusionPBX's own tables a {@link FusionPbxLookups} may read; each defaults to "when the table exists". */
export interface FusionPbxLookupOptions {
  /** `domain_uuid` from `v_domains` by `domain_name`. */
  domains?: boolean;
  /** `extension_uuid` from `v_extensions` (and `v_call_center_agents`) when the CDR lacks it. */
  extensions?: boolean;
  /** `call_center_queue_uuid` from `v_call_center_queues` by queue extension when the CDR lacks it. */
  queues?: boolean;
  /** How long an answer (found or not) is reused, ms. Default 5 minutes, so new extensions show up. */
  cacheMs?: number;
}

/** What the lookups need of a CDR besides its row: the numbers that may name its extension. */
export interface ExtensionKeys {
  /**
   * Numbers to look up in `v_extensions` (`extension` or `number_alias`), most specific first: FusionPBX's
   * `last_sent_callee_id_number`, then `referred_by_user`, then `dialed_user`.
   */
  numbers: string[];
}

/**
 * The numbers that may name a CDR's extension when it has no `extension_uuid` variable, in the order
 * FusionPBX's importer lets them win (it looks each up and the last one present overwrites the others).
 */
export function extensionKeys(record: CdrRecord, row: FusionPbxRow): ExtensionKeys | undefined {
  if (row.extension_uuid) return undefined;
  const v = record.variables;
  const numbers = [v.last_sent_callee_id_number, v.referred_by_user, v.dialed_user].filter(
    (n): n is string => typeof n === 'string' && n !== '',
  );
  return numbers.length || row.cc_agent ? { numbers } : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CACHE_MAX = 20_000;

/** Answers by key, each kept for `ttlMs`; the oldest are dropped past {@link CACHE_MAX}. */
class TtlCache {
  private readonly map = new Map<string, { value: string | null; at: number }>();

  constructor(private readonly ttlMs: number) {}

  has(key: string, now: number): boolean {
    const hit = this.map.get(key);
    if (hit && now - hit.at < this.ttlMs) return true;
    if (hit) this.map.delete(key);
    return false;
  }

  get(key: string): string | null {
    return this.map.get(key)?.value ?? null;
  }

  set(key: string, value: string | null, now: number): void {
    this.map.delete(key);
    this.map.set(key, { value, at: now });
    if (this.map.size > CACHE_MAX) this.map.delete(this.map.keys().next().value as string);
  }
}

/** A row on its way to `v_xml_cdr`, with what the lookups need. */
export interface LookupRow {
  row: FusionPbxRow;
  keys: ExtensionKeys | undefined;
}

const pair = (domain: string, key: string) => `${domain}\u0000${key}`;

/**
 * FusionPBX's importer fills three columns from FusionPBX's own tables when the CDR does not carry them; the
 * per-domain and per-extension pages filter on them. This does the same, batch by batch (one query per table
 * for the CDRs of a batch that need it), with the answers cached:
 *
 * - `domain_uuid`: `v_domains` by `domain_name`.
 * - `extension_uuid` (no `extension_uuid` variable): `v_extensions` of the CDR's domain whose `extension` or
 *   `number_alias` is `last_sent_callee_id_number`, else `referred_by_user`, else `dialed_user`; else the
 *   extension whose number is the `agent_id` of the call-centre agent `cc_agent` (`v_call_center_agents`).
 * - `call_center_queue_uuid` (no such variable): `v_call_center_queues` of the CDR's domain whose
 *   `queue_extension` is `cc_queue` before its `@`.
 *
 * Scoped to the CDR's `domain_uuid` after its own lookup, whereas FusionPBX scopes by the `domain_uuid`
 * variable only (so its lookups find nothing for a CDR whose domain came from `v_domains`); and a number that
 * names no extension does not erase the match of an earlier one, as FusionPBX's overwriting lookups do.
 */
export class FusionPbxLookups {
  private readonly tables = new Map<string, Promise<boolean>>();
  private readonly cache: TtlCache;

  constructor(
    private readonly schema: string,
    private readonly options: FusionPbxLookupOptions = {},
  ) {
    this.cache = new TtlCache(options.cacheMs ?? 300_000);
  }

  /** Fills `domain_uuid`, `extension_uuid` and `call_center_queue_uuid` of the rows that lack them. */
  async resolve(db: SqlClient, rows: readonly LookupRow[]): Promise<void> {
    await this.domains(db, rows);
    await this.extensions(db, rows);
    await this.agents(db, rows);
    await this.queues(db, rows);
  }

  private async enabled(db: SqlClient, option: boolean | undefined, tables: string[]): Promise<boolean> {
    if (option === false) return false;
    for (const table of tables) {
      let exists = this.tables.get(table);
      if (!exists) {
        exists = db
          .query<{ t: string | null }>('select to_regclass($1)::text as t', [`${this.schema}.${table}`])
          .then(({ rows }) => Boolean(rows[0]?.t));
        this.tables.set(table, exists);
        exists.catch(() => this.tables.delete(table));
      }
      if (!(await exists)) return false;
    }
    return true;
  }

  /**
   * Looks up the keys not answered in the cache with one query, and caches every answer (null when nothing
   * matched). `fetch` resolves with the answers found, by key.
   */
  private async lookUp(
    keys: Iterable<string>,
    fetch: (missing: string[]) => Promise<Map<string, string>>,
  ): Promise<void> {
    const now = Date.now();
    const missing = [...new Set(keys)].filter((k) => !this.cache.has(k, now));
    if (missing.length === 0) return;
    const found = await fetch(missing);
    for (const key of missing) this.cache.set(key, found.get(key) ?? null, now);
  }

  private async domains(db: SqlClient, rows: readonly LookupRow[]): Promise<void> {
    const wanted = rows.filter((r) => !r.row.domain_uuid && r.row.domain_name).map((r) => r.row);
    if (!wanted.length || !(await this.enabled(db, this.options.domains, ['v_domains']))) return;
    const key = (name: string) => `domain\u0000${name}`;
    await this.lookUp(
      wanted.map((r) => key(r.domain_name as string)),
      async (missing) => {
        const { rows: found } = await db.query<{ domain_uuid: string; domain_name: string }>(
          `select domain_uuid::text as domain_uuid, domain_name from ${this.schema}.v_domains
           where domain_name = any($1::text[])`,
          [missing.map((k) => k.slice('domain\u0000'.length))],
        );
        return new Map(found.map((f) => [key(f.domain_name), f.domain_uuid]));
      },
    );
    for (const row of wanted) row.domain_uuid = this.cache.get(key(row.domain_name as string));
  }

  private async extensions(db: SqlClient, rows: readonly LookupRow[]): Promise<void> {
    const wanted = rows.filter((r) => r.keys?.numbers.length && r.row.domain_uuid && !r.row.extension_uuid);
    if (!wanted.length || !(await this.enabled(db, this.options.extensions, ['v_extensions']))) return;
    const key = (domain: string, number: string) => `extension\u0000${pair(domain, number)}`;
    const keys = wanted.flatMap((r) => r.keys!.numbers.map((n) => key(r.row.domain_uuid as string, n)));
    await this.lookUp(keys, async (missing) => {
      const parts = missing.map((k) => k.split('\u0000'));
      const { rows: found } = await db.query<{
        domain_uuid: string;
        extension: string | null;
        number_alias: string | null;
        extension_uuid: string;
      }>(
        `select domain_uuid::text as domain_uuid, extension, number_alias, extension_uuid::text as extension_uuid
         from ${this.schema}.v_extensions
         where domain_uuid = any($1::uuid[]) and (extension = any($2::text[]) or number_alias = any($2::text[]))`,
        [[...new Set(parts.map((p) => p[1]))], [...new Set(parts.map((p) => p[2]))]],
      );
      const answers = new Map<string, string>();
      // An extension's own number wins over another extension's alias.
      for (const f of found)
        if (f.number_alias) answers.set(key(f.domain_uuid, f.number_alias), f.extension_uuid);
      for (const f of found) if (f.extension) answers.set(key(f.domain_uuid, f.extension), f.extension_uuid);
      return answers;
    });
    for (const { row, keys: k } of wanted) {
      for (const number of k!.numbers) {
        const found = this.cache.get(key(row.domain_uuid as string, number));
        if (found) {
          row.extension_uuid = found;
          break;
        }
      }
    }
  }

  private async agents(db: SqlClient, rows: readonly LookupRow[]): Promise<void> {
    const wanted = rows
      .map((r) => r.row)
      .filter((r) => !r.extension_uuid && r.domain_uuid && r.cc_agent && UUID.test(r.cc_agent));
    const tables = ['v_extensions', 'v_call_center_agents'];
    if (!wanted.length || !(await this.enabled(db, this.options.extensions, tables))) return;
    const key = (domain: string, agent: string) => `agent\u0000${pair(domain, agent.toLowerCase())}`;
    await this.lookUp(
      wanted.map((r) => key(r.domain_uuid as string, r.cc_agent as string)),
      async (missing) => {
        const parts = missing.map((k) => k.split('\u0000'));
        const { rows: found } = await db.query<{
          domain_uuid: string;
          agent: string;
          extension_uuid: string;
        }>(
          `select e.domain_uuid::text as domain_uuid, a.call_center_agent_uuid::text as agent,
                  e.extension_uuid::text as extension_uuid
           from ${this.schema}.v_call_center_agents a
           join ${this.schema}.v_extensions e on e.extension = a.agent_id
           where a.call_center_agent_uuid = any($1::uuid[]) and e.domain_uuid = any($2::uuid[])`,
          [[...new Set(parts.map((p) => p[2]))], [...new Set(parts.map((p) => p[1]))]],
        );
        return new Map(found.map((f) => [key(f.domain_uuid, f.agent), f.extension_uuid]));
      },
    );
    for (const row of wanted) {
      row.extension_uuid = this.cache.get(key(row.domain_uuid as string, row.cc_agent as string));
    }
  }

  private async queues(db: SqlClient, rows: readonly LookupRow[]): Promise<void> {
    const queueOf = (row: FusionPbxRow) => row.cc_queue?.split('@', 1)[0] ?? '';
    const wanted = rows
      .map((r) => r.row)
      .filter((r) => !r.call_center_queue_uuid && r.domain_uuid && queueOf(r));
    if (!wanted.length || !(await this.enabled(db, this.options.queues, ['v_call_center_queues']))) return;
    const key = (domain: string, queue: string) => `queue\u0000${pair(domain, queue)}`;
    await this.lookUp(
      wanted.map((r) => key(r.domain_uuid as string, queueOf(r))),
      async (missing) => {
        const parts = missing.map((k) => k.split('\u0000'));
        const { rows: found } = await db.query<{
          domain_uuid: string;
          queue_extension: string;
          call_center_queue_uuid: string;
        }>(
          `select domain_uuid::text as domain_uuid, queue_extension,
                  call_center_queue_uuid::text as call_center_queue_uuid
           from ${this.schema}.v_call_center_queues
           where domain_uuid = any($1::uuid[]) and queue_extension = any($2::text[])`,
          [[...new Set(parts.map((p) => p[1]))], [...new Set(parts.map((p) => p[2]))]],
        );
        return new Map(found.map((f) => [key(f.domain_uuid, f.queue_extension), f.call_center_queue_uuid]));
      },
    );
    for (const row of wanted) {
      row.call_center_queue_uuid = this.cache.get(key(row.domain_uuid as string, queueOf(row)));
    }
  }
}
