import { badRequest } from './errors.js';

/** The statuses a search can ask for: FusionPBX's `v_xml_cdr.status` values. */
export const SEARCH_STATUSES = [
  'answered',
  'missed',
  'failed',
  'voicemail',
  'busy',
  'cancelled',
  'no_answer',
] as const;
export type SearchStatus = (typeof SEARCH_STATUSES)[number];

export const SEARCH_DIRECTIONS = ['inbound', 'outbound', 'local'] as const;

/** What results can be ordered by (each backed by an index of `V_XML_CDR_SEARCH_INDEXES`). */
export const SEARCH_SORTS = ['start', 'duration'] as const;
export type SearchSort = (typeof SEARCH_SORTS)[number];

/** A CDR search, as {@link parseSearch} reads it from a query string. */
export interface SearchQuery {
  /** Calls that started at or after `from` and before `to`. */
  from?: Date;
  to?: Date;
  /** Prefixes of `caller_id_number` and `destination_number`. */
  caller?: string;
  destination?: string;
  /** A leg's uuid: that leg and the legs linked to it (`bridge_uuid`, `originating_leg_uuid`). */
  uuid?: string;
  domain?: string;
  status: SearchStatus[];
  direction?: (typeof SEARCH_DIRECTIONS)[number];
  /** Duration range in seconds, both ends included. */
  minDuration?: number;
  maxDuration?: number;
  sort: SearchSort;
  order: 'asc' | 'desc';
  limit: number;
  /** Where the previous page ended (see {@link encodeCursor}). */
  after?: Cursor;
}

/** The sort value and uuid of the last row of a page. */
export interface Cursor {
  value: string | number;
  uuid: string;
}

export const MAX_LIMIT = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A number prefix: digits, `+`, `*`, `#` and the letters of SIP user parts; nothing LIKE would interpret. */
const PREFIX = /^[0-9A-Za-z+*#.@-]{1,64}$/;

/** Reads a search from a query string; a {@link ConsoleRequestError} names any parameter that makes no sense. */
export function parseSearch(params: URLSearchParams): SearchQuery {
  const one = (name: string): string | undefined => {
    const value = params.get(name)?.trim();
    return value ? value : undefined;
  };
  const time = (name: string): Date | undefined => {
    const text = one(name);
    if (text === undefined) return undefined;
    const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
    if (Number.isNaN(ms)) throw badRequest(`${name}: not a time: ${JSON.stringify(text)} (use ISO 8601)`);
    return new Date(ms);
  };
  const seconds = (name: string): number | undefined => {
    const text = one(name);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw badRequest(`${name}: not a number of seconds >= 0: ${text}`);
    return n;
  };
  const prefix = (name: string): string | undefined => {
    const text = one(name);
    if (text !== undefined && !PREFIX.test(text)) {
      throw badRequest(`${name}: a number prefix has digits, letters and + * # . @ - only: ${text}`);
    }
    return text;
  };
  const choice = <T extends string>(name: string, allowed: readonly T[], fallback?: T): T | undefined => {
    const text = one(name);
    if (text === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(text)) {
      throw badRequest(`${name}: ${JSON.stringify(text)} is not one of ${allowed.join(', ')}`);
    }
    return text as T;
  };

  const query: SearchQuery = {
    status: [],
    sort: choice('sort', SEARCH_SORTS, 'start') as SearchSort,
    order: choice('order', ['asc', 'desc'] as const, 'desc') as 'asc' | 'desc',
    limit: 50,
  };
  const from = time('from');
  const to = time('to');
  if (from && to && from >= to) throw badRequest('from must be before to');
  if (from) query.from = from;
  if (to) query.to = to;
  const caller = prefix('caller');
  if (caller) query.caller = caller;
  const destination = prefix('destination');
  if (destination) query.destination = destination;
  const uuid = one('uuid');
  if (uuid !== undefined) {
    if (!UUID.test(uuid)) throw badRequest(`uuid: not a call uuid: ${uuid}`);
    query.uuid = uuid.toLowerCase();
  }
  const domain = one('domain');
  if (domain !== undefined) {
    if (domain.length > 253 || /\s/.test(domain)) throw badRequest(`domain: not a domain name: ${domain}`);
    query.domain = domain;
  }
  for (const status of params.getAll('status').flatMap((s) => s.split(','))) {
    const text = status.trim();
    if (!text) continue;
    if (!(SEARCH_STATUSES as readonly string[]).includes(text)) {
      throw badRequest(`status: ${JSON.stringify(text)} is not one of ${SEARCH_STATUSES.join(', ')}`);
    }
    if (!query.status.includes(text as SearchStatus)) query.status.push(text as SearchStatus);
  }
  const direction = choice('direction', SEARCH_DIRECTIONS);
  if (direction) query.direction = direction;
  const minDuration = seconds('minDuration');
  const maxDuration = seconds('maxDuration');
  if (minDuration !== undefined && maxDuration !== undefined && minDuration > maxDuration) {
    throw badRequest('minDuration must not be above maxDuration');
  }
  if (minDuration !== undefined) query.minDuration = minDuration;
  if (maxDuration !== undefined) query.maxDuration = maxDuration;
  const limit = one('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      throw badRequest(`limit: a whole number from 1 to ${MAX_LIMIT}: ${limit}`);
    }
    query.limit = n;
  }
  const after = one('after');
  if (after !== undefined) query.after = decodeCursor(after, query.sort);
  return query;
}

/** The opaque `after` parameter of the next page. */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.value, cursor.uuid])).toString('base64url');
}

function decodeCursor(text: string, sort: SearchSort): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const [value, uuid] = Array.isArray(parsed) ? parsed : [];
  const valueOk =
    sort === 'start'
      ? typeof value === 'string' && !Number.isNaN(Date.parse(value))
      : typeof value === 'number' && Number.isFinite(value);
  if (!valueOk || typeof uuid !== 'string' || !UUID.test(uuid)) {
    throw badRequest('after: not a cursor of this search (take it from the previous page, same sort)');
  }
  return { value, uuid };
}

/** The columns a result row has. */
export const RESULT_COLUMNS = [
  'xml_cdr_uuid',
  'start_stamp',
  'direction',
  'caller_id_name',
  'caller_id_number',
  'destination_number',
  'domain_name',
  'duration',
  'billsec',
  'status',
  'hangup_cause',
  'leg',
  'bridge_uuid',
  'originating_leg_uuid',
  'record_name',
] as const;

/**
 * The SQL of one page of a search (parameterised), `limit + 1` rows so the caller knows whether more follow.
 * Keyset pagination on (sort value, uuid): a page costs the same however deep it is.
 */
export function searchSql(query: SearchQuery, table: string): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  const sortExpr = query.sort === 'start' ? 'start_stamp' : 'coalesce(duration, 0)';
  if (query.sort === 'start') where.push('start_stamp is not null');
  if (query.from) where.push(`start_stamp >= ${p(query.from)}`);
  if (query.to) where.push(`start_stamp < ${p(query.to)}`);
  if (query.caller) where.push(`caller_id_number like ${p(`${query.caller}%`)}`);
  if (query.destination) where.push(`destination_number like ${p(`${query.destination}%`)}`);
  if (query.uuid) {
    const u = p(query.uuid);
    where.push(
      `(xml_cdr_uuid = ${u}::uuid or originating_leg_uuid = ${u}::uuid or bridge_uuid = ${u}::text)`,
    );
  }
  if (query.domain) where.push(`domain_name = ${p(query.domain)}`);
  if (query.status.length === 1) where.push(`status = ${p(query.status[0])}`);
  else if (query.status.length > 1) where.push(`status = any(${p(query.status)}::text[])`);
  if (query.direction) where.push(`direction = ${p(query.direction)}`);
  if (query.minDuration !== undefined) where.push(`coalesce(duration, 0) >= ${p(query.minDuration)}`);
  if (query.maxDuration !== undefined) where.push(`coalesce(duration, 0) <= ${p(query.maxDuration)}`);
  const cmp = query.order === 'desc' ? '<' : '>';
  if (query.after) {
    const value = query.sort === 'start' ? `${p(query.after.value)}::timestamptz` : p(query.after.value);
    where.push(`(${sortExpr}, xml_cdr_uuid) ${cmp} (${value}, ${p(query.after.uuid)}::uuid)`);
  }
  const order = query.order === 'desc' ? 'desc' : 'asc';
  const sql = `select ${RESULT_COLUMNS.join(', ')} from ${table}${where.length ? ` where ${where.join(' and ')}` : ''}
order by ${sortExpr} ${order}, xml_cdr_uuid ${order} limit ${p(query.limit + 1)}`;
  return { sql, params };
}
