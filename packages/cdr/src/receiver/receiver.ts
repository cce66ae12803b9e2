import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, MetricsFactory, type Registry, resolveLogger } from '@pbxkit/core';
import { decodeCdrBody } from '../decode/transport.js';
import { legFromName, parseCdr } from '../parse/parse-cdr.js';
import type { CdrRecord } from '../record.js';
import type { CdrSpool } from '../spool/spool.js';
import { createAllowList, createBasicAuth } from './access.js';
import { BodyMemoryBudget, BodyReservation } from './memory-budget.js';
import { type QuarantineLimitOptions, QuarantineLimits } from './quarantine-limits.js';
import { readBody } from './read-body.js';

/** Options of {@link createCdrReceiver}. */
export interface CdrReceiverOptions {
  /** Where accepted CDRs (and quarantined bodies) are stored before the 200 is sent. */
  spool: CdrSpool;
  /**
   * The path CDRs are posted to (`url` of mod_xml_cdr without the query). Default `/cdr`. Other paths get a
   * 404, or go to `next()` when the handler is used as middleware.
   */
  path?: string;
  /** HTTP Basic credentials, as mod_xml_cdr's `cred` = `username:password`. Without them no auth is asked. */
  credentials?: { username: string; password: string };
  /** Networks allowed to post (`10.0.0.0/8`, `::1`, ...); others get a 403. Default: everyone. */
  allow?: readonly string[];
  /** Largest body accepted, counted on the bytes received. Default 64 MiB; past it: 413. */
  maxBodyBytes?: number;
  /**
   * Most bytes of request bodies held in memory at once, across all requests. A body whose declared length
   * does not fit in what is left is refused before it is read (a body of undeclared length: when it goes past),
   * with 503 and `Retry-After`: mod_xml_cdr retries on any non-2xx, so nothing is lost. Decoding and parsing
   * make copies: the process's memory peaks at a few times this (see the README). Default twice
   * `maxBodyBytes` (128 MiB); it must be at least `maxBodyBytes`.
   */
  maxBufferedBytes?: number;
  /**
   * A request body that sends no byte for this long (ms) is given up: 408 and the connection closed. It bounds
   * the gaps, not the total time, so a slow multi-megabyte post over a slow link still gets through. Default
   * 60 000; 0 waits forever.
   */
  bodyIdleTimeoutMs?: number;
  /**
   * Bounds of the quarantine (bodies that could not be decoded or parsed, kept raw): past `maxBytes` (default
   * 256 MiB) a new one is refused with 507 (FreeSWITCH keeps it in its err-log directory); entries older than
   * `maxAgeMs` (default 30 days) are deleted when the next body is quarantined.
   */
  quarantine?: QuarantineLimitOptions;
  logger?: Logger;
  /** Registry for the `pbxkit_cdr_receiver_*` metrics. */
  registry?: Registry;
}

/**
 * A request handler for `node:http` (`http.createServer(handler)`), Express (`app.use(handler)`) and anything
 * else that hands over Node's request and response. `next` is called for requests to other paths.
 */
export type CdrRequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => void;

/** The default body limit: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/** The default wait for the next byte of a request body: 60 s. */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 60_000;

/** The `Retry-After` of a 503 (seconds); mod_xml_cdr waits its own `delay` anyway. */
const RETRY_AFTER_SECONDS = 5;

function send(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * Answers before the body was read, and closes the connection after the answer: on a kept-alive connection
 * Node would otherwise wait for the rest of the body, forever when the client never sends it.
 */
function refuse(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, text, { ...headers, connection: 'close' });
}

/**
 * Creates the HTTP endpoint FreeSWITCH's `mod_xml_cdr` posts to.
 *
 * For each POST: check the network (403) and the credentials (401 with `WWW-Authenticate`), reserve the
 * body's memory (503 + `Retry-After` when `maxBufferedBytes` is taken), read the body up to `maxBodyBytes`
 * (413; 408 when it stalls for `bodyIdleTimeoutMs`), remove the transport encoding (`decodeCdrBody`), parse it
 * (`parseCdr`, with the leg from the `uuid` query parameter's `a_` prefix), append it to the spool durably, and
 * only then answer 200. A body that cannot be decoded or parsed is quarantined raw (durably) and answered 200
 * too, so FreeSWITCH stops retrying while nothing is lost; when the quarantine is full it gets 507. A spool
 * that cannot write (disk full, ...) gives 500, so FreeSWITCH retries and finally writes its err-log file.
 * Every answer given before the body was read closes the connection.
 */
export function createCdrReceiver(options: CdrReceiverOptions): CdrRequestHandler {
  const { spool } = options;
  const path = options.path ?? '/cdr';
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const bufferedLimit = options.maxBufferedBytes ?? 2 * limit;
  if (!(limit >= 0)) throw new RangeError('maxBodyBytes must be >= 0');
  if (!(bufferedLimit >= limit)) {
    throw new RangeError(
      `maxBufferedBytes (${bufferedLimit}) must be at least maxBodyBytes (${limit}): a body of the largest size accepted must fit`,
    );
  }
  const idleMs = options.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
  if (!(idleMs >= 0)) throw new RangeError('bodyIdleTimeoutMs must be >= 0');
  const logger = resolveLogger(options.logger, { component: 'cdr-receiver' });
  const allowed = options.allow ? createAllowList(options.allow) : undefined;
  const authorised = options.credentials ? createBasicAuth(options.credentials) : undefined;

  const metrics = new MetricsFactory('cdr', options.registry);
  const requests = metrics.counter({
    what: 'receiver_requests',
    unit: 'total',
    help: 'CDR requests answered, by HTTP status',
    labelNames: ['status'],
  });
  const bytes = metrics.counter({
    what: 'receiver_body',
    unit: 'bytes_total',
    help: 'Request body bytes read',
  });
  const quarantined = metrics.counter({
    what: 'receiver_quarantined',
    unit: 'total',
    help: 'Bodies that could not be decoded or parsed, kept in the quarantine directory',
    labelNames: ['code'],
  });
  const latency = metrics.histogram({
    what: 'receiver_request_duration',
    unit: 'seconds',
    help: 'From the request to the answer (spool fsync included)',
    labelNames: ['status'],
  });
  const budget = new BodyMemoryBudget(
    bufferedLimit,
    metrics.gauge({
      what: 'receiver_buffered',
      unit: 'bytes',
      help: 'Bytes of request bodies held in memory now (reserved when a request starts, until it is answered)',
    }),
  );
  const quarantineLimits = new QuarantineLimits(spool.quarantineDirectory, options.quarantine ?? {}, logger, {
    bytes: metrics.gauge({
      what: 'receiver_quarantine',
      unit: 'bytes',
      help: 'Size of the quarantine directory as the receiver accounts it',
    }),
    refused: metrics.counter({
      what: 'receiver_quarantine_refused',
      unit: 'total',
      help: 'Bodies that could not be decoded or parsed and were not quarantined, answered 507 (quarantine full)',
      labelNames: ['reason'],
    }),
    expired: metrics.counter({
      what: 'receiver_quarantine_expired',
      unit: 'total',
      help: 'Quarantined bodies deleted past their age',
    }),
  });

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    started: number,
    reservation: BodyReservation,
  ): Promise<number> {
    const remoteAddress = req.socket.remoteAddress;
    if (allowed && !allowed(remoteAddress)) {
      logger.warn({ remoteAddress }, 'CDR post from an address outside the allow-list');
      refuse(res, 403, 'forbidden');
      return 403;
    }
    if (req.method !== 'POST') {
      refuse(res, 405, 'method not allowed', { allow: 'POST' });
      return 405;
    }
    if (authorised && !authorised(req.headers.authorization)) {
      logger.warn({ remoteAddress }, 'CDR post with missing or wrong credentials');
      refuse(res, 401, 'unauthorized', { 'www-authenticate': 'Basic realm="pbxkit-cdr"' });
      return 401;
    }
    // Absent for a chunked body. (Node's parser refuses a malformed one; a NaN would break the accounting.)
    const length = Number(req.headers['content-length'] ?? Number.NaN);
    const declared = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    if (declared !== undefined && declared > limit) {
      refuse(res, 413, 'payload too large');
      return 413;
    }
    const busy = (): number => {
      logger.warn(
        { remoteAddress, declared, buffered: budget.inUse, maxBufferedBytes: budget.limit },
        'CDR post refused: the memory for request bodies is taken (answered 503, FreeSWITCH retries)',
      );
      refuse(res, 503, 'busy, retry later', { 'retry-after': String(RETRY_AFTER_SECONDS) });
      return 503;
    };
    if (declared !== undefined && !reservation.take(declared)) return busy();
    const outcome = await readBody(req, { limit, reservation, declared, idleMs });
    if (outcome.kind === 'too-large') {
      bytes.inc(limit);
      refuse(res, 413, 'payload too large');
      return 413;
    }
    if (outcome.kind === 'busy') return busy();
    if (outcome.kind === 'idle') {
      logger.warn(
        { remoteAddress, idleMs, declared },
        'CDR post given up: no byte of its body for the idle time (answered 408, connection closed)',
      );
      refuse(res, 408, 'request body timeout');
      return 408;
    }
    const body = outcome.body;
    bytes.inc(body.length);
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const uuidParam = query.get('uuid') ?? undefined;
    const contentType = req.headers['content-type'];
    const receivedAt = new Date(started);

    let record: CdrRecord;
    let encoding: string;
    try {
      const decoded = decodeCdrBody(body, contentType);
      encoding = decoded.encoding;
      record = parseCdr(decoded.xml, { leg: legFromName(uuidParam) });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const errCode = (err as { code?: unknown }).code;
      const code = typeof errCode === 'string' ? errCode : 'UNKNOWN';
      const written = await quarantineLimits.admit(body.length, { uuidParam, remoteAddress, code });
      if (!written) {
        send(res, 507, 'not a CDR, and the quarantine is full');
        return 507;
      }
      let id: string | undefined;
      try {
        id = await spool.quarantine({
          body,
          reason,
          code,
          contentType,
          remoteAddress,
          uuidParam,
          receivedAt,
        });
      } finally {
        await written(id);
      }
      quarantined.inc({ code });
      logger.warn({ id, uuidParam, remoteAddress, contentType, reason }, 'CDR body quarantined');
      send(res, 200, `quarantined ${id}`);
      return 200;
    }
    const id = await spool.append({
      xml: record.xml,
      uuid: record.uuid,
      leg: record.leg,
      receivedAt,
      meta: { encoding, remoteAddress, uuidParam },
      record,
    });
    logger.debug({ id, uuid: record.uuid, leg: record.leg, bytes: body.length }, 'CDR spooled');
    send(res, 200, 'OK');
    return 200;
  }

  return (req, res, next) => {
    const requestPath = (req.url ?? '/').split('?', 1)[0];
    if (requestPath !== path) {
      if (next) next();
      else refuse(res, 404, 'not found');
      return;
    }
    const started = Date.now();
    const t0 = process.hrtime.bigint();
    const reservation = new BodyReservation(budget);
    handle(req, res, started, reservation)
      .catch((err: unknown) => {
        logger.error({ err, url: req.url }, 'CDR not stored: answering 500 so FreeSWITCH retries');
        send(res, 500, 'not stored');
        return 500;
      })
      .then((status) => {
        reservation.release();
        const labels = { status: String(status) };
        requests.inc(labels);
        latency.observe(labels, Number(process.hrtime.bigint() - t0) / 1e9);
      });
  };
}
