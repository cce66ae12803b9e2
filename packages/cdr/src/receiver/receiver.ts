import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Logger, MetricsFactory, type Registry, resolveLogger } from '@pbxkit/core';
import { decodeCdrBody } from '../decode/transport.js';
import { legFromName, parseCdr } from '../parse/parse-cdr.js';
import type { CdrRecord } from '../record.js';
import type { CdrSpool } from '../spool/spool.js';
import { createAllowList, createBasicAuth } from './access.js';

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

const TOO_LARGE = Symbol('too large');

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | typeof TOO_LARGE> {
  // A framework may have read the body already (Express `express.raw()`, a Fastify content parser).
  const parsed = (req as { body?: unknown }).body;
  if (Buffer.isBuffer(parsed)) return Promise.resolve(parsed.length > limit ? TOO_LARGE : parsed);
  if (typeof parsed === 'string') {
    const buf = Buffer.from(parsed, 'utf8');
    return Promise.resolve(buf.length > limit ? TOO_LARGE : buf);
  }
  if (parsed !== undefined && req.readableEnded) {
    return Promise.reject(
      new Error(
        'the request body was already parsed by another middleware: mount the CDR receiver before it',
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (value: Buffer | typeof TOO_LARGE | Error): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        finish(TOO_LARGE);
        // Keep discarding what the client still sends, so it can read the 413 rather than a reset.
        req.resume();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(Buffer.concat(chunks, size));
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('the client closed the request before its end'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

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
 * Creates the HTTP endpoint FreeSWITCH's `mod_xml_cdr` posts to.
 *
 * For each POST: check the network (403) and the credentials (401 with `WWW-Authenticate`), read the body up
 * to `maxBodyBytes` (413), remove the transport encoding (`decodeCdrBody`), parse it (`parseCdr`, with the
 * leg from the `uuid` query parameter's `a_` prefix), append it to the spool durably, and only then answer
 * 200. A body that cannot be decoded or parsed is quarantined raw (durably) and answered 200 too, so
 * FreeSWITCH stops retrying while nothing is lost. A spool that cannot write (disk full, ...) gives 500, so
 * FreeSWITCH retries and finally writes its err-log file.
 */
export function createCdrReceiver(options: CdrReceiverOptions): CdrRequestHandler {
  const { spool } = options;
  const path = options.path ?? '/cdr';
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
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

  async function handle(req: IncomingMessage, res: ServerResponse, started: number): Promise<number> {
    const remoteAddress = req.socket.remoteAddress;
    if (allowed && !allowed(remoteAddress)) {
      logger.warn({ remoteAddress }, 'CDR post from an address outside the allow-list');
      send(res, 403, 'forbidden');
      return 403;
    }
    if (req.method !== 'POST') {
      send(res, 405, 'method not allowed', { allow: 'POST' });
      return 405;
    }
    if (authorised && !authorised(req.headers.authorization)) {
      logger.warn({ remoteAddress }, 'CDR post with missing or wrong credentials');
      send(res, 401, 'unauthorized', { 'www-authenticate': 'Basic realm="pbxkit-cdr"' });
      return 401;
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      send(res, 413, 'payload too large', { connection: 'close' });
      return 413;
    }
    const body = await readBody(req, limit);
    if (body === TOO_LARGE) {
      bytes.inc(limit);
      send(res, 413, 'payload too large', { connection: 'close' });
      return 413;
    }
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
      const code = (err as { code?: unknown }).code;
      const id = await spool.quarantine({
        body,
        reason,
        code: typeof code === 'string' ? code : 'UNKNOWN',
        contentType,
        remoteAddress,
        uuidParam,
        receivedAt,
      });
      quarantined.inc({ code: typeof code === 'string' ? code : 'UNKNOWN' });
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
      else send(res, 404, 'not found');
      return;
    }
    const started = Date.now();
    const t0 = process.hrtime.bigint();
    handle(req, res, started)
      .catch((err: unknown) => {
        logger.error({ err, url: req.url }, 'CDR not stored: answering 500 so FreeSWITCH retries');
        send(res, 500, 'not stored');
        return 500;
      })
      .then((status) => {
        const labels = { status: String(status) };
        requests.inc(labels);
        latency.observe(labels, Number(process.hrtime.bigint() - t0) / 1e9);
      });
  };
}
