import type { Logger } from '@pbxkit/core';
import { silentLogger } from '@pbxkit/core';
import pg from 'pg';

/** A change one node's agent made to the shared tier, for the other nodes' agents. */
export interface VoicemailChange {
  /** `stored`: a verified copy is in the shared tier; `deleted`: the message was deleted and its copy removed. */
  kind: 'stored' | 'deleted';
  /** Key in the voicemail tree. */
  key: string;
  /** Instance id of the agent that made it (its own changes are ignored). */
  origin: string;
}

/**
 * Carries {@link VoicemailChange}s between the agents of a cluster, so that a message left on one node is copied
 * to the others at once rather than at their next reconcile. Best effort: a change that is lost is found by the
 * periodic reconcile.
 */
export interface VoicemailNotifier {
  publish(change: VoicemailChange): Promise<void>;
  subscribe(listener: (change: VoicemailChange) => void): () => void;
  close?(): Promise<void>;
}

/** A {@link VoicemailNotifier} inside one process (tests, or several agents in one program). */
export class MemoryVoicemailNotifier implements VoicemailNotifier {
  private readonly listeners = new Set<(change: VoicemailChange) => void>();

  async publish(change: VoicemailChange): Promise<void> {
    for (const listener of [...this.listeners]) queueMicrotask(() => listener(change));
  }

  subscribe(listener: (change: VoicemailChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Options of {@link PgVoicemailNotifier}. */
export interface PgVoicemailNotifierOptions {
  /** The PostgreSQL the nodes share (FusionPBX's, or the one mod_voicemail's `odbc-dsn` names). */
  connectionString: string;
  /** `LISTEN`/`NOTIFY` channel. Default `pbxkit_voicemail`. */
  channel?: string;
  /** First reconnection delay; doubles up to 30 s. Default 1000 ms. */
  reconnectDelayMs?: number;
  logger?: Logger;
}

const CHANNEL_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A {@link VoicemailNotifier} on PostgreSQL `LISTEN`/`NOTIFY`: one dedicated connection, reconnected with a
 * growing delay when it is lost (changes published meanwhile are found by the reconcile).
 */
export class PgVoicemailNotifier implements VoicemailNotifier {
  private readonly channel: string;
  private readonly listeners = new Set<(change: VoicemailChange) => void>();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private closed = false;
  private delay: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly options: PgVoicemailNotifierOptions) {
    this.channel = options.channel ?? 'pbxkit_voicemail';
    if (!CHANNEL_RE.test(this.channel))
      throw new TypeError(`bad channel name ${JSON.stringify(this.channel)}`);
    this.delay = options.reconnectDelayMs ?? 1000;
    this.log = options.logger ?? silentLogger;
  }

  /** Connects and listens; resolves once notifications flow (later losses reconnect by themselves). */
  async start(): Promise<void> {
    await this.connect();
  }

  async publish(change: VoicemailChange): Promise<void> {
    const client = await this.connect();
    await client.query('select pg_notify($1, $2)', [this.channel, JSON.stringify(change)]);
  }

  subscribe(listener: (change: VoicemailChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private connect(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('the voicemail notifier is closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.options.connectionString });
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client));
      client.on('notification', (n) => {
        if (n.channel !== this.channel || !n.payload) return;
        let change: VoicemailChange;
        try {
          change = JSON.parse(n.payload) as VoicemailChange;
        } catch {
          return;
        }
        for (const listener of [...this.listeners]) listener(change);
      });
      try {
        await client.connect();
        await client.query(`listen ${this.channel}`);
      } catch (err) {
        await client.end().catch(() => {});
        throw err;
      }
      this.client = client;
      this.delay = this.options.reconnectDelayMs ?? 1000;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    if (this.closed) return;
    this.log.warn({ err }, 'voicemail notifier connection lost: reconnecting');
    const retry = (): void => {
      this.timer = setTimeout(() => {
        if (this.closed) return;
        this.connect().catch((e: unknown) => {
          this.log.warn({ err: e }, 'voicemail notifier could not reconnect');
          this.delay = Math.min(this.delay * 2, 30_000);
          retry();
        });
      }, this.delay);
      this.timer.unref();
    };
    retry();
  }
}
