/**
 * What the probe monitor thinks of the peer, with Synch's names (they are also what its status socket prints):
 * `Init` before any result, `Stable` when it answers, `Failed` when it does not, `Unstable` in between.
 */
export type MonitorState = 'Init' | 'Unstable' | 'Failed' | 'Stable';

/**
 * Where traffic should go, with Synch's names: `Init` until the monitor first decided, `Normal` (the main
 * system) after it entered `Stable`, `Failover` (the local system) after it entered `Failed`.
 */
export type ServiceState = 'Init' | 'Normal' | 'Failover';

/** Synch's configuration sync state: `Init` (not checked yet, or the check failed), `Unsynced`, `Synced`. */
export type SyncState = 'Init' | 'Unsynced' | 'Synced';

/**
 * How one probe ended: `success` (the peer answered well), `failure` (it answered, badly: an AMI
 * `Response: Error`, a SIP 503, a refused connection) or `error` (no answer: timeout, unreachable network, a
 * probe that threw, or a tick that found the previous probe still running).
 */
export type ProbeOutcome = 'success' | 'failure' | 'error';

/** The monitor's state with the counters that led to it. */
export interface HealthSnapshot {
  state: MonitorState;
  /** Changes only on entering `Failed` (to `Failover`) or `Stable` (to `Normal`). */
  target: ServiceState;
  /** The policy's success counter (Synch: consecutive successes; gdnsd: successes towards a threshold). */
  succeed: number;
  /** The policy's failure counter (Synch: failure points, errors weigh more). */
  failed: number;
}

/** The snapshot before any probe. */
export const INITIAL_HEALTH: HealthSnapshot = Object.freeze({
  state: 'Init',
  target: 'Init',
  succeed: 0,
  failed: 0,
});

/** All monitor states, in Synch's order (for gauges and validation). */
export const MONITOR_STATES: readonly MonitorState[] = ['Init', 'Unstable', 'Failed', 'Stable'];
