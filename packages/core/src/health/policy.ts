import { ProbeError } from './errors.js';
import type { HealthSnapshot, MonitorState, ProbeOutcome, ServiceState } from './states.js';

/** The counters and state a policy computes from one more outcome; the target is derived by {@link advanceHealth}. */
export interface PolicyStep {
  state: MonitorState;
  succeed: number;
  failed: number;
}

/**
 * A rule turning probe outcomes into a monitor state. Pure: the same snapshot and outcome always give the same
 * step, so a policy can be tested (and replayed) without a clock or a socket.
 */
export interface HealthPolicy {
  /** A name for logs (`synch`, `gdnsd`). */
  readonly name: string;
  /** The next counters and state after `outcome`, given the current snapshot. */
  next(current: HealthSnapshot, outcome: ProbeOutcome): PolicyStep;
}

/**
 * Applies one outcome: the policy's step, then the target rule shared by every policy (failover on entering
 * `Failed`, fallback on entering `Stable`; `Init` and `Unstable` keep the target they found).
 */
export function advanceHealth(
  policy: HealthPolicy,
  current: HealthSnapshot,
  outcome: ProbeOutcome,
): HealthSnapshot {
  const step = policy.next(current, outcome);
  let target: ServiceState = current.target;
  if (step.state !== current.state) {
    if (step.state === 'Failed') target = 'Failover';
    else if (step.state === 'Stable') target = 'Normal';
  }
  return { state: step.state, target, succeed: step.succeed, failed: step.failed };
}

/** Options of {@link synchPolicy}; the defaults are Synch's shipped `appsettings.json`. */
export interface SynchPolicyOptions {
  /** Failure points that make the peer `Failed` (once no success is pending). Default 5. */
  failureTolerance?: number;
  /** Consecutive successes that make the peer `Stable`. Default 5. */
  aliveThreshold?: number;
  /** Extra failure points an error (no answer at all) costs on top of the 1 of a failure. Default 1. */
  errorPenaltyPoints?: number;
}

/**
 * Synch's rule, as its code does it (not as its README words it): a success adds one to `succeed`; a failure
 * zeroes `succeed` and adds one to `failed`; an error zeroes `succeed` and adds `1 + errorPenaltyPoints` to
 * `failed`. Then the first match wins: both counters zero → `Init`; `succeed >= aliveThreshold` → `Stable`
 * (and `failed` is zeroed); `failed >= failureTolerance` with `succeed == 0` → `Failed`; else `Unstable`.
 *
 * A lone success does not clear `failed`: failures separated by single successes still add up to `Failed`,
 * and only `aliveThreshold` successes in a row forgive them.
 */
export function synchPolicy(options: SynchPolicyOptions = {}): HealthPolicy {
  const tolerance = count('failureTolerance', options.failureTolerance ?? 5, 1);
  const alive = count('aliveThreshold', options.aliveThreshold ?? 5, 1);
  const penalty = count('errorPenaltyPoints', options.errorPenaltyPoints ?? 1, 0);
  return {
    name: 'synch',
    next(current, outcome) {
      let { succeed, failed } = current;
      if (outcome === 'success') succeed += 1;
      else {
        succeed = 0;
        failed += outcome === 'error' ? 1 + penalty : 1;
      }
      let state: MonitorState;
      if (failed === 0 && succeed === 0) state = 'Init';
      else if (succeed >= alive) state = 'Stable';
      else if (failed >= tolerance && succeed === 0) state = 'Failed';
      else state = 'Unstable';
      if (state === 'Stable') failed = 0;
      return { state, succeed, failed };
    },
  };
}

/** Options of {@link gdnsdPolicy}; the defaults are gdnsd's. */
export interface GdnsdPolicyOptions {
  /** Failures (not cleared by `okThreshold` successes) that take an up peer down. Default 10. */
  downThreshold?: number;
  /** Consecutive successes that bring a down peer back up. Default 20. */
  upThreshold?: number;
  /** Consecutive successes that clear an up peer's failure count. Default 10. */
  okThreshold?: number;
}

/**
 * gdnsd's monitoring rule (`down_thresh`, `up_thresh`, `ok_thresh`): the first result decides up or down; an up
 * peer goes down after `downThreshold` failures, and `okThreshold` consecutive successes wipe the failures
 * counted so far; a down peer comes back after `upThreshold` consecutive successes (any failure restarts that
 * count). Errors count as failures (gdnsd has no penalty).
 *
 * Mapped on Synch's states: up with no failures → `Stable`, up with failures or down with successes →
 * `Unstable`, down with no success → `Failed`.
 */
export function gdnsdPolicy(options: GdnsdPolicyOptions = {}): HealthPolicy {
  const down = count('downThreshold', options.downThreshold ?? 10, 1);
  const up = count('upThreshold', options.upThreshold ?? 20, 1);
  const ok = count('okThreshold', options.okThreshold ?? 10, 1);
  return {
    name: 'gdnsd',
    next(current, outcome) {
      const success = outcome === 'success';
      // gdnsd's first round: the result itself is the state, no thresholds.
      if (current.target === 'Init') {
        return { state: success ? 'Stable' : 'Failed', succeed: 0, failed: 0 };
      }
      let { succeed, failed } = current;
      if (current.target === 'Failover') {
        if (!success) return { state: 'Failed', succeed: 0, failed };
        succeed += 1;
        if (succeed >= up) return { state: 'Stable', succeed: 0, failed: 0 };
        return { state: 'Unstable', succeed, failed };
      }
      if (success) {
        if (failed > 0 && ++succeed >= ok) return { state: 'Stable', succeed: 0, failed: 0 };
        return { state: failed > 0 ? 'Unstable' : 'Stable', succeed, failed };
      }
      succeed = 0;
      failed += 1;
      if (failed >= down) return { state: 'Failed', succeed: 0, failed: 0 };
      return { state: 'Unstable', succeed, failed };
    },
  };
}

function count(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new ProbeError('PROBE_OPTIONS', `${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
