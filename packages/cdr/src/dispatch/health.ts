/** An error as health reports show it: enough to tell what went wrong and when, JSON-friendly. */
export interface ErrorSummary {
  /** The error's class name (`DatabaseError`, `HttpForwardError`, `CdrSpoolError`, ...). */
  name: string;
  message: string;
  /** Its `code` (a SQLSTATE, `ECONNREFUSED`, `CDR_FORWARD_FAILED`, ...), when it has one. */
  code?: string;
  /** When it happened. */
  at: Date;
}

/** Per-sink figures, as {@link CdrDispatcher.stats} reports them. */
export interface SinkStats {
  /** Entries waiting or in flight for the sink. */
  depth: number;
  inFlight: number;
  /** Age in ms of the oldest entry the sink has not stored yet (0 when none). */
  lagMs: number;
  /**
   * `down` from a write that failed because the sink could not be reached or used (see `CdrSink.isTransient`)
   * until a write succeeds again; `up` otherwise. A sink that refuses records (data errors) stays `up`.
   */
  state: 'up' | 'down';
  /** Since when the sink is in `state` (for a sink that never went down: when the dispatcher was created). */
  since: Date;
  /** The last failed write, of either kind (`transient` tells which), until the next one; kept after recovery. */
  lastError: (ErrorSummary & { transient: boolean }) | undefined;
  /** Failed writes since the last successful one. */
  consecutiveFailures: number;
  /** Entries this dispatcher dead-lettered for the sink since it was created. */
  deadLettered: number;
  /**
   * Dead letters of the sink in the spool (`dead/<sink>/`, any run's), waiting for an operator to replay them:
   * non-zero means CDRs this sink does not have.
   */
  deadLetters: number;
}

/** Kinds of the errors the dispatcher reports itself (the `kind` label of `pbxkit_cdr_dispatcher_errors_total`). */
export type DispatcherErrorKind =
  /** A sink's journal line could not be written (`state/<sink>.done`): retried until it is. */
  | 'journal'
  /** A dead letter could not be written (`dead/<sink>/`): retried until it is. */
  | 'dead_letter'
  /** An entry could not be read from the spool (an I/O error, not a bad CDR): retried until it can. */
  | 'read'
  /** A delivered entry could not be removed from the spool. */
  | 'remove'
  /** An entry was in the spool but in no sink's queue, and was put back (see `reconcileIntervalMs`). */
  | 'lost_entry'
  /** A delivered entry could not be archived (`CdrDispatcherOptions.archive`): it stays in the spool, retried. */
  | 'archive'
  /** Anything else: a bug. */
  | 'internal';

/** The state of the spool as the dispatcher sees it when writing to it. */
export interface SpoolHealth {
  /** `failing` from a failed spool write or read (disk full, I/O error) until one succeeds again. */
  state: 'ok' | 'failing';
  since: Date;
  lastError: ErrorSummary | undefined;
}

/**
 * What {@link CdrDispatcher.health} returns: everything a `/health` endpoint needs to say whether CDRs flow.
 *
 * @example
 * ```ts
 * const health = dispatcher.health();
 * res.writeHead(health.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
 * res.end(JSON.stringify(health)); // dates become ISO strings
 * ```
 */
export interface CdrDispatcherHealth {
  /**
   * `ok`: running, every sink `up` with its last write stored, and the spool writing. `degraded`: running, but a
   * sink is `down`, or its last write failed and entries wait for it (`consecutiveFailures` > 0 and `depth` > 0:
   * it is refusing a record, or failing in a way it does not classify), or the spool is `failing`; CDRs are kept and wait, and flow again on their own
   * once the cause is gone. `stopped`: not started, or stopped. Dead letters do not change it: they are reported
   * per sink (`deadLetters`).
   */
  status: 'ok' | 'degraded' | 'stopped';
  /** Per sink: queue, lag, state, last error, dead letters. */
  sinks: Record<string, SinkStats>;
  spool: SpoolHealth;
  /**
   * With an archive (`CdrDispatcherOptions.archive`): `failing` from a failed archive write (disk full) until one
   * succeeds; delivered CDRs then stay in the spool. Makes `status` `degraded`.
   */
  archive?: SpoolHealth;
  /** Errors the dispatcher reported (logged, counted, emitted as `error`) since it was created, per kind. */
  errors: Partial<Record<DispatcherErrorKind, number>>;
}

/** An error as an {@link ErrorSummary}. */
export function summarizeError(err: unknown, at = new Date()): ErrorSummary {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}), at };
}

/** The changing part of a sink's {@link SinkStats}, kept by the dispatcher. */
export class SinkHealth {
  state: 'up' | 'down' = 'up';
  since = new Date();
  lastError: (ErrorSummary & { transient: boolean }) | undefined;
  consecutiveFailures = 0;
  deadLettered = 0;

  /** Records a failed write; true when it took the sink down. */
  failed(err: unknown, transient: boolean): boolean {
    const at = new Date();
    this.consecutiveFailures++;
    this.lastError = { ...summarizeError(err, at), transient };
    if (!transient || this.state === 'down') return false;
    this.state = 'down';
    this.since = at;
    return true;
  }

  /** Records a successful write; the milliseconds the sink was down when this brought it back up, else -1. */
  succeeded(): number {
    this.consecutiveFailures = 0;
    if (this.state === 'up') return -1;
    const now = new Date();
    const downMs = now.getTime() - this.since.getTime();
    this.state = 'up';
    this.since = now;
    return downMs;
  }
}
