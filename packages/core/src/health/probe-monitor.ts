import { performance } from 'node:perf_hooks';
import { AbortError, isPbxkitError } from '../errors.js';
import { TypedEmitter } from '../events.js';
import { type Logger, resolveLogger } from '../logger.js';
import type { MetricsOptions } from '../metrics.js';
import { ProbeError, ProbeTimeoutError } from './errors.js';
import { MonitorMetrics } from './monitor-metrics.js';
import { advanceHealth, type HealthPolicy, synchPolicy } from './policy.js';
import type { Probe, ProbeVerdict } from './probe.js';
import {
  type HealthSnapshot,
  INITIAL_HEALTH,
  type MonitorState,
  type ProbeOutcome,
  type ServiceState,
} from './states.js';

/** Options of {@link ProbeMonitor}. */
export interface ProbeMonitorOptions extends MetricsOptions {
  /** The health check to run (`tcpConnectProbe`, `sipOptionsProbe`, `amiPingProbe` from `@pbxkit/ami`, yours). */
  probe: Probe;
  /** Time between probe starts, in ms. */
  intervalMs: number;
  /**
   * Hard limit of one probe, in ms; must be below `intervalMs`. A probe still running then is aborted and
   * counted as an error. Default 80% of `intervalMs`.
   */
  timeoutMs?: number;
  /** How outcomes become states. Default `synchPolicy()` (Synch's rule and defaults). */
  policy?: HealthPolicy;
  /** Names this monitor in logs, events and the `monitor` label of its metrics. Default `main`. */
  name?: string;
  /**
   * The `<namespace>` of the metric names, `pbxkit_<namespace>_probe_duration_seconds` and so on. Default
   * `core`; a daemon names its own (`branch` gives `pbxkit_branch_...`). snake_case.
   */
  metricsNamespace?: string;
  /** Stops the monitor when it fires, as `stop()` does. */
  signal?: AbortSignal;
  /** pino-compatible logger; silent by default. */
  logger?: Logger;
  /** The clock of event timestamps, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** One probe's result (or one tick that found the previous probe still running). */
export interface ProbeResult {
  monitor: string;
  outcome: ProbeOutcome;
  /** What happened, for people: the verdict's detail, or the error's message. */
  reason: string;
  at: Date;
  /** How long the probe took; absent for a tick that found the previous probe still running. */
  durationMs?: number;
  /** The error of an `error` outcome. */
  error?: Error;
}

/** A change of the monitor's state, with what caused it. */
export interface MonitorTransition {
  monitor: string;
  from: MonitorState;
  to: MonitorState;
  previousTarget: ServiceState;
  target: ServiceState;
  /** `failover` when this change moved the target to `Failover`, `fallback` when back to `Normal`. */
  switched: 'failover' | 'fallback' | undefined;
  /** The policy's counters after this outcome. */
  succeed: number;
  failed: number;
  /** The probe outcome that caused the change, and its reason. */
  outcome: ProbeOutcome;
  reason: string;
  at: Date;
}

/** Events of {@link ProbeMonitor}. */
export interface ProbeMonitorEvents {
  /** After every probe, and every tick that found the previous probe still running. */
  probe: (result: ProbeResult) => void;
  /** The state changed. */
  transition: (transition: MonitorTransition) => void;
  /** The target moved to `Failover` (the monitor entered `Failed`). */
  failover: (transition: MonitorTransition) => void;
  /** The target moved back to `Normal` (the monitor entered `Stable` after a failover). */
  fallback: (transition: MonitorTransition) => void;
}

interface Flight {
  readonly controller: AbortController;
  timer: NodeJS.Timeout | undefined;
  /** Counted already (answered, timed out, or stopped): a late settlement is ignored. */
  done: boolean;
}

/**
 * Runs a probe every `intervalMs` (the first at `start()`), each with a hard `timeoutMs`, and turns the outcomes
 * into a state (`Init`, `Unstable`, `Failed`, `Stable`) through a policy (Synch's by default). Entering `Failed`
 * switches the target to `Failover` and emits `failover`; entering `Stable` switches it to `Normal` and emits
 * `fallback` (when it was not `Normal` already). `Init` and `Unstable` never switch.
 *
 * Unlike Synch, a tick that finds the previous probe still running (one that ignores its abort signal) counts
 * as an error instead of being skipped, so a black-holed peer is noticed within the policy's thresholds, not
 * after the operating system's connect timeout.
 *
 * Metrics: `pbxkit_<ns>_probe_duration_seconds{monitor,outcome}`, `pbxkit_<ns>_probe_errors_total{monitor,reason}`,
 * `pbxkit_<ns>_monitor_state{monitor,state}` (1 for the current state), `pbxkit_<ns>_monitor_transitions_total
 * {monitor,from,to}`, where `<ns>` is `metricsNamespace` (default `core`).
 *
 * @example
 * ```ts
 * const monitor = new ProbeMonitor({ probe: tcpConnectProbe({ host: '10.0.0.254', port: 5060 }), intervalMs: 5_000 });
 * monitor.on('failover', (t) => console.log('main PBX lost:', t.reason));
 * monitor.on('fallback', () => console.log('main PBX back'));
 * monitor.start();
 * ```
 */
export class ProbeMonitor extends TypedEmitter<ProbeMonitorEvents> {
  readonly name: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly policy: HealthPolicy;
  private readonly probe: Probe;
  private readonly log: Logger;
  private readonly metrics: MonitorMetrics;
  private readonly now: () => number;
  private readonly signal: AbortSignal | undefined;
  private health: HealthSnapshot = INITIAL_HEALTH;
  private ticker: NodeJS.Timeout | undefined;
  private flight: Flight | undefined;
  private readonly onAbort = (): void => this.stop();

  constructor(options: ProbeMonitorOptions) {
    super();
    if (typeof options.probe !== 'function')
      throw new ProbeError('PROBE_OPTIONS', 'probe must be a function');
    if (!(Number.isFinite(options.intervalMs) && options.intervalMs > 0)) {
      throw new ProbeError(
        'PROBE_OPTIONS',
        `intervalMs must be a positive number, got ${options.intervalMs}`,
      );
    }
    const timeoutMs = options.timeoutMs ?? Math.max(1, Math.floor(options.intervalMs * 0.8));
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0 && timeoutMs < options.intervalMs)) {
      throw new ProbeError(
        'PROBE_OPTIONS',
        `timeoutMs must be positive and below intervalMs (${options.intervalMs}), got ${timeoutMs}`,
      );
    }
    this.name = options.name ?? 'main';
    this.intervalMs = options.intervalMs;
    this.timeoutMs = timeoutMs;
    this.policy = options.policy ?? synchPolicy();
    this.probe = options.probe;
    this.signal = options.signal;
    this.now = options.now ?? Date.now;
    this.log = resolveLogger(options.logger, { component: 'probe-monitor', monitor: this.name });
    this.metrics = new MonitorMetrics(this.name, options.metricsNamespace ?? 'core', options.registry);
  }

  /** The current state. */
  get state(): MonitorState {
    return this.health.state;
  }

  /** Where traffic should go: `Init` until the first decision, then `Normal` or `Failover`. */
  get target(): ServiceState {
    return this.health.target;
  }

  /** State, target and the policy's counters. */
  get snapshot(): HealthSnapshot {
    return { ...this.health };
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.ticker !== undefined;
  }

  /** Runs a probe now and then every `intervalMs`. Does nothing if running, or if `signal` already fired. */
  start(): void {
    if (this.ticker || this.signal?.aborted) return;
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.ticker = setInterval(() => this.tick(), this.intervalMs);
    this.log.info(
      { intervalMs: this.intervalMs, timeoutMs: this.timeoutMs, policy: this.policy.name },
      'started',
    );
    this.tick();
  }

  /**
   * Stops probing: clears the interval, aborts the running probe (its late result is ignored) and leaves no
   * timer behind. State and counters are kept; `start()` continues from them.
   */
  stop(): void {
    if (!this.ticker) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
    const flight = this.flight;
    if (flight && !flight.done) {
      flight.done = true;
      clearTimeout(flight.timer);
      flight.controller.abort(new AbortError('probe monitor stopped'));
    }
    this.log.info('stopped');
  }

  private tick(): void {
    if (this.flight) {
      const err = new ProbeError('PROBE_OVERLAP', 'the previous probe is still running');
      this.count('error', err.message, undefined, err);
      return;
    }
    const flight: Flight = { controller: new AbortController(), timer: undefined, done: false };
    this.flight = flight;
    const started = performance.now();
    flight.timer = setTimeout(() => {
      if (flight.done) return;
      flight.done = true;
      const err = new ProbeTimeoutError(this.timeoutMs);
      flight.controller.abort(err);
      this.count('error', err.message, this.timeoutMs, err);
    }, this.timeoutMs);
    let answer: Promise<ProbeVerdict>;
    try {
      answer = Promise.resolve(this.probe(flight.controller.signal));
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (verdict) => this.settle(flight, started, verdict, undefined),
      (err: unknown) => this.settle(flight, started, undefined, err),
    );
  }

  private settle(flight: Flight, started: number, verdict: ProbeVerdict | undefined, err: unknown): void {
    clearTimeout(flight.timer);
    if (this.flight === flight) this.flight = undefined;
    if (flight.done) return;
    flight.done = true;
    const ms = performance.now() - started;
    if (err !== undefined) {
      const error = err instanceof Error ? err : new ProbeError('PROBE_BAD_RESPONSE', String(err));
      this.count('error', error.message, ms, error);
    } else if (typeof verdict?.ok !== 'boolean') {
      const error = new ProbeError('PROBE_BAD_RESPONSE', 'the probe resolved without a verdict');
      this.count('error', error.message, ms, error);
    } else {
      const reason = verdict.detail ?? (verdict.ok ? 'ok' : 'failed');
      this.count(verdict.ok ? 'success' : 'failure', reason, ms);
    }
  }

  private count(outcome: ProbeOutcome, reason: string, durationMs: number | undefined, error?: Error): void {
    if (durationMs !== undefined) this.metrics.observe(outcome, durationMs / 1000);
    if (error) this.metrics.error(errorReason(error));
    const at = new Date(this.now());
    const log = { outcome, reason, durationMs, err: error };
    if (outcome === 'success') this.log.debug(log, 'probe');
    else this.log.warn(log, 'probe');
    this.safeEmit('probe', { monitor: this.name, outcome, reason, at, durationMs, error });

    const before = this.health;
    const after = advanceHealth(this.policy, before, outcome);
    this.health = after;
    if (after.state === before.state) return;
    const switched =
      after.target === before.target ? undefined : after.target === 'Failover' ? 'failover' : 'fallback';
    const transition: MonitorTransition = {
      monitor: this.name,
      from: before.state,
      to: after.state,
      previousTarget: before.target,
      target: after.target,
      switched,
      succeed: after.succeed,
      failed: after.failed,
      outcome,
      reason,
      at,
    };
    this.metrics.transition(before.state, after.state);
    const fields = { from: before.state, to: after.state, target: after.target, reason };
    if (switched === 'failover') this.log.warn(fields, 'failing over');
    else this.log.info(fields, switched === 'fallback' ? 'falling back' : 'state changed');
    this.safeEmit('transition', transition);
    if (switched) this.safeEmit(switched, transition);
  }

  // A listener that throws must not stop the monitor (it runs inside a timer, where a throw would end the process).
  private safeEmit<E extends keyof ProbeMonitorEvents>(
    event: E,
    arg: Parameters<ProbeMonitorEvents[E]>[0],
  ): void {
    try {
      (this.emit as (e: E, a: unknown) => boolean)(event, arg);
    } catch (err) {
      this.log.error({ err, event }, 'a listener threw');
    }
  }
}

function errorReason(err: Error): string {
  if (isPbxkitError(err, 'PROBE_TIMEOUT')) return 'timeout';
  if (isPbxkitError(err, 'PROBE_OVERLAP')) return 'overlap';
  if (isPbxkitError(err, 'PROBE_UNREACHABLE')) return 'unreachable';
  return 'threw';
}
