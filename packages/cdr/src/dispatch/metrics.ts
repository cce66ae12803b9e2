import { MetricsFactory, type Registry } from '@pbxkit/core';

/** The dispatcher's metrics (`pbxkit_cdr_sink_*` per sink, `pbxkit_cdr_dispatcher_errors_total` per kind). */
export function dispatcherMetrics(registry: Registry | undefined) {
  const metrics = new MetricsFactory('cdr', registry);
  const labelNames = ['sink'] as const;
  return {
    depth: metrics.gauge({
      what: 'sink_queue_depth',
      unit: 'entries',
      help: 'Spool entries a sink has not stored yet',
      labelNames,
    }),
    lag: metrics.gauge({
      what: 'sink_lag',
      unit: 'seconds',
      help: 'Age of the oldest spool entry a sink has not stored yet',
      labelNames,
    }),
    down: metrics.gauge({
      what: 'sink_down',
      unit: 'seconds',
      help: 'How long a sink has been unreachable (0 while it takes writes)',
      labelNames,
    }),
    deadLetters: metrics.gauge({
      what: 'sink_dead_letters',
      unit: 'entries',
      help: 'Dead letters of a sink in the spool (dead/<sink>/), waiting to be replayed',
      labelNames,
    }),
    delivered: metrics.counter({
      what: 'sink_delivered',
      unit: 'total',
      help: 'Records a sink stored',
      labelNames,
    }),
    failures: metrics.counter({
      what: 'sink_failures',
      unit: 'total',
      help: 'Failed batch writes',
      labelNames,
    }),
    dead: metrics.counter({
      what: 'sink_dead_lettered',
      unit: 'total',
      help: 'Entries a sink gave up on (moved to dead/<sink>/)',
      labelNames,
    }),
    errors: metrics.counter({
      what: 'dispatcher_errors',
      unit: 'total',
      help: 'Errors of the CDR dispatcher itself (spool journal, dead letter, read or remove failures, lost entries)',
      labelNames: ['kind'] as const,
    }),
    writeLatency: metrics.histogram({
      what: 'sink_write_duration',
      unit: 'seconds',
      help: 'Duration of successful batch writes',
      labelNames,
    }),
  };
}

export type DispatcherMetrics = ReturnType<typeof dispatcherMetrics>;
