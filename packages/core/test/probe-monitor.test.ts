import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type Logger,
  type MonitorTransition,
  type Probe,
  ProbeMonitor,
  type ProbeMonitorOptions,
  type ProbeResult,
  ProbeTimeoutError,
  synchPolicy,
} from '../src/index.js';

/**
 * A probe following a script, one letter per call: S success, F failure (the peer answered 503), E error (it
 * threw), H hangs until aborted, I ignores its abort and never settles.
 */
function scripted(script: string): Probe & { signals: AbortSignal[] } {
  let i = 0;
  const signals: AbortSignal[] = [];
  const probe = (signal: AbortSignal) => {
    signals.push(signal);
    const step = script[i++] ?? script.at(-1);
    switch (step) {
      case 'S':
        return Promise.resolve({ ok: true, detail: '200 OK' });
      case 'F':
        return Promise.resolve({ ok: false, detail: '503 Service Unavailable' });
      case 'E':
        return Promise.reject(new Error('ECONNRESET'));
      case 'H':
        return new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      default:
        return new Promise<never>(() => {});
    }
  };
  return Object.assign(probe, { signals });
}

const INTERVAL = 1_000;
const TIMEOUT = 800;

function monitorFor(script: string, options: Partial<ProbeMonitorOptions> = {}) {
  const probe = scripted(script);
  const monitor = new ProbeMonitor({
    probe,
    intervalMs: INTERVAL,
    timeoutMs: TIMEOUT,
    policy: synchPolicy({ failureTolerance: 3, aliveThreshold: 3, errorPenaltyPoints: 1 }),
    ...options,
  });
  const results: ProbeResult[] = [];
  const transitions: MonitorTransition[] = [];
  const switches: Array<[string, number]> = [];
  monitor.on('probe', (r) => results.push(r));
  monitor.on('transition', (t) => transitions.push(t));
  monitor.on('failover', (t) => switches.push(['failover', t.at.getTime()]));
  monitor.on('fallback', (t) => switches.push(['fallback', t.at.getTime()]));
  return { monitor, probe, results, transitions, switches };
}

const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);

describe('ProbeMonitor on a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('probes at start and every interval, and reports each transition with its time, counters and reason', async () => {
    const { monitor, transitions, switches, results } = monitorFor('FFFSSS');
    monitor.start();
    await vi.advanceTimersByTimeAsync(5 * INTERVAL);
    monitor.stop();

    expect(results.map((r) => r.outcome)).toEqual([
      'failure',
      'failure',
      'failure',
      'success',
      'success',
      'success',
    ]);
    expect(results.map((r) => r.at.getTime() - T0)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(transitions.map((t) => `${t.from}>${t.to}`)).toEqual([
      'Init>Unstable',
      'Unstable>Failed',
      'Failed>Unstable',
      'Unstable>Stable',
    ]);
    expect(transitions[1]).toMatchObject({
      monitor: 'main',
      previousTarget: 'Init',
      target: 'Failover',
      switched: 'failover',
      succeed: 0,
      failed: 3,
      outcome: 'failure',
      reason: '503 Service Unavailable',
    });
    expect(transitions[1]?.at.getTime()).toBe(T0 + 2 * INTERVAL);
    expect(transitions[2]).toMatchObject({ switched: undefined, target: 'Failover', succeed: 1, failed: 3 });
    expect(switches).toEqual([
      ['failover', T0 + 2 * INTERVAL],
      ['fallback', T0 + 5 * INTERVAL],
    ]);
    expect(monitor.snapshot).toEqual({ state: 'Stable', target: 'Normal', succeed: 3, failed: 0 });
  });

  it('aborts a probe at timeoutMs and counts it as an error', async () => {
    const { monitor, probe, results } = monitorFor('H');
    monitor.start();
    await vi.advanceTimersByTimeAsync(TIMEOUT - 1);
    expect(results).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    monitor.stop();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      outcome: 'error',
      durationMs: TIMEOUT,
      reason: 'probe timed out after 800 ms',
    });
    expect(results[0]?.error).toBeInstanceOf(ProbeTimeoutError);
    expect(probe.signals[0]?.aborted).toBe(true);
    expect(probe.signals[0]?.reason).toMatchObject({ code: 'PROBE_TIMEOUT', timeoutMs: TIMEOUT });
  });

  it('a tick that finds the previous probe still running counts as an error, so a black hole fails over in two ticks', async () => {
    // Synch skips such ticks and waits for the OS connect timeout; here tolerance 3, penalty 1: timeout (2) + overlap (4).
    const { monitor, results, switches } = monitorFor('I');
    monitor.start();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    monitor.stop();
    expect(results.map((r) => r.error && (r.error as { code?: string }).code)).toEqual([
      'PROBE_TIMEOUT',
      'PROBE_OVERLAP',
    ]);
    expect(results[1]?.durationMs).toBeUndefined();
    expect(switches).toEqual([['failover', T0 + INTERVAL]]);
  });

  it('stop() aborts the running probe, ignores its late result and leaves no timer', async () => {
    const { monitor, probe, results } = monitorFor('H');
    monitor.start();
    await vi.advanceTimersByTimeAsync(100);
    monitor.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(probe.signals[0]?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(results).toEqual([]);
    expect(probe.signals).toHaveLength(1);
    expect(monitor.running).toBe(false);
    expect(monitor.state).toBe('Init');
  });

  it('stops when its AbortSignal fires, leaving no timer', async () => {
    const controller = new AbortController();
    const { monitor, probe } = monitorFor('S', { signal: controller.signal });
    monitor.start();
    await vi.advanceTimersByTimeAsync(2 * INTERVAL);
    controller.abort();
    expect(monitor.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(probe.signals).toHaveLength(3);
    monitor.start(); // an aborted signal keeps it stopped
    expect(monitor.running).toBe(false);
  });

  it('a listener that throws is logged, and the monitor goes on', async () => {
    const errors: unknown[] = [];
    const logger = quietLogger((obj) => errors.push(obj));
    const { monitor, results } = monitorFor('FFF', { logger });
    monitor.on('probe', () => {
      throw new Error('listener bug');
    });
    monitor.start();
    await vi.advanceTimersByTimeAsync(2 * INTERVAL);
    monitor.stop();
    expect(results).toHaveLength(3);
    expect(monitor.state).toBe('Failed');
    expect(errors).toHaveLength(3);
  });

  it('a probe that throws synchronously or resolves no verdict counts as an error, not a crash', async () => {
    let calls = 0;
    const monitor = new ProbeMonitor({
      probe: (() => {
        calls++;
        if (calls === 1) throw new Error('sync throw');
        return Promise.resolve(undefined);
      }) as unknown as Probe,
      intervalMs: INTERVAL,
    });
    const results: ProbeResult[] = [];
    monitor.on('probe', (r) => results.push(r));
    monitor.start();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    monitor.stop();
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['error', 'sync throw'],
      ['error', 'the probe resolved without a verdict'],
    ]);
  });

  it('exports latency, errors, state and transitions under the namespace the caller chose', async () => {
    const registry = new Registry();
    const { monitor } = monitorFor('SHFF', { registry, metricsNamespace: 'branch', name: 'hq' });
    monitor.start();
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    monitor.stop();
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_branch_monitor_state{monitor="hq",state="Failed"} 1');
    expect(text).toContain('pbxkit_branch_monitor_state{monitor="hq",state="Unstable"} 0');
    expect(text).toContain(
      'pbxkit_branch_monitor_transitions_total{monitor="hq",from="Unstable",to="Failed"} 1',
    );
    expect(text).toContain('pbxkit_branch_probe_errors_total{monitor="hq",reason="timeout"} 1');
    expect(text).toContain('pbxkit_branch_probe_duration_seconds_count{monitor="hq",outcome="failure"} 2');
    expect(text).toMatch(/pbxkit_branch_probe_duration_seconds_sum\{monitor="hq",outcome="error"\} 0\.8\b/);
  });

  it('refuses a timeout that is not below the interval', () => {
    const probe = scripted('S');
    expect(() => new ProbeMonitor({ probe, intervalMs: 1000, timeoutMs: 1000 })).toThrow(
      expect.objectContaining({ code: 'PROBE_OPTIONS' }),
    );
    expect(new ProbeMonitor({ probe, intervalMs: 5000 }).timeoutMs).toBe(4000);
  });

  it('property: failover/fallback fire only on entering Failed/Stable, never from Init or Unstable', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.stringMatching(/^[SFEH]{1,40}$/),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        async (script, tolerance, alive) => {
          const probe = scripted(script);
          const monitor = new ProbeMonitor({
            probe,
            intervalMs: INTERVAL,
            timeoutMs: TIMEOUT,
            policy: synchPolicy({ failureTolerance: tolerance, aliveThreshold: alive }),
          });
          const seen: string[] = [];
          let target = monitor.target;
          monitor.on('transition', (t) => {
            if (t.to === 'Init' || t.to === 'Unstable') expect(t.target).toBe(target);
            if (t.target !== target) seen.push(`${t.switched}:${t.to}`);
            target = t.target;
          });
          monitor.on('failover', (t) => seen.push(`failover-event:${t.to}`));
          monitor.on('fallback', (t) => seen.push(`fallback-event:${t.to}`));
          monitor.start();
          await vi.advanceTimersByTimeAsync(script.length * INTERVAL);
          monitor.stop();
          for (let i = 0; i < seen.length; i += 2) {
            const [change, event] = [seen[i], seen[i + 1]];
            expect([change, event]).toSatisfy(
              ([c, e]) =>
                (c === 'failover:Failed' && e === 'failover-event:Failed') ||
                (c === 'fallback:Stable' && e === 'fallback-event:Stable'),
            );
          }
          expect(monitor.target).toBe(target);
        },
      ),
      { numRuns: 150 },
    );
  });
});

function quietLogger(onError: (obj: unknown) => void): Logger {
  const noop = () => {};
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: (obj: unknown) => onError(obj),
    fatal: noop,
    child: () => logger,
  };
  return logger;
}
