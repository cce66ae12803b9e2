import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Options every component that records metrics accepts. */
export interface MetricsOptions {
  /**
   * Where the component registers its metrics. Pass your application's registry (or prom-client's global
   * `register`) to expose them; without one the component records into a private registry nobody scrapes.
   */
  registry?: Registry;
}

/** Latency buckets in seconds, from half a millisecond (a loopback round trip) to ten seconds. */
export const LATENCY_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const SNAKE = /^[a-z][a-z0-9_]*$/;

/**
 * The metric name pbxkit uses everywhere: `pbxkit_<package>_<what>_<unit>`, e.g.
 * `metricName('esl', 'command_duration', 'seconds')` → `pbxkit_esl_command_duration_seconds`.
 * Counters use the unit `total`, as Prometheus expects.
 */
export function metricName(pkg: string, what: string, unit: string): string {
  for (const part of [pkg, what, unit]) {
    if (!SNAKE.test(part)) throw new RangeError(`metric name part ${JSON.stringify(part)} is not snake_case`);
  }
  return `pbxkit_${pkg}_${what}_${unit}`;
}

interface MetricSpec<L extends string> {
  what: string;
  unit: string;
  help: string;
  labelNames?: readonly L[];
}

/**
 * Creates a package's metrics in a registry, reusing a metric of the same name already there, so that two
 * components of one kind (two ESL clients, say) can share a registry: they then share the series, told apart
 * by labels.
 *
 * @example
 * ```ts
 * const metrics = new MetricsFactory('esl', options.registry);
 * const commands = metrics.counter({ what: 'commands', unit: 'total', help: 'Commands sent', labelNames: ['command', 'result'] });
 * commands.inc({ command: 'api', result: 'ok' });
 * ```
 */
export class MetricsFactory {
  readonly registry: Registry;

  constructor(
    readonly pkg: string,
    registry?: Registry,
  ) {
    this.registry = registry ?? new Registry();
  }

  counter<L extends string = string>(spec: MetricSpec<L>): Counter<L> {
    const name = metricName(this.pkg, spec.what, spec.unit);
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    return new Counter<L>({
      name,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      registers: [this.registry],
    });
  }

  gauge<L extends string = string>(spec: MetricSpec<L>): Gauge<L> {
    const name = metricName(this.pkg, spec.what, spec.unit);
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<L>;
    return new Gauge<L>({
      name,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      registers: [this.registry],
    });
  }

  histogram<L extends string = string>(spec: MetricSpec<L> & { buckets?: number[] }): Histogram<L> {
    const name = metricName(this.pkg, spec.what, spec.unit);
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Histogram<L>;
    return new Histogram<L>({
      name,
      help: spec.help,
      labelNames: spec.labelNames ?? [],
      buckets: spec.buckets ?? LATENCY_BUCKETS_SECONDS,
      registers: [this.registry],
    });
  }
}
