import { MetricsFactory, type Registry } from '@pbxkit/core';
import type { StorageBackend } from './backend.js';
import { StorageError } from './errors.js';

const OPERATIONS = new Set(['stat', 'read', 'write', 'delete', 'list', 'health']);

/**
 * The same backend, recording per operation `pbxkit_storage_backend_operations_total{backend,operation,result}`
 * (result `ok`, or the error code: `STORAGE_NOT_FOUND`, `STORAGE_BACKEND_UNAVAILABLE`, …, `error` for others)
 * and `pbxkit_storage_backend_operation_duration_seconds{backend,operation}` (for `read`: until the stream is
 * open). Everything else (a class's own methods such as `presignGet`, `root`, `instanceof`) passes through.
 */
export function instrumentBackend<B extends StorageBackend>(backend: B, registry?: Registry): B {
  const metrics = new MetricsFactory('storage', registry);
  const count = metrics.counter({
    what: 'backend_operations',
    unit: 'total',
    help: 'Backend operations, by backend, operation and result',
    labelNames: ['backend', 'operation', 'result'],
  });
  const duration = metrics.histogram({
    what: 'backend_operation_duration',
    unit: 'seconds',
    help: 'Backend operation duration (read: until the stream is open)',
    labelNames: ['backend', 'operation'],
  });
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !OPERATIONS.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        const started = performance.now();
        const labels = { backend: target.name, operation: prop };
        try {
          const result = await value.apply(target, args);
          const ok = prop !== 'health' || (result as { ok: boolean }).ok;
          count.inc({ ...labels, result: ok ? 'ok' : 'unhealthy' });
          return result;
        } catch (err) {
          count.inc({ ...labels, result: err instanceof StorageError ? err.code : 'error' });
          throw err;
        } finally {
          duration.observe(labels, (performance.now() - started) / 1000);
        }
      };
    },
  });
}
