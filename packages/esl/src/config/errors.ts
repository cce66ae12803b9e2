import { PbxkitError } from '@pbxkit/core';

/** One problem found in a configuration, with where it is. */
export interface ConfigProblem {
  file: string;
  line: number;
  message: string;
}

/**
 * A FreeSWITCH configuration error. Codes: `FS_CONFIG_INVALID` (validation found `problems`: malformed XML, an
 * include that matches nothing it should, an unresolved `$${var}`), `FS_CONFIG_CALLS_UP` (a profile restart is
 * needed while calls are up on it and the apply was not forced), `FS_CONFIG_RELOAD` (FreeSWITCH refused a reload
 * command; the files were rolled back), `FS_CONFIG_ROLLBACK` (the rollback itself failed: the node needs a
 * person), `FS_CONFIG_OPTIONS` (invalid options).
 */
export class FsConfigError extends PbxkitError {
  constructor(
    code: string,
    message: string,
    readonly problems: readonly ConfigProblem[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** One reload command as sent, FreeSWITCH's reply, and whether the reply says it worked. */
export interface ReloadReply {
  command: string;
  why: string;
  reply: string;
  ok: boolean;
  /** Why the reply counts as a failure. */
  problem?: string;
}

/**
 * FreeSWITCH refused a reload command (`FS_CONFIG_RELOAD`: the files were put back and reloaded again, the node
 * runs the previous version) or the reload after putting them back failed too (`FS_CONFIG_ROLLBACK`).
 */
export class FsReloadError extends FsConfigError {
  constructor(
    code: 'FS_CONFIG_RELOAD' | 'FS_CONFIG_ROLLBACK',
    message: string,
    /** The commands of the failed apply, then those of the recovery. */
    readonly commands: readonly ReloadReply[],
    readonly recovery: readonly ReloadReply[],
  ) {
    super(code, message);
  }
}
