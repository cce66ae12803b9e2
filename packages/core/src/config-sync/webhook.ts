import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { secretsEqual } from '../auth/secret.js';
import { ErrorReporter } from '../error-reporter.js';
import { type Logger, resolveLogger } from '../logger.js';
import { MetricsFactory, type MetricsOptions } from '../metrics.js';
import { ConfigSourceError } from './errors.js';

/** The forge that sent a webhook. */
export type Forge = 'github' | 'gitlab' | 'gitea';

/** A verified push event. */
export interface PushEvent {
  forge: Forge;
  /** The forge's id of this delivery (the same on a redelivery). */
  delivery: string;
  /** `refs/heads/main` or `refs/tags/v3`. */
  ref: string;
  /** The branch or tag name (`main`, `v3`). */
  refName: string;
  /** The commit the ref now points to (all zeros when the ref was deleted). */
  after: string;
  /** `owner/name` as the forge names it. */
  repository: string;
}

/** What a request came to. */
export type WebhookVerdict =
  | { kind: 'push'; event: PushEvent }
  | {
      kind: 'ignored';
      reason: 'replay' | 'not-push' | 'other-ref' | 'deleted';
      forge: Forge;
      delivery: string;
    }
  | { kind: 'rejected'; status: 400 | 401; error: ConfigSourceError };

/** The request parts a verdict needs: lower-case header names and the raw body. */
export interface WebhookRequest {
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

/** Options of {@link PushWebhook}. */
export interface PushWebhookOptions extends MetricsOptions {
  /** The webhook secret configured at the forge (GitHub/Gitea HMAC key, GitLab token). */
  secret: string;
  /** Only pushes to these refs trigger (`main`, `refs/tags/v1`). Default: every ref. */
  refs?: readonly string[];
  /** Delivery ids remembered to ignore redeliveries and replays. Default 10,000. */
  rememberDeliveries?: number;
  /** Largest body accepted. Default 5 MiB (a GitHub push payload is capped at 25 MB but rarely past 1). */
  maxBodyBytes?: number;
  logger?: Logger;
}

const ZERO_COMMIT = /^0+$/;

/**
 * Receives push webhooks from GitHub, GitLab and Gitea (and Forgejo, which sends Gitea's headers). GitHub's
 * `X-Hub-Signature-256` and Gitea's `X-Gitea-Signature` (HMAC-SHA256 of the raw body) and GitLab's
 * `X-Gitlab-Token` are compared in constant time. A delivery id already seen (a redelivery from the forge's UI,
 * or a captured request sent again) is ignored, as are pushes to other refs and non-push events (pings).
 *
 * @example
 * ```ts
 * const hook = new PushWebhook({ secret: process.env.WEBHOOK_SECRET!, refs: ['main'] });
 * http.createServer(hook.handler((event) => syncer.trigger(`${event.forge} push ${event.after}`))).listen(8090);
 * ```
 */
export class PushWebhook {
  private readonly seen = new Set<string>();
  private readonly remember: number;
  private readonly maxBody: number;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly deliveries;

  constructor(private readonly options: PushWebhookOptions) {
    if (!options.secret) throw new ConfigSourceError('CONFIG_SOURCE_OPTIONS', 'PushWebhook needs a secret');
    this.remember = options.rememberDeliveries ?? 10_000;
    this.maxBody = options.maxBodyBytes ?? 5 * 1024 * 1024;
    this.log = resolveLogger(options.logger, { component: 'push-webhook' });
    this.errors = new ErrorReporter('core', 'push-webhook', { logger: this.log, registry: options.registry });
    this.deliveries = new MetricsFactory('core', options.registry).counter({
      what: 'webhook_deliveries',
      unit: 'total',
      help: 'Webhook requests by verdict (push, ignored, rejected)',
      labelNames: ['verdict'],
    });
  }

  /** Verifies one request and says what it is; records its delivery id when it is a verified push. */
  verify(request: WebhookRequest): WebhookVerdict {
    const verdict = this.judge(request);
    this.deliveries.inc({ verdict: verdict.kind });
    if (verdict.kind === 'rejected') this.log.warn({ code: verdict.error.code }, verdict.error.message);
    return verdict;
  }

  /**
   * A `node:http` handler: 202 for a push (after handing it to `onPush`, whose errors are logged), 200 for an
   * ignored delivery, 400/401 naming the problem, 413 for a body past the limit, 405 for anything but POST.
   */
  handler(
    onPush: (event: PushEvent) => void | Promise<void>,
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      if (req.method !== 'POST') return reply(res, 405, { error: 'POST a push event here' });
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.maxBody) {
          reply(res, 413, { error: `body larger than ${this.maxBody} bytes` });
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('error', () => undefined);
      req.on('end', () => {
        if (res.headersSent) return;
        const verdict = this.verify({ headers: req.headers, body: Buffer.concat(chunks) });
        if (verdict.kind === 'rejected') return reply(res, verdict.status, { error: verdict.error.message });
        if (verdict.kind === 'ignored') return reply(res, 200, { ignored: verdict.reason });
        reply(res, 202, { accepted: verdict.event.after });
        Promise.resolve()
          .then(() => onPush(verdict.event))
          .catch((err: unknown) => this.errors.report(err, { msg: 'push handler failed', ...verdict.event }));
      });
    };
  }

  private judge(request: WebhookRequest): WebhookVerdict {
    const h = (name: string) => {
      const v = request.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const forge: Forge | undefined =
      h('x-gitea-event') || h('x-forgejo-event')
        ? 'gitea'
        : h('x-gitlab-event')
          ? 'gitlab'
          : h('x-github-event')
            ? 'github'
            : undefined;
    if (!forge)
      return rejected(400, 'WEBHOOK_PAYLOAD', 'not a GitHub, GitLab or Gitea webhook (no event header)');
    if (!this.authentic(forge, request.body, h)) {
      return rejected(401, 'WEBHOOK_SIGNATURE', `${forge} webhook: missing or wrong signature`);
    }
    const delivery =
      (forge === 'gitea'
        ? (h('x-gitea-delivery') ?? h('x-forgejo-delivery'))
        : forge === 'gitlab'
          ? (h('idempotency-key') ?? h('x-gitlab-event-uuid') ?? h('x-gitlab-webhook-uuid'))
          : h('x-github-delivery')) ?? '';
    if (!delivery) return rejected(400, 'WEBHOOK_PAYLOAD', `${forge} webhook without a delivery id`);
    const event = h('x-gitea-event') ?? h('x-forgejo-event') ?? h('x-gitlab-event') ?? h('x-github-event');
    const isPush = forge === 'gitlab' ? /^(Push|Tag Push) Hook$/.test(event ?? '') : event === 'push';
    if (!isPush) return { kind: 'ignored', reason: 'not-push', forge, delivery };
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return rejected(400, 'WEBHOOK_PAYLOAD', `${forge} push: the body is not JSON`);
    }
    const ref = payload.ref;
    const after = payload.after;
    if (typeof ref !== 'string' || typeof after !== 'string') {
      return rejected(400, 'WEBHOOK_PAYLOAD', `${forge} push: no ref or after in the payload`);
    }
    // Checked after the signature, so an unsigned request cannot fill the memory of replays.
    if (this.seen.has(`${forge}:${delivery}`)) return { kind: 'ignored', reason: 'replay', forge, delivery };
    this.rememberDelivery(`${forge}:${delivery}`);
    const refName = ref.replace(/^refs\/(heads|tags)\//, '');
    if (this.options.refs && !this.options.refs.some((r) => r === ref || r === refName)) {
      return { kind: 'ignored', reason: 'other-ref', forge, delivery };
    }
    if (ZERO_COMMIT.test(after)) return { kind: 'ignored', reason: 'deleted', forge, delivery };
    return {
      kind: 'push',
      event: { forge, delivery, ref, refName, after, repository: repositoryOf(payload) },
    };
  }

  private authentic(forge: Forge, body: Buffer, h: (name: string) => string | undefined): boolean {
    if (forge === 'gitlab') {
      const token = h('x-gitlab-token');
      return token !== undefined && secretsEqual(token, this.options.secret);
    }
    const mac = createHmac('sha256', this.options.secret).update(body).digest('hex');
    const given =
      forge === 'gitea'
        ? (h('x-gitea-signature') ?? h('x-forgejo-signature'))
        : h('x-hub-signature-256')?.replace(/^sha256=/, '');
    return given !== undefined && secretsEqual(given.toLowerCase(), mac);
  }

  private rememberDelivery(key: string): void {
    this.seen.add(key);
    // A Set iterates in insertion order: the first key is the oldest.
    if (this.seen.size > this.remember) this.seen.delete(this.seen.values().next().value as string);
  }
}

function repositoryOf(payload: Record<string, unknown>): string {
  const repo = payload.repository as Record<string, unknown> | undefined;
  const project = payload.project as Record<string, unknown> | undefined;
  const name = repo?.full_name ?? project?.path_with_namespace ?? repo?.name;
  return typeof name === 'string' ? name : '';
}

function rejected(status: 400 | 401, code: string, message: string): WebhookVerdict {
  return { kind: 'rejected', status, error: new ConfigSourceError(code, message) };
}

function reply(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}
