import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricsFactory } from '../metrics.js';
import { MONITOR_STATES, type MonitorState, type ProbeOutcome } from './states.js';

/** The probe monitor's Prometheus metrics, all labelled with the monitor's name. */
export class MonitorMetrics {
  private readonly latency: Histogram<'monitor' | 'outcome'>;
  private readonly errors: Counter<'monitor' | 'reason'>;
  private readonly state: Gauge<'monitor' | 'state'>;
  private readonly transitions: Counter<'monitor' | 'from' | 'to'>;

  constructor(
    private readonly monitor: string,
    namespace: string,
    registry: Registry | undefined,
  ) {
    const metrics = new MetricsFactory(namespace, registry);
    this.latency = metrics.histogram({
      what: 'probe_duration',
      unit: 'seconds',
      help: 'Time each probe took to answer (a timed-out probe counts its timeout), by outcome',
      labelNames: ['monitor', 'outcome'],
    });
    this.errors = metrics.counter({
      what: 'probe_errors',
      unit: 'total',
      help: 'Probes that got no answer, by reason (timeout, overlap, unreachable, threw)',
      labelNames: ['monitor', 'reason'],
    });
    this.state = metrics.gauge({
      what: 'monitor',
      unit: 'state',
      help: 'The probe monitor state: 1 for the current one, 0 for the others',
      labelNames: ['monitor', 'state'],
    });
    this.transitions = metrics.counter({
      what: 'monitor_transitions',
      unit: 'total',
      help: 'Probe monitor state changes',
      labelNames: ['monitor', 'from', 'to'],
    });
    this.setState('Init');
  }

  observe(outcome: ProbeOutcome, seconds: number): void {
    this.latency.observe({ monitor: this.monitor, outcome }, seconds);
  }

  error(reason: string): void {
    this.errors.inc({ monitor: this.monitor, reason });
  }

  transition(from: MonitorState, to: MonitorState): void {
    this.transitions.inc({ monitor: this.monitor, from, to });
    this.setState(to);
  }

  private setState(current: MonitorState): void {
    for (const state of MONITOR_STATES) {
      this.state.set({ monitor: this.monitor, state }, state === current ? 1 : 0);
    }
  }
}
