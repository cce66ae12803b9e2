import type { MetricsOptions } from '@pbxkit/core';
import { MetricsFactory } from '@pbxkit/core';

type Observe = { observe(value: number): void };
type Collectable = { collect?: (this: unknown) => void | Promise<void> };

// Events are counted in a plain map and handed to prom-client when the registry is read: an `inc` per
// event would hash its labels each time, a measurable share of the event path. The map belongs to the
// counter, so clients sharing a registry share it, and nothing is registered per client.
const eventCounts = new WeakMap<object, Map<string, number>>();

function pendingEventCounts(counter: {
  inc(labels: { event: string }, value: number): void;
}): Map<string, number> {
  let counts = eventCounts.get(counter);
  if (!counts) {
    const pending = new Map<string, number>();
    counts = pending;
    eventCounts.set(counter, pending);
    const target = counter as unknown as Collectable;
    const previous = target.collect;
    target.collect = function collect(this: unknown) {
      for (const [event, n] of pending) counter.inc({ event }, n);
      pending.clear();
      return previous?.call(this);
    };
  }
  return counts;
}

/**
 * The client's Prometheus series:
 * - `pbxkit_ami_actions_total{action,result}`: actions answered (`success`, `error`, `timeout`, `disconnected`)
 * - `pbxkit_ami_action_duration_seconds{action}`: time from write to answer
 * - `pbxkit_ami_events_total{event}`: events received, by name
 * - `pbxkit_ami_reconnects_total`: successful reconnections
 *
 * Event counts reach prom-client when the registry is read, so the per-event cost is one map update.
 */
export class AmiMetrics {
  private readonly actions;
  private readonly duration;
  private readonly events;
  private readonly reconnects;
  private readonly eventCounts: Map<string, number>;
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
    this.eventCounts = pendingEventCounts(this.events);
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
    this.eventCounts.set(name, (this.eventCounts.get(name) ?? 0) + 1);
  }

  reconnected(): void {
    this.reconnects.inc();
  }
}
