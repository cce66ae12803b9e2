import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import type {
  HealthStatus,
  ListPage,
  ObjectInfo,
  ReadOptions,
  StorageBackend,
  WriteBody,
} from '../backend.js';
import { validateKey } from '../backend.js';
import {
  StorageError,
  StorageNotFoundError,
  StoragePeerAuthError,
  StorageRangeError,
  StorageUnavailableError,
} from '../errors.js';
import { type RawResponse, rawGet } from './raw-get.js';
import { checkInstanceId, checkPeerSecret, PEER_AUTH_FAILURE_HEADER, signRequest } from './signing.js';

/** Options of {@link PeerProxyBackend}. */
export interface PeerProxyBackendOptions {
  /**
   * The peer's instance id, exactly as that peer's handler is configured (`createPeerHandler({ instanceId })`,
   * its `PBXKIT_STORAGE_INSTANCE_ID`): every request is signed for this id and no other peer accepts it. Also
   * its name in logs, metrics and the location index.
   */
  instanceId: string;
  /** Base URL of the peer's handler, e.g. `http://10.0.0.12:8080/_peer`. */
  endpoint: string;
  /**
   * Shared secret of the cluster: a string of at least 32 characters or a `Buffer` of at least 16 bytes. A
   * missing or weak one throws `StoragePeerSecretError` here.
   */
  secret: string | Buffer;
  /** No byte from the peer for this long aborts (no total-time limit). Default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Connections kept per peer. Default 16. */
  maxSockets?: number;
}

/**
 * Reads recordings that live on another pbxkit instance, through its {@link createPeerHandler}: every request
 * signed for that peer (HMAC-SHA256 over method, path, range, the peer's instance id, the time and a nonce),
 * `Range` passed through, the body streamed as it arrives with an idle timeout only. Read-only: `write` and
 * `delete` reject. A request the peer refuses rejects with `StoragePeerAuthError` carrying the peer's reason.
 *
 * @example
 * ```ts
 * const peers = peerBackends({ 'pbx-b': 'http://10.0.0.12:8080/_peer' }, process.env.PBXKIT_STORAGE_PEER_SECRET!);
 * const resolver = new TieredRecordingResolver({ local, archive, peers: peers.map((backend) => ({ backend, instanceId: backend.instanceId })) });
 * ```
 */
export class PeerProxyBackend implements StorageBackend {
  readonly name: string;
  readonly instanceId: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly options: PeerProxyBackendOptions;

  constructor(options: PeerProxyBackendOptions) {
    checkPeerSecret(options.secret);
    checkInstanceId(options.instanceId, 'PeerProxyBackend instanceId');
    this.options = options;
    this.instanceId = options.instanceId;
    this.name = `peer:${options.instanceId}`;
    this.base = new URL(options.endpoint.replace(/\/+$/, ''));
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });
  }

  async stat(key: string): Promise<ObjectInfo> {
    const res = await this.request('HEAD', this.objectPath(key), undefined, key);
    res.resume();
    return infoFrom(key, res);
  }

  async read(key: string, options: ReadOptions = {}): Promise<Readable> {
    const { range } = options;
    if (range && !(Number.isSafeInteger(range.start) && range.start >= 0 && range.end >= range.start)) {
      throw new StorageRangeError(key, undefined, `invalid range ${range.start}-${range.end}`);
    }
    const rangeHeader = range ? `bytes=${range.start}-${range.end}` : undefined;
    const path = this.objectPath(key);
    if (this.base.protocol === 'https:') return this.request('GET', path, rangeHeader, key, options.signal);
    const headers = this.sign('GET', path, rangeHeader);
    let res: RawResponse;
    try {
      res = await rawGet(this.base, path, headers, this.options.idleTimeoutMs ?? 60_000, options.signal);
    } catch (err) {
      throw new StorageUnavailableError(this.name, `GET ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status === 200 || res.status === 206) return res.body;
    res.body.resume();
    throw this.statusError('GET', path, key, res.status, res.headers);
  }

  /** The error of an answer other than 200/206 (its body already discarded). */
  private statusError(
    method: string,
    path: string,
    key: string,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): Error {
    if (status === 404) return new StorageNotFoundError(key);
    if (status === 416) {
      const size = /\*\/(\d+)/.exec(String(headers['content-range']))?.[1];
      return new StorageRangeError(key, size === undefined ? undefined : Number(size));
    }
    if (status === 401) {
      const given = headers[PEER_AUTH_FAILURE_HEADER];
      const reason = typeof given === 'string' && given !== '' ? given : undefined;
      return new StoragePeerAuthError(
        `${this.name} refused our signature${reason ? `: ${reason}` : ''}`,
        reason,
      );
    }
    return new StorageUnavailableError(this.name, `${method} ${path}: HTTP ${status}`);
  }

  private sign(method: 'GET' | 'HEAD', path: string, range: string | undefined): Record<string, string> {
    const headers = signRequest(this.options.secret, {
      method,
      path,
      peer: this.instanceId,
      ...(range ? { range } : {}),
    });
    if (range) headers.range = range;
    return headers;
  }

  async write(_key: string, _body: WriteBody): Promise<ObjectInfo> {
    throw new StorageError('STORAGE_UNSUPPORTED', `${this.name} is read-only`);
  }

  async delete(_key: string): Promise<boolean> {
    throw new StorageError('STORAGE_UNSUPPORTED', `${this.name} is read-only`);
  }

  async list(): Promise<ListPage> {
    return { items: [] };
  }

  async health(): Promise<HealthStatus> {
    const started = performance.now();
    try {
      const res = await this.request('GET', `${this.base.pathname}/health`, undefined, 'health');
      res.resume();
      return {
        ok: true,
        backend: this.name,
        detail: `${this.base.origin} answering`,
        latencyMs: performance.now() - started,
      };
    } catch (err) {
      return {
        ok: false,
        backend: this.name,
        detail: (err as Error).message,
        latencyMs: performance.now() - started,
      };
    }
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private objectPath(key: string): string {
    return `${this.base.pathname}/objects/${validateKey(key).map(encodeURIComponent).join('/')}`;
  }

  private request(
    method: 'GET' | 'HEAD',
    path: string,
    range: string | undefined,
    key: string,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const headers = this.sign(method, path, range);
    const client = this.base.protocol === 'https:' ? https : http;
    const idleMs = this.options.idleTimeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const req = client.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers,
          agent: this.agent,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status === 200 || status === 206) {
            // Idle timeout while the body streams: no byte for idleMs destroys the stream with an error. The
            // listener goes with the response (a kept-alive socket serves many).
            const socket = res.socket;
            const idle = (): void => {
              res.destroy(new StorageUnavailableError(this.name, `no data for ${idleMs} ms`));
            };
            const done = (): void => {
              socket.off('timeout', idle);
              socket.setTimeout(0);
            };
            socket.setTimeout(idleMs);
            socket.on('timeout', idle);
            res.once('end', done);
            res.once('close', done);
            resolve(res);
            return;
          }
          res.resume();
          reject(this.statusError(method, path, key, status, res.headers));
        },
      );
      req.setTimeout(idleMs, () =>
        req.destroy(new StorageUnavailableError(this.name, `no answer in ${idleMs} ms`)),
      );
      req.on('error', (err) => {
        reject(
          err instanceof StorageError
            ? err
            : new StorageUnavailableError(this.name, err.message, { cause: err }),
        );
      });
      req.end();
    });
  }
}

/** One {@link PeerProxyBackend} per entry of an instance id → endpoint map. */
export function peerBackends(
  endpoints: Record<string, string>,
  secret: string | Buffer,
  options: Omit<PeerProxyBackendOptions, 'instanceId' | 'endpoint' | 'secret'> = {},
): PeerProxyBackend[] {
  return Object.entries(endpoints).map(
    ([instanceId, endpoint]) => new PeerProxyBackend({ ...options, instanceId, endpoint, secret }),
  );
}

function infoFrom(key: string, res: IncomingMessage): ObjectInfo {
  const info: ObjectInfo = {
    key,
    size: Number(res.headers['content-length'] ?? 0),
    lastModified: new Date(res.headers['last-modified'] ?? 0),
  };
  if (res.headers.etag) info.etag = res.headers.etag;
  if (res.headers['content-type']) info.contentType = res.headers['content-type'];
  return info;
}
