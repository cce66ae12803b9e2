import { PbxkitError } from '@pbxkit/core';

/**
 * A configuration sync that could not, or would not, complete. Codes:
 * - `SYNC_OPTIONS`: bad options (a filter regex that does not compile, a fraction out of range...);
 * - `SYNC_READ`: the remote file could not be read (the main PBX is down, the file is missing);
 * - `SYNC_EMPTY`: the filtered remote file holds no user, and applying it would wipe the branch;
 * - `SYNC_SHRINK`: it holds fewer users than the last version by more than the allowed fraction;
 * - `SYNC_APPLY`: writing the local file or reloading the module failed;
 * - `SYNC_VERIFY`: the local Asterisk does not read back what was written.
 */
export class AsteriskSyncError extends PbxkitError {}
