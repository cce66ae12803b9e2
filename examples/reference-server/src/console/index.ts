import type { IncomingMessage, ServerResponse } from 'node:http';
import { archiveDays, type PostgresCdrSink } from '@pbxkit/cdr';
import { openSqlClient, type SqlClient } from '@pbxkit/core';
import type { Storage } from '@pbxkit/storage';
import type { HealthReport } from '../health.js';
import type { CdrPipeline } from '../wiring/cdr.js';
import type { Database } from '../wiring/database.js';
import { createConsoleApi } from './api.js';
import { CallReader } from './call-detail.js';
import type { DaemonTarget } from './daemons.js';
import { PipelineMonitor } from './pipeline.js';
import { createStaticHandler, isConsolePath } from './static.js';

/** The web console: its pages at `/`, `/search`, `/calls/<uuid>`, `/pipeline`, and its API under `/api/`. */
export interface WebConsole {
  /** True for the paths the console answers (the routes put the operator gate in front). */
  owns(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Builds the console over the server's parts. It reads `v_xml_cdr` through a client of its own (a small pool on
 * PostgreSQL, the shared instance on PGlite), once the store has created the table and its search indexes.
 */
export function createWebConsole(parts: {
  database: Database;
  store: Pick<PostgresCdrSink, 'ping'>;
  cdr: CdrPipeline;
  storage: Pick<Storage, 'archiver'>;
  health: () => Promise<HealthReport>;
  /** Daemons whose `/health` the pipeline page shows (`PBXKIT_CONSOLE_DAEMONS`). */
  daemons?: readonly DaemonTarget[];
  staticDir?: string;
}): WebConsole {
  let client: Promise<SqlClient> | undefined;
  let ready: Promise<void> | undefined;
  const db = async (): Promise<SqlClient> => {
    // The store's ping creates v_xml_cdr and its indexes when missing; a failure is retried next request.
    ready ??= parts.store.ping().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    await ready;
    client ??= openSqlClient(parts.database.target, { usedBy: 'reference server console' });
    return client;
  };
  const table = 'public.v_xml_cdr';
  const archive = parts.cdr.archive; // its `reader` and `dir`: the raw XML and re-push source
  const pipeline = new PipelineMonitor({
    spool: parts.cdr.spool,
    dispatcher: parts.cdr.dispatcher,
    storage: parts.storage,
    health: parts.health,
    archive: archive ? { reader: archive.reader, days: () => archiveDays(archive.dir) } : undefined,
    daemons: parts.daemons,
  });
  const api = createConsoleApi({
    db,
    table,
    calls: new CallReader(db, { cdr: table, json: 'public.v_xml_cdr_json' }, archive?.reader),
    pipeline,
  });
  const files = createStaticHandler(parts.staticDir);
  return {
    owns: (path) => path.startsWith('/api/') || isConsolePath(path),
    handle: (req, res, path) => {
      if (path.startsWith('/api/')) return api(req, res, path);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
        res.end('method not allowed\n');
        return Promise.resolve();
      }
      return files(req, res, path);
    },
    async close() {
      pipeline.close();
      const opened = await client?.catch(() => undefined);
      await opened?.close();
    },
  };
}
