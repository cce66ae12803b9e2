import { statfs } from 'node:fs/promises';
import type { CdrDispatcher, ErrorSummary, SinkStats } from '@pbxkit/cdr';
import { redactText, TimeoutError } from '@pbxkit/core';
import type { ArchiverStatus, HealthStatus, Storage } from '@pbxkit/storage';

/** The error of a part, as `/health` shows it: no path, no password. */
export interface PublicError {
  name: string;
  code?: string;
  message: string;
  at?: string;
}

/** One sink of the dispatcher, as `/health` shows it. */
export interface SinkReport {
  ok: boolean;
  /** `up`, or `down` while it cannot be reached (see `SinkStats.state`). */
  state: 'up' | 'down';
  since: string;
  /** CDRs waiting for it, and the age of the oldest in ms. */
  depth: number;
  lagMs: number;
  consecutiveFailures: number;
  /** CDRs it refused for good, waiting in `dead/<sink>/` for an operator. */
  deadLetters: number;
  lastError?: PublicError & { transient: boolean };
}

/** What `GET /health` answers (200 unless `status` is `down`, then 503). */
export interface HealthReport {
  /**
   * `down`: a part operators depend on does not work (the CDR store, the spool or its disk, a sink stuck past
   * the lag threshold, the local tier or S3, the archiver's last pass); `degraded`: something needs attention
   * but CDRs and recordings still flow (a sink down within the threshold, dead letters, a peer, files the
   * archiver kept); `ok`.
   */
  status: 'ok' | 'degraded' | 'down';
  /** One line per problem, most serious first. */
  problems: string[];
  cdrStore: {
    ok: boolean;
    state: 'up' | 'down';
    latencyMs: number;
    error?: PublicError;
    delivery: SinkReport;
  };
  sinks: Record<string, SinkReport>;
  spool: {
    ok: boolean;
    state: 'ok' | 'failing';
    /** CDRs in the spool: not yet stored by every sink, or not yet in the delivered-CDR archive. */
    backlog: number;
    freeBytes?: number;
    lastError?: PublicError;
  };
  storage: Array<{
    tier: string;
    ok: boolean;
    required: boolean;
    detail: string;
    latencyMs: number;
    freeBytes?: number;
    freeInodes?: number;
  }>;
  archiver?: ArchiverStatus & { ok: boolean };
  /** The delivered-CDR archive (for re-push), when on: `failing` keeps delivered CDRs in the spool. */
  cdrArchive?: { ok: boolean; state: 'ok' | 'failing'; lastError?: PublicError };
}

/** What the health check reads. */
export interface HealthSources {
  dispatcher: CdrDispatcher;
  /** The CDR store's sink name and a probe of it (`PostgresCdrSink.ping`). */
  store: { name: string; ping(): Promise<void> };
  /** The spool's directory, for free space. */
  spoolDir: string;
  storage: Pick<Storage, 'health' | 'archiver' | 'peers'>;
  maxLagMs: number;
  minFreeBytes: number;
  timeoutMs: number;
}

/**
 * Builds the whole-server health check: every part is asked at once, each within `timeoutMs` (a database or S3
 * that does not answer is down, not a hung request), and nothing in the answer names a path or a secret.
 */
export function createHealthCheck(sources: HealthSources): () => Promise<HealthReport> {
  return async () => {
    const { dispatcher, store, maxLagMs, timeoutMs } = sources;
    const problems: string[] = [];
    const severe: string[] = [];
    const dispatch = dispatcher.health();
    if (dispatch.status === 'stopped') severe.push('the CDR dispatcher is stopped');

    const [ping, tiers, free] = await Promise.all([
      settle(within(store.ping(), timeoutMs, 'the CDR store')),
      settle(within(sources.storage.health(), timeoutMs, 'storage health')),
      settle(within(statfs(sources.spoolDir), timeoutMs, 'statfs of the spool')),
    ]);

    const sinkReport = (name: string, s: SinkStats): SinkReport => {
      const stuck = s.lagMs > maxLagMs;
      if (stuck)
        severe.push(
          `sink ${name} is stuck: its oldest CDR waits for ${Math.round(s.lagMs / 1000)} s (threshold ${maxLagMs / 1000} s)`,
        );
      else if (s.state === 'down') problems.push(`sink ${name} is down since ${s.since.toISOString()}`);
      if (s.deadLetters > 0)
        problems.push(`sink ${name} has ${s.deadLetters} dead letters waiting for replay`);
      return {
        ok: !stuck,
        state: s.state,
        since: s.since.toISOString(),
        depth: s.depth,
        lagMs: s.lagMs,
        consecutiveFailures: s.consecutiveFailures,
        deadLetters: s.deadLetters,
        ...(s.lastError
          ? { lastError: { ...publicError(s.lastError), transient: s.lastError.transient } }
          : {}),
      };
    };

    const storeStats = dispatch.sinks[store.name];
    const delivery = storeStats ? sinkReport(store.name, storeStats) : undefined;
    if (!ping.ok) severe.unshift(`the CDR store is down: ${publicError(ping.error).message}`);
    const cdrStore: HealthReport['cdrStore'] = {
      ok: ping.ok && (delivery?.ok ?? true),
      state: ping.ok ? 'up' : 'down',
      latencyMs: ping.ms,
      ...(ping.ok ? {} : { error: publicError(ping.error) }),
      delivery: delivery as SinkReport,
    };
    const sinks: Record<string, SinkReport> = {};
    for (const [name, s] of Object.entries(dispatch.sinks))
      if (name !== store.name) sinks[name] = sinkReport(name, s);

    const freeBytes = free.ok ? free.value.bavail * free.value.bsize : undefined;
    const lowDisk = freeBytes !== undefined && freeBytes < sources.minFreeBytes;
    if (dispatch.spool.state === 'failing')
      severe.push('the spool cannot write (CDRs are refused or cannot be marked delivered)');
    if (lowDisk) severe.push(`the spool's disk has ${freeBytes} bytes free, below ${sources.minFreeBytes}`);
    const spool: HealthReport['spool'] = {
      ok: dispatch.spool.state === 'ok' && !lowDisk,
      state: dispatch.spool.state,
      backlog: dispatcher.spool.pendingIds().length,
      ...(freeBytes !== undefined ? { freeBytes } : {}),
      ...(dispatch.spool.lastError ? { lastError: publicError(dispatch.spool.lastError) } : {}),
    };

    let cdrArchive: HealthReport['cdrArchive'];
    if (dispatch.archive) {
      const failing = dispatch.archive.state === 'failing';
      if (failing)
        problems.push(
          'the delivered-CDR archive cannot write: delivered CDRs stay in the spool until it can',
        );
      cdrArchive = {
        ok: !failing,
        state: dispatch.archive.state,
        ...(dispatch.archive.lastError ? { lastError: publicError(dispatch.archive.lastError) } : {}),
      };
    }

    const peerNames = new Set(sources.storage.peers.map((p) => p.name));
    const storage: HealthReport['storage'] = tiers.ok
      ? tiers.value.map((h: HealthStatus) => {
          const required = !peerNames.has(h.backend);
          if (!h.ok)
            (required ? severe : problems).push(`storage tier ${h.backend}: ${redactText(h.detail)}`);
          return {
            tier: h.backend,
            ok: h.ok,
            required,
            detail: redactText(h.detail),
            latencyMs: Math.round(h.latencyMs),
            ...(h.freeBytes !== undefined ? { freeBytes: h.freeBytes } : {}),
            ...(h.freeInodes !== undefined ? { freeInodes: h.freeInodes } : {}),
          };
        })
      : [];
    if (!tiers.ok) severe.push(`storage: ${publicError(tiers.error).message}`);

    let archiver: HealthReport['archiver'];
    if (sources.storage.archiver) {
      const status = sources.storage.archiver.status();
      const last = status.lastRun;
      if (last?.result === 'failed')
        severe.push(`the archiver's last pass failed: ${redactText(last.error ?? '')}`);
      if (last?.result === 'partial')
        problems.push(`the archiver's last pass kept ${last.failed} files it could not archive`);
      archiver = {
        ...status,
        ...(last?.error ? { lastRun: { ...last, error: redactText(last.error) } } : {}),
        ok: last?.result !== 'failed',
      };
    }

    return {
      status: severe.length > 0 ? 'down' : problems.length > 0 ? 'degraded' : 'ok',
      problems: [...severe, ...problems],
      cdrStore,
      sinks,
      spool,
      storage,
      ...(archiver ? { archiver } : {}),
      ...(cdrArchive ? { cdrArchive } : {}),
    };
  };
}

function publicError(err: unknown): PublicError {
  if (err && typeof err === 'object' && 'at' in err && (err as ErrorSummary).at instanceof Date) {
    const e = err as ErrorSummary;
    return {
      name: e.name,
      ...(e.code ? { code: e.code } : {}),
      message: redactText(e.message),
      at: e.at.toISOString(),
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  // AggregateError (pg's connection to every address failed) has an empty message: show its first error's.
  const inner = (e as { errors?: unknown[] }).errors?.[0];
  const message = e.message || (inner instanceof Error ? inner.message : '') || e.name;
  return { name: e.name, ...(typeof code === 'string' ? { code } : {}), message: redactText(message) };
}

type Settled<T> = { ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number };

async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  const started = performance.now();
  try {
    const value = await promise;
    return { ok: true, value, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, error, ms: Math.round(performance.now() - started) };
  }
}

/** `promise`, or a rejection after `ms`; the late promise's outcome is observed and dropped. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not answer within ${ms} ms`, ms)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
