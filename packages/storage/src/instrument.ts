import { MetricsFactory, type Registry } from '@pbxkit/core';
import type { HealthStatus, StorageBackend } from './backend.js';
import { StorageError } from './errors.js';

const OPERATIONS = new Set(['stat', 'read', 'write', 'delete', 'list', 'health']);

/**
 * The same backend, recording per operation `pbxkit_storage_backend_operations_total{backend,operation,result}`
 * (result `ok`, or the error code: `STORAGE_NOT_FOUND`, `STORAGE_BACKEND_UNAVAILABLE`, …, `error` for others)
 * and `pbxkit_storage_backend_operation_duration_seconds{backend,operation}` (for `read`: until the stream is
 * open); a health check that reports free space sets `pbxkit_storage_backend_free_bytes{backend}` and
 * `pbxkit_storage_backend_free_inodes{backend}`. Everything else (a class's own methods such as `presignGet`, `root`, `instanceof`) passes through.
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
  const free = {
    bytes: metrics.gauge({
      what: 'backend_free',
      unit: 'bytes',
      help: 'Space available to the backend at its last health check (local disk)',
      labelNames: ['backend'],
    }),
    inodes: metrics.gauge({
      what: 'backend_free',
      unit: 'inodes',
      help: "Free inodes at the backend's last health check (local disk)",
      labelNames: ['backend'],
    }),
  };
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
          const ok = prop !== 'health' || (result as HealthStatus).ok;
          if (prop === 'health') {
            const h = result as HealthStatus;
            if (h.freeBytes !== undefined) free.bytes.set({ backend: target.name }, h.freeBytes);
            if (h.freeInodes !== undefined) free.inodes.set({ backend: target.name }, h.freeInodes);
          }
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
