import { readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PbxkitError } from '@pbxkit/core';
import { fsyncPath, isNotFound, writeSynced } from '../spool/durable.js';

/** What a {@link CsvFollower} remembers across restarts (one small JSON file, replaced atomically). */
export interface FollowState {
  version: 1;
  /** Device and inode of the file being followed (a rotated file keeps them under its new name). */
  dev: number | null;
  ino: number | null;
  /** Byte offset just after the last record stored (or refused): where reading resumes. */
  offset: number;
  /** Line number at `offset`. */
  line: number;
  /** SHA-1 (hex) of the file's first `min(offset, 512)` bytes: other content at that inode means truncation. */
  head: string;
  /** Rotated files (names) read to their end. */
  imported: string[];
}

/** The follower's state file is not JSON of the expected shape. */
export class FollowStateError extends PbxkitError {
  constructor(message: string) {
    super('CDR_CSV_FOLLOW_STATE', message);
  }
}

/** A state for a follower that has read nothing yet. */
export function freshState(): FollowState {
  return { version: 1, dev: null, ino: null, offset: 0, line: 1, head: '', imported: [] };
}

/** Reads the state file; a fresh state when it does not exist. */
export async function loadState(path: string): Promise<FollowState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return freshState();
    throw err;
  }
  let state: FollowState;
  try {
    state = JSON.parse(text) as FollowState;
  } catch {
    throw new FollowStateError(
      `${path} is not JSON: fix or remove it (removing it imports the files again, once)`,
    );
  }
  if (state?.version !== 1 || typeof state.offset !== 'number' || !Array.isArray(state.imported)) {
    throw new FollowStateError(`${path} is not a follower state (version 1)`);
  }
  return state;
}

/** Replaces the state file durably: temp file, fsync, rename, fsync of the directory. */
export async function saveState(path: string, state: FollowState): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await unlink(tmp).catch(() => {});
  await writeSynced(tmp, `${JSON.stringify(state)}\n`, true);
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}
