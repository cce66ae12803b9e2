/**
 * Spool entry ids: `<ms since epoch, 13 digits>-<process tag>-<counter, 8 digits>-<uuid>`, e.g.
 * `1763900000000-k3f9-00000042-0b1c...`. They sort in arrival order as text (the time first, then the counter
 * within one process), are unique (a process tag and a counter per process) and name the call they hold.
 */

const TAG = `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3)
  .toString(36)
  .padStart(3, '0')}`;
let counter = 0;

/** The call uuid as it may appear in a file name: safe characters only, at most 80 of them. */
export function safeName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
  return cleaned || 'unknown';
}

/** A new id for a CDR of call `uuid` received at `at`. */
export function newEntryId(uuid: string, at: Date = new Date()): string {
  counter = (counter + 1) % 100_000_000;
  const ms = String(Math.max(0, at.getTime())).padStart(13, '0');
  return `${ms}-${TAG}-${String(counter).padStart(8, '0')}-${safeName(uuid)}`;
}

const ID = /^\d{13}-[0-9a-z]+-\d{8}-[A-Za-z0-9_-]+$/;

/** True when `text` has the shape of an entry id (a file name in the spool, a line of a journal). */
export function isEntryId(text: string): boolean {
  return ID.test(text);
}

/** When the entry was received (milliseconds since the epoch), read from its id. */
export function entryTime(id: string): number {
  return Number(id.slice(0, 13));
}

/** The call uuid an id was made for, as far as it survives in the id (see {@link safeName}). */
export function entryUuid(id: string): string {
  return id.split('-').slice(3).join('-');
}
