import type { MonitorState, ServiceState, SyncState } from '../health/states.js';

/** The three states a branch failover daemon reports, as Synch's status socket does. */
export interface FailoverStatus {
  /** The probe monitor's state (`ProbeMonitor.state`). */
  monitor: MonitorState;
  /** The configuration sync's state (`Init` when there is no sync). */
  sync: SyncState;
  /** The failover service's state: `Normal`, `Failover`, or `Init` before the first switch. */
  service: ServiceState;
}

/** Where a status endpoint reads the current status from; called once per request. */
export type StatusProvider = () => FailoverStatus | Promise<FailoverStatus>;

/** The time zone of Synch timestamps: the host's (`local`, Synch's `DateTime.Now`) or `utc`. */
export type StatusTimeZone = 'local' | 'utc';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `yyyyMMddHHmmss` of `date`, in the host's time zone (as Synch prints it) or in UTC. */
export function synchTimestamp(date: Date, timeZone: StatusTimeZone = 'local'): string {
  const utc = timeZone === 'utc';
  const parts = utc
    ? [
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
        date.getUTCHours(),
        date.getUTCMinutes(),
        date.getUTCSeconds(),
      ]
    : [
        date.getFullYear(),
        date.getMonth() + 1,
        date.getDate(),
        date.getHours(),
        date.getMinutes(),
        date.getSeconds(),
      ];
  const [year, ...rest] = parts as [number, ...number[]];
  return pad(year, 4) + rest.map((n) => pad(n)).join('');
}

/**
 * Synch's `GetStatus` answer without its line end: a JSON array of one object, keys in Synch's order, no
 * spaces (Newtonsoft's compact output), e.g.
 * `[{"Timestamp":"20190522181925","Monitor":"Stable","Sync":"Synced","Service":"Normal"}]`.
 */
export function synchStatusJson(
  status: FailoverStatus,
  date: Date,
  timeZone: StatusTimeZone = 'local',
): string {
  return JSON.stringify([
    {
      Timestamp: synchTimestamp(date, timeZone),
      Monitor: status.monitor,
      Sync: status.sync,
      Service: status.service,
    },
  ]);
}

/** The default health rule: unhealthy while failed over or while the configuration is known to be out of sync. */
export function failedOverOrUnsynced(status: FailoverStatus): boolean {
  return status.service === 'Failover' || status.sync === 'Unsynced';
}

/** The status as the JSON protocol and `/status` give it: ISO timestamp, the three states, and `healthy`. */
export function statusBody(
  status: FailoverStatus,
  date: Date,
  unhealthy: (s: FailoverStatus) => boolean,
): Record<string, unknown> {
  return {
    timestamp: date.toISOString(),
    monitor: status.monitor,
    sync: status.sync,
    service: status.service,
    healthy: !unhealthy(status),
  };
}
