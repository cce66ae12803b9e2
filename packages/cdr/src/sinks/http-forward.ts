import {
  Backoff,
  type BackoffOptions,
  type Counter,
  type Histogram,
  type Logger,
  MetricsFactory,
  PbxkitError,
  type Registry,
  resolveLogger,
  sleep,
} from '@pbxkit/core';
import type { CdrRecord } from '../record.js';
import type { PreparedCdr, PreparingCdrSink } from '../sink.js';
import { isTransientError } from '../sink-errors.js';

/** What {@link HttpForwardSink} needs of a record: its uuid, leg and XML text. */
export type ForwardedCdr = Pick<CdrRecord, 'uuid' | 'leg' | 'xml'>;

/**
 * How the CDR is posted, as mod_xml_cdr's `encode` would post it:
 * - `form`: `application/x-www-form-urlencoded`, body `cdr=<encodeURIComponent(xml)>` (`encode=true`, the one
 *   FusionPBX reads);
 * - `text-xml`: `text/xml`, the bare XML (`encode=textxml`);
 * - `xml`: `application/xml`, the bare XML.
 */
export type HttpForwardFormat = 'form' | 'text-xml' | 'xml';

/** Options of {@link HttpForwardSink}. */
export interface HttpForwardSinkOptions {
  /** The CDR service's URL. `?uuid=[a_]<uuid>` is appended (`&uuid=` when the URL has a query already). */
  url: string | URL;
  /** Default `form`. */
  format?: HttpForwardFormat;
  /**
   * HTTP Basic credentials, as mod_xml_cdr's `cred` (`user:pass`) or an object. Credentials in the URL
   * (`http://user:pass@host/`) are used the same way.
   */
  credentials?: string | { username: string; password: string };
  /** Extra request headers (they may replace `User-Agent`, whose default is FreeSWITCH's `freeswitch-xml/1.0`). */
  headers?: Record<string, string>;
  /** Prefix the a-leg's uuid with `a_`, like mod_xml_cdr's `prefix-a-leg` (FusionPBX needs it). Default true. */
  prefixALeg?: boolean;
  /** Limit of one request, in milliseconds (connection, upload and response). Default 30 000. */
  timeoutMs?: number;
  /** Requests in flight at once, over every `write` of this sink. Default 4. */
  concurrency?: number;
  /**
   * Retry of one CDR on network errors, timeouts, 5xx and 429 (other answers are final): attempts in total,
   * and the backoff between them. Default 5 attempts, 200 ms doubling up to 10 s, with jitter. A `Retry-After`
   * of a 429 or 503 is honoured up to `maxMs`.
   */
  retry?: BackoffOptions & { maxAttempts?: number };
  /** Sink name for metrics, logs and the spool. Default `http-forward`. */
  name?: string;
  logger?: Logger;
  registry?: Registry;
}

/** Why a CDR could not be forwarded. */
export type HttpForwardErrorCode =
  /** The service answered with a status retrying cannot change (4xx other than 429, or 3xx). Permanent. */
  | 'CDR_FORWARD_REJECTED'
  /** Every attempt ended in a network error, 5xx or 429. */
  | 'CDR_FORWARD_FAILED'
  /** Every attempt timed out (the last one did). */
  | 'CDR_FORWARD_TIMEOUT'
  /** The sink was closed while the CDR was being sent. */
  | 'CDR_FORWARD_CLOSED';

/**
 * A CDR (or, from `write`, a batch) that was not forwarded. `permanent` is true when retrying the same request
 * cannot succeed (the service refused it with a 4xx): the dispatcher should dead-letter it rather than retry.
 */
export class HttpForwardError extends PbxkitError {
  declare readonly code: HttpForwardErrorCode;
  /** True when no retry can help. */
  readonly permanent: boolean;
  /** The uuid of the CDR (of the first failed one for a batch). */
  readonly uuid: string | undefined;
  /** The last HTTP status, when an answer came. */
  readonly status: number | undefined;
  /** Attempts made. */
  readonly attempts: number;
  /** For a batch: the error of each CDR that failed (empty for a single CDR). */
  readonly failures: HttpForwardError[];

  constructor(
    code: HttpForwardErrorCode,
    message: string,
    details: {
      uuid?: string;
      status?: number;
      attempts?: number;
      permanent?: boolean;
      failures?: HttpForwardError[];
      cause?: unknown;
    } = {},
  ) {
    super(code, message, { cause: details.cause });
    this.permanent = details.permanent ?? code === 'CDR_FORWARD_REJECTED';
    this.uuid = details.uuid;
    this.status = details.status;
    this.attempts = details.attempts ?? 0;
    this.failures = details.failures ?? [];
  }
}

/** A request body and its content type, for one CDR in one format. */
export function forwardBody(xml: string, format: HttpForwardFormat): { body: string; contentType: string } {
  switch (format) {
    case 'form':
      return { body: `cdr=${encodeURIComponent(xml)}`, contentType: 'application/x-www-form-urlencoded' };
    case 'text-xml':
      return { body: xml, contentType: 'text/xml' };
    case 'xml':
      return { body: xml, contentType: 'application/xml' };
    default:
      throw new RangeError(`unknown HttpForwardFormat ${JSON.stringify(format)}`);
  }
}

/** A counting semaphore: at most `limit` holders at once, the others wait in order. */
class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Seconds of a `Retry-After` header (delta-seconds or HTTP date), in milliseconds. */
function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const DELIVERED_MEMORY = 10_000;

/**
 * Re-posts each CDR to another CDR service (a contact-centre platform, a second FusionPBX, ...) the way
 * FreeSWITCH's mod_xml_cdr would: `POST <url>?uuid=[a_]<uuid>` with the XML as a form field `cdr=` or as the
 * body, optional Basic credentials. Success is any 2xx, as for FreeSWITCH.
 *
 * Each CDR has its own retry with backoff on network errors, timeouts, 5xx and 429; any other status is final
 * and fails the write with a permanent {@link HttpForwardError}. `write` sends a batch's CDRs concurrently (up
 * to `concurrency` requests for the whole sink) and rejects if any of them failed; CDRs of the batch that were
 * delivered are remembered, so the dispatcher's retry of the batch does not post them again.
 *
 * The receiving service should be idempotent by call uuid (as pbxkit's receiver is): a CDR whose 2xx was lost
 * on the way is posted again.
 *
 * @example
 * ```ts
 * const ccp = new HttpForwardSink({
 *   url: 'https://ccp.example.com/cdr',
 *   format: 'form',
 *   credentials: 'pbx:secret',
 *   timeoutMs: 10_000,
 * });
 * await ccp.write([parseCdr(xml)]);
 * ```
 */
export class HttpForwardSink implements PreparingCdrSink<ForwardedCdr> {
  readonly name: string;
  private readonly url: string;
  private readonly format: HttpForwardFormat;
  private readonly headers: Record<string, string>;
  private readonly prefixALeg: boolean;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffOptions: BackoffOptions;
  private readonly semaphore: Semaphore;
  private readonly closing = new AbortController();
  private readonly delivered = new Set<string>();
  private readonly log: Logger;
  private readonly metrics: {
    requests: Counter<'sink' | 'result'>;
    duration: Histogram<'sink'>;
  };

  constructor(options: HttpForwardSinkOptions) {
    this.name = options.name ?? 'http-forward';
    this.format = options.format ?? 'form';
    forwardBody('', this.format); // validates the format now rather than at the first CDR
    this.prefixALeg = options.prefixALeg ?? true;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxAttempts = options.retry?.maxAttempts ?? 5;
    this.backoffOptions = { minMs: 200, maxMs: 10_000, ...options.retry };
    const concurrency = options.concurrency ?? 4;
    if (!(concurrency >= 1)) throw new RangeError('concurrency must be >= 1');
    if (!(this.maxAttempts >= 1)) throw new RangeError('retry.maxAttempts must be >= 1');
    this.semaphore = new Semaphore(concurrency);

    // fetch refuses URLs with credentials: move them to the Authorization header.
    const url = new URL(String(options.url));
    let credentials = options.credentials;
    if (url.username || url.password) {
      credentials ??= {
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
      };
      url.username = '';
      url.password = '';
    }
    url.hash = '';
    this.url = url.toString();
    this.headers = { 'user-agent': 'freeswitch-xml/1.0' };
    if (credentials !== undefined) {
      const pair =
        typeof credentials === 'string' ? credentials : `${credentials.username}:${credentials.password}`;
      this.headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    }
    for (const [k, v] of Object.entries(options.headers ?? {})) this.headers[k.toLowerCase()] = v;

    this.log = resolveLogger(options.logger, { component: 'cdr-http-forward', sink: this.name });
    const metrics = new MetricsFactory('cdr', options.registry);
    this.metrics = {
      requests: metrics.counter({
        what: 'http_forward_requests',
        unit: 'total',
        help: 'CDR forwarding requests, by result (delivered, retried, rejected, failed)',
        labelNames: ['sink', 'result'],
      }),
      duration: metrics.histogram({
        what: 'http_forward_request_duration',
        unit: 'seconds',
        help: 'Time of one CDR forwarding request',
        labelNames: ['sink'],
      }),
    };
  }

  /** The URL a CDR is posted to: the configured one with `uuid=[a_]<uuid>` added, as mod_xml_cdr does. */
  targetUrl(record: Pick<CdrRecord, 'uuid' | 'leg'>): string {
    const id = this.prefixALeg && record.leg === 'a' ? `a_${record.uuid}` : record.uuid;
    return `${this.url}${this.url.includes('?') ? '&' : '?'}uuid=${encodeURIComponent(id)}`;
  }

  /**
   * Posts every CDR of the batch (each with its own retry); resolves when all got a 2xx. Rejects with an
   * {@link HttpForwardError}: the CDR's own for a batch of one, else one whose `failures` lists each CDR's and
   * that is `permanent` only when every failure is.
   */
  async write(records: readonly CdrRecord[]): Promise<void> {
    await this.writePrepared(records);
  }

  /** Keeps only the uuid, leg and XML text of a waiting CDR (see {@link PreparingCdrSink}). */
  prepare(record: CdrRecord): PreparedCdr<ForwardedCdr> {
    return { item: { uuid: record.uuid, leg: record.leg, xml: record.xml }, bytes: record.xml.length * 2 };
  }

  /** {@link HttpForwardSink.write} for prepared records. */
  async writePrepared(records: readonly ForwardedCdr[]): Promise<void> {
    const pending = new Map<string, ForwardedCdr>();
    for (const r of records) if (!this.delivered.has(r.uuid) && !pending.has(r.uuid)) pending.set(r.uuid, r);
    const results = await Promise.allSettled(
      [...pending.values()].map((r) => this.semaphore.run(() => this.send(r))),
    );
    const failures: HttpForwardError[] = [];
    for (const result of results) {
      if (result.status === 'rejected') {
        const err = result.reason;
        failures.push(
          err instanceof HttpForwardError
            ? err
            : new HttpForwardError('CDR_FORWARD_FAILED', String(err), { cause: err }),
        );
      }
    }
    if (failures.length === 0) return;
    const first = failures[0] as HttpForwardError;
    if (failures.length === 1 && pending.size === 1) throw first;
    throw new HttpForwardError(
      first.code,
      `${failures.length} of ${pending.size} CDRs not forwarded; first: ${first.message}`,
      {
        uuid: first.uuid,
        status: first.status,
        attempts: first.attempts,
        permanent: failures.every((f) => f.permanent),
        failures,
        cause: first,
      },
    );
  }

  /**
   * True unless the service refused the CDR for good (a permanent {@link HttpForwardError}: a 4xx other than 429,
   * or a 3xx): network errors, timeouts, 429 and 5xx mean the service could not take it now, and the dispatcher
   * retries them until it can, without dead-lettering.
   */
  isTransient(err: unknown): boolean {
    if (err instanceof HttpForwardError) return !err.permanent;
    return isTransientError(err);
  }

  /** Posts one CDR with retry; resolves on a 2xx. */
  private async send(record: ForwardedCdr): Promise<void> {
    let payload: { body: string; contentType: string };
    try {
      payload = forwardBody(record.xml, this.format);
    } catch (err) {
      // encodeURIComponent throws on a lone surrogate: the same text will never encode.
      throw new HttpForwardError('CDR_FORWARD_REJECTED', `CDR ${record.uuid} cannot be encoded: ${err}`, {
        uuid: record.uuid,
        cause: err,
      });
    }
    const url = this.targetUrl(record);
    const headers = { ...this.headers, 'content-type': payload.contentType };
    const backoff = new Backoff(this.backoffOptions);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(url, headers, payload.body, record.uuid, attempt);
      if (outcome === 'delivered') {
        this.remember(record.uuid);
        return;
      }
      if (outcome.error.permanent || attempt >= this.maxAttempts || this.closing.signal.aborted) {
        this.metrics.requests.inc({
          sink: this.name,
          result: outcome.error.permanent ? 'rejected' : 'failed',
        });
        throw outcome.error;
      }
      this.metrics.requests.inc({ sink: this.name, result: 'retried' });
      const delay = Math.min(Math.max(backoff.next(), outcome.retryAfterMs ?? 0), backoff.maxMs);
      this.log.warn(
        { uuid: record.uuid, attempt, delayMs: delay, err: outcome.error },
        'CDR forward failed: retrying',
      );
      try {
        await sleep(delay, this.closing.signal);
      } catch (err) {
        throw new HttpForwardError('CDR_FORWARD_CLOSED', `sink closed while forwarding CDR ${record.uuid}`, {
          uuid: record.uuid,
          attempts: attempt,
          cause: err,
        });
      }
    }
  }

  private async attempt(
    url: string,
    headers: Record<string, string>,
    body: string,
    uuid: string,
    attempt: number,
  ): Promise<'delivered' | { error: HttpForwardError; retryAfterMs?: number }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([timeout, this.closing.signal]);
    const end = this.metrics.duration.startTimer({ sink: this.name });
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
    } catch (err) {
      end();
      if (this.closing.signal.aborted) {
        return {
          error: new HttpForwardError('CDR_FORWARD_CLOSED', `sink closed while forwarding CDR ${uuid}`, {
            uuid,
            attempts: attempt,
            cause: err,
          }),
        };
      }
      if (timeout.aborted) {
        return {
          error: new HttpForwardError(
            'CDR_FORWARD_TIMEOUT',
            `forwarding CDR ${uuid} to ${this.url} timed out after ${this.timeoutMs} ms`,
            { uuid, attempts: attempt, cause: err },
          ),
        };
      }
      const reason = (err as { cause?: { code?: string; message?: string } }).cause;
      return {
        error: new HttpForwardError(
          'CDR_FORWARD_FAILED',
          `forwarding CDR ${uuid} to ${this.url} failed: ${reason?.code ?? reason?.message ?? String(err)}`,
          { uuid, attempts: attempt, cause: err },
        ),
      };
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      // The body is ignored, as FreeSWITCH ignores it; cancelling it frees the connection.
      await response.body?.cancel().catch(() => {});
      end();
      this.metrics.requests.inc({ sink: this.name, result: 'delivered' });
      return 'delivered';
    }
    const text = await response.text().catch(() => '');
    end();
    const transient = status >= 500 || status === 429;
    const detail = text.trim().slice(0, 200);
    return {
      error: new HttpForwardError(
        transient ? 'CDR_FORWARD_FAILED' : 'CDR_FORWARD_REJECTED',
        `${this.url} answered ${status} to CDR ${uuid}${detail ? `: ${detail}` : ''}`,
        { uuid, status, attempts: attempt },
      ),
      retryAfterMs: transient ? retryAfterMs(response.headers.get('retry-after')) : undefined,
    };
  }

  private remember(uuid: string): void {
    this.delivered.add(uuid);
    if (this.delivered.size > DELIVERED_MEMORY) {
      const oldest = this.delivered.values().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
  }

  /** Stops: requests in flight and waits between attempts end at once with `CDR_FORWARD_CLOSED`. */
  async close(): Promise<void> {
    this.closing.abort();
  }
}
