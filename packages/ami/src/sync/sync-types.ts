import type { ConfigStore, ConfigVersionInfo, Logger, MetricsOptions, SyncState } from '@pbxkit/core';
import type { AmiClient } from '../client/client.js';
import type { AsteriskSyncError } from './errors.js';
import type { SyncFilter, SyncTechnology } from './select.js';

/** Options of {@link AsteriskConfigSync}. */
export interface AsteriskConfigSyncOptions extends MetricsOptions {
  /** AMI of the main PBX (read with `GetConfig`; its user needs `write=config` or `system`). */
  remote: AmiClient;
  /** AMI of the branch's own Asterisk (written; its user needs `write=config` and `system` for `Reload`). */
  local: AmiClient;
  /** Versions of what was applied (`ConfigStore.open` from `@pbxkit/core`). */
  store: ConfigStore;
  /** `sip` (default: `sip_additional.conf`, reload `chan_sip.so`) or `pjsip` (reload `res_pjsip.so`). */
  technology?: SyncTechnology;
  /**
   * The remote file(s), read in order and taken as one. Default `sip_additional.conf` for `sip`;
   * `['pjsip.endpoint.conf', 'pjsip.aor.conf', 'pjsip.auth.conf']` (FreePBX) for `pjsip`, or give
   * `pjsip_additional.conf`.
   */
  remoteFiles?: string | readonly string[];
  /** The local file, relative to Asterisk's config directory. Default `sip_synch.conf` (`pjsip_synch.conf`). */
  localFile?: string;
  /** Synch's `filterkey`/`filtervalue`; no filter copies every user. */
  filter?: SyncFilter;
  /** Write the local file directly under this directory (Synch's `localconfigspath`) instead of through AMI. */
  localConfigsPath?: string;
  /** The module to reload after a change. Default `chan_sip.so` (`res_pjsip.so` for `pjsip`). */
  reloadModule?: string;
  /** Time between runs, in ms. Default 300 000 (Synch's 300 s). */
  intervalMs?: number;
  /**
   * Largest drop in users accepted without `force`, as a fraction of the last version's users: 0.5 (the
   * default) refuses going from 100 users to 49. `1` accepts any shrink (never an empty result).
   */
  maxShrink?: number;
  /** Time each AMI action may take, in ms. Default: the clients' own. */
  actionTimeoutMs?: number;
  /** Recorded as `appliedBy` in each version. Default `AsteriskConfigSync`. */
  appliedBy?: string;
  /** The `<namespace>` of the metric names (`pbxkit_<ns>_sync_runs_total`). Default `ami`. */
  metricsNamespace?: string;
  logger?: Logger;
}

/** How one run ended. */
export type SyncOutcome = 'applied' | 'unchanged' | 'refused' | 'held' | 'failed';

/** One run's result. */
export interface SyncRunResult {
  outcome: SyncOutcome;
  /** The state after the run. */
  state: SyncState;
  /** Users in the filtered remote file (absent when it could not be read). */
  users?: number;
  /** The version recorded by an `applied` run. */
  version?: ConfigVersionInfo;
  /** The unified diff an `applied` run recorded, or what a refused or held run would have changed. */
  diff?: string;
  /** Why a run was refused, held or failed. */
  reason?: string;
  error?: AsteriskSyncError;
  at: Date;
  durationMs: number;
}

/** A run's result before its timing and state are known. */
export type RunBody = Omit<SyncRunResult, 'at' | 'durationMs' | 'state'>;

/** What {@link AsteriskConfigSync.preview} would write. */
export interface SyncPreview {
  file: string;
  text: string;
  users: number;
  /** Against the newest version in the store (the whole file when the store is empty). */
  diff: string;
}

/** A change of state with its reason. */
export interface SyncStateChange {
  from: SyncState;
  to: SyncState;
  reason: string;
  at: Date;
}

/** Events of {@link AsteriskConfigSync}. */
export interface AsteriskConfigSyncEvents {
  state: (change: SyncStateChange) => void;
  /** After every run. */
  run: (result: SyncRunResult) => void;
  /** A run (or a rollback) applied and recorded a version. */
  applied: (version: ConfigVersionInfo, diff: string) => void;
  /** A run that failed or was refused (also logged and counted). */
  error: (err: AsteriskSyncError) => void;
}
