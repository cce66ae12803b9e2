import type { SyncState } from '@pbxkit/core';
import { MetricsFactory, type Registry } from '@pbxkit/core';

const STATES: readonly SyncState[] = ['Init', 'Unsynced', 'Synced'];

/**
 * A sync's Prometheus series, `<ns>` being its `metricsNamespace` (default `ami`):
 * - `pbxkit_<ns>_sync_runs_total{result}`: runs by outcome (`applied`, `unchanged`, `refused`, `held`, `failed`)
 * - `pbxkit_<ns>_sync_duration_seconds`: time of a run, read to verified
 * - `pbxkit_<ns>_sync_state{state}`: 1 for the current state, 0 for the others
 * - `pbxkit_<ns>_sync_users`: users in the version that runs on the branch
 */
export class SyncMetrics {
  private readonly runs;
  private readonly duration;
  private readonly state;
  private readonly users;

  constructor(namespace: string, registry: Registry | undefined) {
    const factory = new MetricsFactory(namespace, registry);
    this.runs = factory.counter({
      what: 'sync_runs',
      unit: 'total',
      help: 'Configuration sync runs, by result',
      labelNames: ['result'],
    });
    this.duration = factory.histogram({
      what: 'sync_duration',
      unit: 'seconds',
      help: 'Time of one configuration sync run, from reading the remote file to verifying the local one',
    });
    this.state = factory.gauge({
      what: 'sync',
      unit: 'state',
      help: 'Configuration sync state (1 for the current one): Init, Unsynced, Synced',
      labelNames: ['state'],
    });
    this.users = factory.gauge({
      what: 'sync',
      unit: 'users',
      help: 'Users (peers or endpoints) in the configuration version the branch runs',
    });
    this.setState('Init');
  }

  run(result: string, seconds: number): void {
    this.runs.inc({ result });
    this.duration.observe(seconds);
  }

  setState(state: SyncState): void {
    for (const s of STATES) this.state.set({ state: s }, s === state ? 1 : 0);
  }

  setUsers(n: number): void {
    this.users.set(n);
  }
}
