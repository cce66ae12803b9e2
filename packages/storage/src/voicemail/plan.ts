import { parseVoicemailKey } from './layout.js';
import type { VoicemailMessage } from './vm-index.js';

/** A file on this node's disk, as the reconcile sees it. */
export interface LocalFile {
  size: number;
  mtimeMs: number;
  /** Last access (the file system's atime; relatime keeps it within a day). */
  atimeMs: number;
}

/** An object in the shared tier, as its listing gives it. */
export interface SharedObject {
  size: number;
  lastModifiedMs: number;
}

/** What one reconcile pass starts from. */
export interface PlanInput {
  /** Messages of the voicemail database by key. */
  rows: ReadonlyMap<string, VoicemailMessage>;
  local: ReadonlyMap<string, LocalFile>;
  shared: ReadonlyMap<string, SharedObject>;
  now: number;
  /** A file without a row younger than this is never deleted (mod_voicemail inserts the row after the file). */
  graceMs: number;
  /** A greeting or name modified less than this long ago may still be recording: not copied yet. */
  minFileAgeMs: number;
  /** Copy other nodes' messages here during the reconcile (`eager`) or only on demand (`lazy`). */
  pull: 'eager' | 'lazy';
  /** Evict local copies of messages older than this many days, not accessed for as long. */
  evictAfterDays?: number;
}

/** One thing a reconcile does. */
export type PlanStep =
  | { op: 'upload'; key: string; uuid?: string }
  | { op: 'pull'; key: string }
  | { op: 'delete-local'; key: string }
  | { op: 'delete-shared'; key: string }
  | { op: 'evict'; key: string };

const DAY_MS = 86_400_000;

/**
 * Decides a reconcile pass, sans I/O: what to upload, copy here, delete and evict.
 *
 * Messages follow their row: with a row, a local file missing from the shared tier (or of another size) is
 * uploaded, and a shared one missing here is pulled (unless old enough to be evicted); without a row, a file or
 * object older than `graceMs` belongs to a deleted message and goes. Greetings and names have no rows (the
 * switch never deletes them): the newer side wins, by modification time. Nothing here deletes a file that has a
 * row, except an eviction, which the agent carries out only after it proved the shared copy.
 */
export function planReconcile(input: PlanInput): PlanStep[] {
  const steps: PlanStep[] = [];
  const keys = new Set([...input.local.keys(), ...input.shared.keys()]);
  const evictMs = input.evictAfterDays !== undefined ? input.evictAfterDays * DAY_MS : undefined;
  for (const key of [...keys].sort()) {
    const parts = parseVoicemailKey(key);
    if (!parts || parts.kind === 'other') continue;
    const local = input.local.get(key);
    const shared = input.shared.get(key);
    if (parts.kind === 'message') {
      const row = input.rows.get(key);
      if (row) {
        const old = evictMs !== undefined && input.now - row.createdAt.getTime() > evictMs;
        if (local && (!shared || shared.size !== local.size)) {
          steps.push({ op: 'upload', key, uuid: row.uuid });
        } else if (local && shared && old && evictMs !== undefined) {
          if (input.now - Math.max(local.atimeMs, local.mtimeMs) > evictMs) steps.push({ op: 'evict', key });
        } else if (!local && shared && input.pull === 'eager' && !old) {
          steps.push({ op: 'pull', key });
        }
        continue;
      }
      if (local && input.now - local.mtimeMs > input.graceMs) steps.push({ op: 'delete-local', key });
      if (shared && input.now - shared.lastModifiedMs > input.graceMs)
        steps.push({ op: 'delete-shared', key });
      continue;
    }
    // Greetings and recorded names.
    if (local && input.now - local.mtimeMs < input.minFileAgeMs) continue;
    if (local && !shared) steps.push({ op: 'upload', key });
    else if (!local && shared) steps.push({ op: 'pull', key });
    else if (local && shared && local.size !== shared.size) {
      steps.push(local.mtimeMs > shared.lastModifiedMs ? { op: 'upload', key } : { op: 'pull', key });
    }
  }
  return steps;
}
