import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MetricsFactory, metricName } from '../src/metrics.js';

describe('metrics', () => {
  it('names follow pbxkit_<package>_<what>_<unit>', () => {
    expect(metricName('esl', 'command_duration', 'seconds')).toBe('pbxkit_esl_command_duration_seconds');
    expect(() => metricName('esl', 'Bad-Name', 'total')).toThrow(RangeError);
  });

  it('registers into the registry the user passes, and two components share one series', async () => {
    const registry = new Registry();
    const a = new MetricsFactory('esl', registry).counter({
      what: 'commands',
      unit: 'total',
      help: 'Commands sent',
      labelNames: ['result'],
    });
    const b = new MetricsFactory('esl', registry).counter({
      what: 'commands',
      unit: 'total',
      help: 'Commands sent',
      labelNames: ['result'],
    });
    a.inc({ result: 'ok' });
    b.inc({ result: 'ok' });
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_esl_commands_total{result="ok"} 2');
  });

  it('records histograms in seconds with latency buckets', async () => {
    const registry = new Registry();
    const h = new MetricsFactory('ami', registry).histogram({
      what: 'action_duration',
      unit: 'seconds',
      help: 'Action latency',
    });
    h.observe(0.003);
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_ami_action_duration_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('pbxkit_ami_action_duration_seconds_count 1');
  });

  it('without a registry records into a private one, never the global', async () => {
    const factory = new MetricsFactory('cdr');
    factory.gauge({ what: 'spool_depth', unit: 'count', help: 'CDRs waiting' }).set(3);
    const { register } = await import('prom-client');
    expect(register.getSingleMetric('pbxkit_cdr_spool_depth_count')).toBeUndefined();
    expect(await factory.registry.metrics()).toContain('pbxkit_cdr_spool_depth_count 3');
  });
});
