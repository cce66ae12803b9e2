import type { MetricsOptions } from '@pbxkit/core';
import { MetricsFactory } from '@pbxkit/core';

type Inc = { inc(value?: number): void };
type Observe = { observe(value: number): void };

/**
 * The client's Prometheus series:
 * - `pbxkit_ami_actions_total{action,result}`: actions answered (`success`, `error`, `timeout`, `disconnected`)
 * - `pbxkit_ami_action_duration_seconds{action}`: time from write to answer
 * - `pbxkit_ami_events_total{event}`: events received, by name
 * - `pbxkit_ami_reconnects_total`: successful reconnections
 *
 * Label children are cached, so the per-event cost is one map lookup and an increment.
 */
export class AmiMetrics {
  private readonly actions;
  private readonly duration;
  private readonly events;
  private readonly reconnects;
  private readonly eventChildren = new Map<string, Inc>();
  private readonly durationChildren = new Map<string, Observe>();

  constructor(options: MetricsOptions) {
    const factory = new MetricsFactory('ami', options.registry);
    this.actions = factory.counter({
      what: 'actions',
      unit: 'total',
      help: 'AMI actions answered, by action and result',
      labelNames: ['action', 'result'],
    });
    this.duration = factory.histogram({
      what: 'action_duration',
      unit: 'seconds',
      help: 'Time from sending an AMI action to its answer',
      labelNames: ['action'],
    });
    this.events = factory.counter({
      what: 'events',
      unit: 'total',
      help: 'AMI events received, by event name',
      labelNames: ['event'],
    });
    this.reconnects = factory.counter({
      what: 'reconnects',
      unit: 'total',
      help: 'Successful AMI reconnections after a lost connection',
    });
  }

  action(action: string, result: string, seconds: number): void {
    this.actions.inc({ action, result });
    let child = this.durationChildren.get(action);
    if (!child) {
      child = this.duration.labels({ action });
      this.durationChildren.set(action, child);
    }
    child.observe(seconds);
  }

  event(name: string): void {
    let child = this.eventChildren.get(name);
    if (!child) {
      child = this.events.labels({ event: name });
      this.eventChildren.set(name, child);
    }
    child.inc();
  }

  reconnected(): void {
    this.reconnects.inc();
  }
}
