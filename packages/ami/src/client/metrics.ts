import type { MetricsOptions } from '@pbxkit/core';
import { MetricsFactory } from '@pbxkit/core';
import { batchedCounter } from './batched-counter.js';

type Observe = { observe(value: number): void };
type Count = (key: string, labelsOf: (key: string) => Record<string, string>) => void;

// Label builders that capture nothing, so counting allocates no closure.
const eventLabels = (key: string) => ({ event: key });
const actionLabels = (key: string) => {
  const cut = key.indexOf('\u0000');
  return { action: key.slice(0, cut), result: key.slice(cut + 1) };
};

/**
 * The client's Prometheus series:
 * - `pbxkit_ami_actions_total{action,result}`: actions answered (`success`, `error`, `timeout`, `disconnected`)
 * - `pbxkit_ami_action_duration_seconds{action}`: time from write to answer
 * - `pbxkit_ami_events_total{event}`: events received, by name
 * - `pbxkit_ami_reconnects_total`, `pbxkit_ami_connection_up`: kept by core's `ConnectionLifecycle`
 *
 * Counts reach prom-client when the registry is read (see `batchedCounter`), so counting an event or an
 * action costs one map update.
 */
export class AmiMetrics {
  private readonly actions;
  private readonly duration;
  private readonly events;
  private readonly countEvent: Count;
  private readonly countAction: Count;
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
    this.countEvent = batchedCounter(this.events);
    this.countAction = batchedCounter(this.actions);
  }

  action(action: string, result: string, seconds: number): void {
    this.countAction(`${action}\u0000${result}`, actionLabels);
    let child = this.durationChildren.get(action);
    if (!child) {
      child = this.duration.labels({ action });
      this.durationChildren.set(action, child);
    }
    child.observe(seconds);
  }

  event(name: string): void {
    this.countEvent(name, eventLabels);
  }
}
