import { watch } from 'node:fs';
import type { ConfigSource, Logger } from '@pbxkit/core';
import { ErrorReporter, type Registry } from '@pbxkit/core';
import type { ApplyResult, FsConfigSync } from '@pbxkit/esl';

/** What the daemon last did, for `/health`. */
export interface DaemonStatus {
  appliedRevision: string;
  lastCheck: Date | undefined;
  lastApplied: Date | undefined;
  /** The last check's or apply's error; cleared by the next success. */
  lastError: { message: string; code: string | undefined; at: Date } | undefined;
  /** A source revision not applied on purpose (an operator rolled back): applied again only once it changes. */
  held: string | undefined;
}

/**
 * Keeps a node on its source's newest revision: a check asks the source for its revision (cheap) and applies a
 * snapshot when it differs from the applied one. Checks come from the webhook, the poll timer, a directory
 * watcher or the API; at most one runs at a time, and triggers during a run fold into one more run.
 */
export class SyncDaemon {
  readonly status: DaemonStatus = {
    appliedRevision: '',
    lastCheck: undefined,
    lastApplied: undefined,
    lastError: undefined,
    held: undefined,
  };
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private watcher: ReturnType<typeof watch> | undefined;
  private readonly errors: ErrorReporter;
  private stopped = false;

  constructor(
    private readonly source: ConfigSource,
    readonly sync: FsConfigSync,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.errors = new ErrorReporter('esl', 'config-sync-daemon', { logger: log, registry });
    this.status.appliedRevision = sync.appliedRevision;
  }

  /** Checks now and then every `pollSeconds` (0: no polling); watches `watchDir` when given. */
  start(pollSeconds: number, watchDir?: string): void {
    void this.trigger('start');
    if (pollSeconds > 0) {
      this.timer = setInterval(() => void this.trigger('poll'), pollSeconds * 1000);
      this.timer.unref();
    }
    if (watchDir) {
      try {
        this.watcher = watch(watchDir, { recursive: true }, () => void this.trigger('directory changed'));
        this.watcher.on('error', (err) =>
          this.errors.report(err, { msg: 'directory watcher failed', level: 'warn' }),
        );
      } catch (err) {
        this.errors.report(err, { msg: 'cannot watch the directory: polling only', level: 'warn' });
      }
    }
  }

  /** Runs a check (or folds into the running one); resolves when the checks it caused are done. */
  trigger(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.check(reason);
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Rolls back to version `n` and holds the source's current revision until it changes. */
  async rollback(n: number, by: string): Promise<ApplyResult> {
    await this.running;
    const result = await this.sync.rollback(n, { appliedBy: by });
    this.status.held = await this.source.revision().catch(() => undefined);
    this.status.appliedRevision = this.sync.appliedRevision;
    this.status.lastApplied = new Date();
    this.log.info({ version: result.version, rollbackOf: n, held: this.status.held }, 'rolled back');
    return result;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
  }

  private async check(reason: string): Promise<void> {
    try {
      const revision = await this.source.revision();
      this.status.lastCheck = new Date();
      if (revision === this.status.held) return;
      this.status.held = undefined;
      if (revision === this.sync.appliedRevision) {
        this.status.lastError = undefined;
        return;
      }
      const snapshot = await this.source.snapshot();
      const result = await this.sync.apply(snapshot, { appliedBy: `config-sync (${reason})` });
      this.status.appliedRevision = this.sync.appliedRevision;
      this.status.lastError = undefined;
      if (result.changed) {
        this.status.lastApplied = new Date();
        this.log.info(
          {
            version: result.version,
            revision: result.revision,
            commands: result.commands.length,
            ms: Math.round(result.durationMs),
          },
          'applied',
        );
      }
    } catch (err) {
      const e = err as { message?: string; code?: string };
      this.status.lastError = { message: e.message ?? String(err), code: e.code, at: new Date() };
      this.errors.report(err, { msg: 'sync failed', reason });
    }
  }
}
