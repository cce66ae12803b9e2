import http from 'node:http';
import { type Logger, Registry } from '@pbxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPeerHandler,
  createRecordingsHandler,
  LocalFsBackend,
  NoopBackend,
  type RecordingsHandler,
  signRequest,
} from '../src/index.js';
import { get, listen, tempDir } from './helpers.js';

/** A GET with a request target sent exactly as given (no URL normalisation on the way). */
function rawTarget(base: string, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base, { path: target, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.end();
  });
}

const UUID = '5c7b0f0e-1111-4222-8333-444455556666';

/** A logger that keeps the error lines. */
function recordingLogger(errors: Array<{ err?: unknown; msg?: string }>): Logger {
  const ignore = (): void => {};
  const logger: Logger = {
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: ignore,
    error: (obj: object | string, msg?: string) => {
      errors.push(typeof obj === 'string' ? { msg: obj } : { ...(obj as { err?: unknown }), msg });
    },
    fatal: ignore,
    child: () => logger,
  };
  return logger;
}

describe('the recordings handler answers every request and never rejects', () => {
  let cleanup: () => Promise<void>;
  let base: string;
  let close: () => Promise<void>;
  const registry = new Registry();
  /** What the handler's promise rejected with: must stay empty. */
  const rejections: unknown[] = [];
  const errorLines: Array<{ err?: unknown; msg?: string }> = [];

  beforeAll(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    const local = new LocalFsBackend({ root: t.dir });
    await local.write(`${UUID}.wav`, 'RIFF....WAVEfmt data');
    const handler: RecordingsHandler = createRecordingsHandler({
      source: async (uuid) => {
        if (uuid === 'source-bug') throw new TypeError("Cannot read properties of undefined (reading 'key')");
        return uuid === UUID ? { backend: local, key: `${uuid}.wav` } : undefined;
      },
      authorize: (_req, uuid) => {
        if (uuid === 'auth-bug') throw new Error('session store exploded');
        return true;
      },
      registry,
      logger: recordingLogger(errorLines),
    });
    // As an application would call it; a rejection is recorded and the socket cut, so a test fails at once
    // instead of waiting for a response that never comes.
    const server = await listen((req, res) => {
      handler(req, res).catch((err: unknown) => {
        rejections.push(err);
        res.destroy();
      });
    });
    base = server.url;
    close = server.close;
  });
  afterAll(async () => {
    await close();
    await cleanup();
  });

  it('an invalid percent-escape in the path is a 400 with a JSON reason (GET and HEAD)', async () => {
    for (const target of ['/recordings/%E0%A4%A', '/recordings/%ZZ', '/recordings/abc%']) {
      const r = await get(`${base}${target}`);
      expect(r.status, target).toBe(400);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(r.body.toString())).toEqual({
        error: 'bad_request',
        reason: 'the path has an invalid percent-escape',
      });
    }
    const head = await get(`${base}/recordings/%E0%A4%A`, { method: 'HEAD' });
    expect([head.status, head.body.length]).toEqual([400, 0]);
    expect(rejections).toEqual([]);
  });

  it('a request target that is not a URL path is a 400', async () => {
    const r = await rawTarget(base, '//');
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'bad_request' });
    expect(rejections).toEqual([]);
  });

  it('a source or an auth hook that throws unexpectedly is a 500, logged and counted; the next request is served', async () => {
    for (const uuid of ['source-bug', 'auth-bug']) {
      const r = await get(`${base}/recordings/${uuid}`);
      expect(r.status, uuid).toBe(500);
      // The client learns nothing of the internals.
      expect(JSON.parse(r.body.toString())).toEqual({ error: 'internal', reason: 'internal error' });
    }
    const ok = await get(`${base}/recordings/${UUID}`, { headers: { Range: 'bytes=-4' } });
    expect([ok.status, ok.body.toString()]).toEqual([206, 'data']);
    expect(errorLines.map((l) => (l.err as Error).message)).toEqual([
      "Cannot read properties of undefined (reading 'key')",
      'session store exploded',
    ]);
    const metrics = await registry.metrics();
    expect(metrics).toContain('pbxkit_storage_http_unexpected_errors_total{handler="recordings"} 2');
    expect(metrics).toContain('pbxkit_storage_http_requests_total{method="GET",status="500"} 2');
    expect(rejections).toEqual([]);
  });
});

describe('the peer handler never rejects either', () => {
  it('a backend that throws where it should not (health, stat) is a 500, counted; nothing rejects', async () => {
    const secret = 'cluster-secret-for-tests-0123456789abcdef';
    const broken = new NoopBackend();
    broken.health = () => {
      throw new TypeError('health check bug');
    };
    broken.stat = () => {
      throw new TypeError('stat bug');
    };
    const registry = new Registry();
    const handler = createPeerHandler({ backend: broken, secret, instanceId: 'pbx-b', registry });
    const rejections: unknown[] = [];
    const server = await listen((req, res) => {
      handler(req, res).catch((err: unknown) => {
        rejections.push(err);
        res.destroy();
      });
    });
    try {
      for (const path of ['/_peer/health', '/_peer/objects/d/a.wav']) {
        const r = await get(`${server.url}${path}`, {
          headers: signRequest(secret, { method: 'GET', path, peer: 'pbx-b' }),
        });
        expect([r.status, JSON.parse(r.body.toString())], path).toEqual([
          500,
          { error: 'internal', reason: 'internal error' },
        ]);
      }
      expect(rejections).toEqual([]);
      expect(await registry.metrics()).toContain(
        'pbxkit_storage_http_unexpected_errors_total{handler="peer"} 2',
      );
    } finally {
      await server.close();
    }
  });
});
