import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SqlClient } from '@pbxkit/core';
import type { CallReader } from './call-detail.js';
import { badRequest, ConsoleRequestError } from './errors.js';
import type { PipelineMonitor } from './pipeline.js';
import { searchCdrs, writeCsv } from './search.js';
import { parseSearch } from './search-query.js';

/** What the console's JSON API reads. */
export interface ConsoleApiParts {
  /** The CDR database, once `v_xml_cdr` and its indexes exist. */
  db: () => Promise<SqlClient>;
  /** `v_xml_cdr`, schema-qualified. */
  table: string;
  calls: CallReader;
  pipeline: PipelineMonitor;
}

const MAX_BODY = 64 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/**
 * Reads a small JSON body. Only `application/json` is taken, from this origin: a page elsewhere cannot send
 * that without a CORS preflight this server never grants, so a signed-in operator's browser cannot be made to
 * replay dead letters by another site.
 */
async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw badRequest('send the body as application/json');
  const origin = req.headers.origin;
  if (origin && origin !== 'null' && new URL(origin).host !== req.headers.host) {
    throw badRequest(`requests from ${origin} are not accepted`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw badRequest(`the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw badRequest('the body is not JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badRequest('the body is not an object');
  return parsed as Record<string, unknown>;
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string') || value.length > 10_000) {
    throw badRequest(`${name}: a list of strings`);
  }
  return value as string[];
}

function timeOf(value: unknown, name: string): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw badRequest(`${name}: not a time: ${JSON.stringify(value)}`);
  return new Date(ms);
}

/**
 * The console's JSON API under `/api/`; resolves false for a path it does not know. Errors the request caused
 * are answered 400/404/409 with `{ error, reason }`; anything else is thrown to the routes (500, logged).
 */
export function createConsoleApi(parts: ConsoleApiParts) {
  const routes = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    url: URL,
  ): Promise<boolean> => {
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/api/cdrs' && get) {
      const page = await searchCdrs(await parts.db(), parts.table, parseSearch(url.searchParams));
      send(res, 200, page);
      return true;
    }
    if (path === '/api/cdrs.csv' && get) {
      const query = parseSearch(url.searchParams);
      const db = await parts.db();
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
      res.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="cdrs-${stamp}.csv"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      await writeCsv(db, parts.table, query, (chunk) => write(res, chunk));
      res.end();
      return true;
    }
    const call = /^\/api\/calls\/([^/]+)(\/raw)?$/.exec(path);
    if (call && get) {
      const uuid = decodeURIComponent(call[1] as string);
      if (call[2]) {
        const raw = await parts.calls.rawCdr(uuid);
        res.writeHead(200, {
          'content-type':
            raw.source === 'json' ? 'application/json; charset=utf-8' : 'application/xml; charset=utf-8',
          'content-disposition': `inline; filename="${uuid}.${raw.source === 'json' ? 'json' : 'xml'}"`,
          'x-cdr-source': raw.source,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        res.end(raw.text);
      } else {
        send(res, 200, await parts.calls.call(uuid));
      }
      return true;
    }
    if (path === '/api/pipeline' && get) {
      send(res, 200, await parts.pipeline.snapshot());
      return true;
    }
    const dead = /^\/api\/pipeline\/dead-letters\/([^/]+)(\/replay)?$/.exec(path);
    if (dead) {
      const sink = decodeURIComponent(dead[1] as string);
      if (!dead[2] && get) {
        send(res, 200, await parts.pipeline.deadLetters(sink));
        return true;
      }
      if (dead[2] && req.method === 'POST') {
        const body = await jsonBody(req);
        const replayed = await parts.pipeline.replayDeadLetters(sink, stringList(body.ids, 'ids'));
        send(res, 200, { replayed });
        return true;
      }
    }
    if (path === '/api/pipeline/repush' && req.method === 'POST') {
      const body = await jsonBody(req);
      if (typeof body.sink !== 'string') throw badRequest('sink: the sink to re-push to');
      const request: Parameters<PipelineMonitor['repush']>[0] = { sink: body.sink };
      const from = timeOf(body.from, 'from');
      const to = timeOf(body.to, 'to');
      if (from) request.from = from;
      if (to) request.to = to;
      if (from && to && from >= to) throw badRequest('from must be before to');
      const uuids = stringList(body.uuids, 'uuids');
      if (uuids) request.uuids = uuids;
      send(res, 200, await parts.pipeline.repush(request));
      return true;
    }
    return false;
  };

  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    try {
      if (await routes(req, res, path, url)) return true;
      send(res, 404, { error: 'not_found', reason: `no console API ${req.method} ${path}` });
      return true;
    } catch (err) {
      if (!(err instanceof ConsoleRequestError) || res.headersSent) throw err;
      send(res, err.status, { error: err.code, reason: err.message });
      return true;
    }
  };
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full. */
function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error('the client went away'));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const drained = () => {
      res.off('close', closed);
      resolve();
    };
    const closed = () => {
      res.off('drain', drained);
      reject(new Error('the client went away'));
    };
    res.once('drain', drained);
    res.once('close', closed);
  });
}
