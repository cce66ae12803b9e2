import { performance } from 'node:perf_hooks';
import {
  type ConfigVersionInfo,
  ErrorReporter,
  type Logger,
  resolveLogger,
  type SyncState,
  TypedEmitter,
} from '@pbxkit/core';
import { ensureConnected } from '../client/ensure-connected.js';
import { ConfFile } from '../config/conf-file.js';
import { applySyncFile, localMatches, type SyncTarget } from './apply.js';
import { AsteriskSyncError } from './errors.js';
import { renderSyncFile } from './render.js';
import { compileSyncFilter, countSyncUsers, type SyncTechnology, selectSyncCategories } from './select.js';
import { SyncMetrics } from './sync-metrics.js';
import type {
  AsteriskConfigSyncEvents,
  AsteriskConfigSyncOptions,
  RunBody,
  SyncPreview,
  SyncRunResult,
} from './sync-types.js';

/**
 * Copies a filtered subset of user accounts from the main PBX to the branch's Asterisk, as Synch's
 * SyncManager did, without its losses: reads the remote file with `GetConfig` (repeated keys, `=` inside
 * values and templates kept), keeps the users that pass the filter (and, for PJSIP, their aor and auth
 * sections), renders the local file, and when it differs from the last applied version writes it
 * atomically, reloads only `chan_sip.so` or `res_pjsip.so`, reads it back, and records it in the
 * `ConfigStore`. An empty result, or a shrink beyond `maxShrink`, is refused unless forced, so a main PBX
 * answering with an empty file cannot wipe a branch. A failed run leaves the last good version in place and
 * says why (`lastResult`, the `error` event, the log).
 *
 * States, with Synch's names: `Init` until a run has read the remote file (and again when a run cannot read
 * it, as Synch does: during an outage nothing is known); `Unsynced` when the remote differs from what runs
 * and could not be applied (refused, failed, or held after a rollback); `Synced` when the branch runs the
 * filtered remote file.
 *
 * @example
 * ```ts
 * const sync = new AsteriskConfigSync({
 *   remote: new AmiClient({ host: '10.0.0.254', username: 'synch', secret: 'pw' }),
 *   local: new AmiClient({ host: '127.0.0.1', username: 'synch', secret: 'pw' }),
 *   store: await ConfigStore.open({ dir: '/var/lib/branch-failover/config' }),
 *   filter: { key: 'accountcode', value: '^HeadOffice$' },
 * });
 * sync.on('state', (c) => console.log(`sync ${c.from} -> ${c.to}: ${c.reason}`));
 * await sync.start();
 * ```
 */
export class AsteriskConfigSync extends TypedEmitter<AsteriskConfigSyncEvents> {
  private readonly options: AsteriskConfigSyncOptions;
  private readonly technology: SyncTechnology;
  private readonly remoteFiles: readonly string[];
  private readonly target: SyncTarget;
  private readonly intervalMs: number;
  private readonly maxShrink: number;
  private readonly log: Logger;
  private readonly errors: ErrorReporter;
  private readonly metrics: SyncMetrics;
  private current: SyncState = 'Init';
  private last: SyncRunResult | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  // The remote text an operator rolled back from: not applied again until the remote changes.
  private held: string | undefined;
  private lastRemoteText: string | undefined;

  constructor(options: AsteriskConfigSyncOptions) {
    super();
    this.options = options;
    this.technology = options.technology ?? 'sip';
    const pjsip = this.technology === 'pjsip';
    const remote =
      options.remoteFiles ??
      (pjsip ? ['pjsip.endpoint.conf', 'pjsip.aor.conf', 'pjsip.auth.conf'] : 'sip_additional.conf');
    this.remoteFiles = typeof remote === 'string' ? [remote] : [...remote];
    this.intervalMs = options.intervalMs ?? 300_000;
    this.maxShrink = options.maxShrink ?? 0.5;
    if (this.remoteFiles.length === 0 || this.remoteFiles.some((f) => f === '')) {
      throw new AsteriskSyncError('SYNC_OPTIONS', 'remoteFiles must name at least one file');
    }
    if (!(this.intervalMs > 0))
      throw new AsteriskSyncError('SYNC_OPTIONS', `intervalMs must be > 0, got ${this.intervalMs}`);
    if (!(this.maxShrink >= 0 && this.maxShrink <= 1)) {
      throw new AsteriskSyncError('SYNC_OPTIONS', `maxShrink must be between 0 and 1, got ${this.maxShrink}`);
    }
    compileSyncFilter(options.filter);
    this.target = {
      client: options.local,
      file: options.localFile ?? (pjsip ? 'pjsip_synch.conf' : 'sip_synch.conf'),
      module: options.reloadModule ?? (pjsip ? 'res_pjsip.so' : 'chan_sip.so'),
      configsPath: options.localConfigsPath,
      timeoutMs: options.actionTimeoutMs,
    };
    this.log = resolveLogger(options.logger, { component: 'config-sync', file: this.target.file });
    this.errors = new ErrorReporter('ami', 'config-sync', { logger: this.log, registry: options.registry });
    this.metrics = new SyncMetrics(options.metricsNamespace ?? 'ami', options.registry);
  }

  /** `Init`, `Unsynced` or `Synced` (see the class description). */
  get state(): SyncState {
    return this.current;
  }

  /** The last run's result. */
  get lastResult(): SyncRunResult | undefined {
    return this.last;
  }

  /** The local file written. */
  get localFile(): string {
    return this.target.file;
  }

  /** Where the remote is read from, as recorded in each version (`ami://host/file`). */
  get source(): string {
    const { host, port } = this.options.remote.endpoint;
    return `ami://${host}:${port}/${this.remoteFiles.join('+')}`;
  }

  /** Runs once now, then every `intervalMs` (a tick during a run is skipped, as in Synch). */
  async start(): Promise<SyncRunResult> {
    this.stop();
    this.timer = setInterval(() => {
      if (!this.running) void this.sync().catch(() => undefined);
    }, this.intervalMs);
    return this.sync();
  }

  /** Stops the timer; a run in progress finishes. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One run now, after any run in progress. `force` applies an empty or shrunk result, and a held one. */
  sync(options: { force?: boolean } = {}): Promise<SyncRunResult> {
    return this.exclusive(() => this.run(options.force ?? false));
  }

  /** What a run would write now, and its diff against the newest version; changes nothing. */
  async preview(): Promise<SyncPreview> {
    const { text, users } = await this.readRemote();
    const diff = await this.options.store.pending({ [this.target.file]: text });
    return { file: this.target.file, text, users, diff };
  }

  /**
   * Applies version `n` again and records it as a new version. Runs then leave the branch on it until the
   * main PBX's filtered file changes (a forced `sync()` applies the main's one at once).
   */
  rollback(n: number, options: { appliedBy?: string } = {}): Promise<ConfigVersionInfo> {
    return this.exclusive(async () => {
      const version = await this.options.store.rollback(n, {
        appliedBy: options.appliedBy ?? this.options.appliedBy ?? 'AsteriskConfigSync rollback',
        apply: (files) => applySyncFile(this.target, this.fileOf(files, n)),
      });
      const text = this.fileOf((await this.options.store.get(version.version)).contents, n);
      this.metrics.setUsers(countSyncUsers(ConfFile.parse(text), this.technology));
      this.held = this.lastRemoteText !== text ? this.lastRemoteText : undefined;
      this.setState(this.held === undefined ? 'Synced' : 'Unsynced', `rolled back to version ${n}`);
      this.emit('applied', version, await this.options.store.changes(version.version));
      return version;
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      this.running = true;
      try {
        return await work();
      } finally {
        this.running = false;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private fileOf(files: Readonly<Record<string, string>>, n: number): string {
    const text = files[this.target.file];
    if (text === undefined)
      throw new AsteriskSyncError('SYNC_OPTIONS', `version ${n} has no ${this.target.file}`);
    return text;
  }

  private async readRemote(): Promise<{ text: string; users: number }> {
    const conf = new ConfFile();
    for (const file of this.remoteFiles) {
      try {
        await ensureConnected(this.options.remote);
        const part = await this.options.remote.getConfig(file, {
          filter: 'TEMPLATES=include',
          timeoutMs: this.options.actionTimeoutMs,
        });
        conf.categories.push(...part.categories);
      } catch (err) {
        throw new AsteriskSyncError(
          'SYNC_READ',
          `reading ${file} from the main PBX: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    const selection = selectSyncCategories(conf, this.technology, this.options.filter);
    return { text: renderSyncFile(selection.categories, this.source), users: selection.users };
  }

  private async latestText(): Promise<string | undefined> {
    const latest = await this.options.store.latest();
    if (!latest || !(this.target.file in latest.files)) return undefined;
    return (await this.options.store.get(latest.version)).contents[this.target.file];
  }

  private async run(force: boolean): Promise<SyncRunResult> {
    const started = performance.now();
    const at = new Date();
    let result: RunBody;
    let state: SyncState;
    try {
      result = await this.attempt(force);
      state = result.outcome === 'applied' || result.outcome === 'unchanged' ? 'Synced' : 'Unsynced';
    } catch (err) {
      const error =
        err instanceof AsteriskSyncError
          ? err
          : new AsteriskSyncError('SYNC_APPLY', (err as Error).message, { cause: err });
      result = { outcome: 'failed', reason: error.message, error };
      // Without the remote nothing is known (Synch's Init); otherwise the branch runs an older version.
      state = error.code === 'SYNC_READ' ? 'Init' : 'Unsynced';
    }
    const durationMs = performance.now() - started;
    this.setState(state, result.reason ?? result.outcome);
    const final: SyncRunResult = { ...result, state, at, durationMs };
    this.last = final;
    this.metrics.run(final.outcome, durationMs / 1000);
    if (final.error)
      this.emitError(
        this.errors,
        { msg: 'configuration sync failed', level: 'warn', code: final.error.code },
        final.error,
      );
    else
      this.log.info(
        {
          outcome: final.outcome,
          users: final.users,
          version: final.version?.version,
          durationMs: Math.round(durationMs),
        },
        'sync run',
      );
    this.emit('run', final);
    return final;
  }

  private async attempt(force: boolean): Promise<RunBody> {
    const { text, users } = await this.readRemote();
    this.lastRemoteText = text;
    const latest = await this.latestText();
    const file = this.target.file;
    if (latest === text) {
      this.held = undefined;
      // Already recorded: put it back if someone changed the local file since.
      if (await localMatches(this.target, text)) return { outcome: 'unchanged', users };
      await applySyncFile(this.target, text);
      this.log.warn({ file }, 'the local file had drifted from the last version: applied it again');
      return { outcome: 'unchanged', users, reason: 'local file restored to the last version' };
    }
    const diff = await this.options.store.pending({ [file]: text });
    if (!force && this.held === text) {
      return { outcome: 'held', users, diff, reason: 'held after a rollback until the main PBX changes' };
    }
    this.held = undefined;
    const refusal = force ? undefined : this.refusal(users, latest);
    if (refusal) {
      const error = new AsteriskSyncError(refusal.code, refusal.reason);
      return { outcome: 'refused', users, diff, reason: refusal.reason, error };
    }
    const version = await this.options.store.commit(
      { [file]: text },
      {
        source: this.source,
        appliedBy: this.options.appliedBy ?? 'AsteriskConfigSync',
        message: `${users} users${force ? ' (forced)' : ''}`,
        apply: () => applySyncFile(this.target, text),
      },
    );
    this.metrics.setUsers(users);
    this.emit('applied', version, diff);
    return { outcome: 'applied', users, version, diff };
  }

  private refusal(users: number, latest: string | undefined): { code: string; reason: string } | undefined {
    if (users === 0) {
      return {
        code: 'SYNC_EMPTY',
        reason: 'the filtered remote file holds no user: refusing to empty the branch',
      };
    }
    if (latest === undefined) return undefined;
    const before = countSyncUsers(ConfFile.parse(latest), this.technology);
    if (users < before * (1 - this.maxShrink)) {
      return {
        code: 'SYNC_SHRINK',
        reason: `the filtered remote file holds ${users} users where the last version had ${before}: more than ${Math.round(this.maxShrink * 100)}% fewer, refused without force`,
      };
    }
    return undefined;
  }

  private setState(to: SyncState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.metrics.setState(to);
    this.log.info({ from, to, reason }, `sync state ${from} -> ${to}`);
    this.emit('state', { from, to, reason, at: new Date() });
  }
}
