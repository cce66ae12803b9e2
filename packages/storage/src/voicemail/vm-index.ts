import { StorageConfigError } from '../errors.js';

/** Where a message stands: `new` (unread), `saved` (read or kept), `deleted` (marked, not yet purged). */
export type VoicemailStatus = 'new' | 'saved' | 'deleted';

/** One voicemail message, as the voicemail database has it. */
export interface VoicemailMessage {
  /** The message uuid (`voicemail_msgs.uuid`, FusionPBX `voicemail_message_uuid`). */
  uuid: string;
  domain: string;
  /** The mailbox (`username`, FusionPBX `voicemail_id`). */
  user: string;
  /** `in_folder` (mod_voicemail keeps every message in `inbox`; FusionPBX has no folders: `inbox`). */
  folder: string;
  status: VoicemailStatus;
  read: boolean;
  createdAt: Date;
  readAt?: Date;
  callerName: string;
  callerNumber: string;
  lengthSeconds: number;
  urgent: boolean;
  /** The file as the switch wrote it (absolute). */
  filePath: string;
  /** The file's key in the voicemail tree (`<profile>/<domain>/<user>/msg_<file uuid>.<ext>`). */
  key: string | undefined;
  /** Who forwarded it (mod_voicemail `forwarded_by`), when it was forwarded. */
  forwardedBy?: string;
}

/** A mailbox's greeting and recorded-name choices (mod_voicemail `voicemail_prefs`, FusionPBX `v_voicemails`). */
export interface VoicemailPrefs {
  domain: string;
  user: string;
  /** The selected greeting's file, when one is selected. */
  greetingPath?: string;
  /** The recorded name's file, when there is one. */
  namePath?: string;
}

/** Options of {@link VoicemailIndex.list}. */
export interface VoicemailListOptions {
  /** Only this folder. */
  folder?: string;
  /** Only messages with this status. Default: all but `deleted`. */
  status?: VoicemailStatus | 'any';
}

/**
 * A read-only view of a voicemail database: mod_voicemail's `voicemail_msgs`/`voicemail_prefs`
 * ({@link ModVoicemailIndex}) or FusionPBX's `v_voicemails`/`v_voicemail_messages` ({@link FusionPbxVoicemailIndex}).
 * It never writes: the switch owns these tables. Failures reject with the database's error (the caller decides:
 * the agent deletes nothing on a failed lookup, the HTTP handler answers 503).
 */
export interface VoicemailIndex {
  /** A mailbox's messages, oldest first. */
  list(domain: string, user: string, options?: VoicemailListOptions): Promise<VoicemailMessage[]>;
  /** One message by its uuid. */
  get(uuid: string): Promise<VoicemailMessage | undefined>;
  /** Every message of every mailbox (deleted-but-not-purged ones included), for the agent's reconcile. */
  all(): Promise<VoicemailMessage[]>;
  prefs(domain: string, user: string): Promise<VoicemailPrefs | undefined>;
}

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/** Checks a (schema-qualified) table name before it is put into SQL. */
export function tableName(name: string, option: string): string {
  if (!IDENT_RE.test(name)) {
    throw new StorageConfigError(option, `${JSON.stringify(name)} is not a table name ([schema.]table)`);
  }
  return name;
}

/** Seconds since the epoch (a number, numeric string or null) as a date; `undefined` for 0 or nothing. */
export function epochDate(value: unknown): Date | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000) : undefined;
}

/** Keeps the messages a {@link VoicemailListOptions} asks for. */
export function listFilter(options: VoicemailListOptions = {}): (m: VoicemailMessage) => boolean {
  const status = options.status ?? 'active';
  return (m) =>
    (options.folder === undefined || m.folder === options.folder) &&
    (status === 'any' || (status === 'active' ? m.status !== 'deleted' : m.status === status));
}

/** A message uuid as the databases accept it (a uuid, or FreeSWITCH's own ids): guards `get` against junk. */
export const MESSAGE_UUID_RE = /^[A-Za-z0-9][A-Za-z0-9-]{7,63}$/;
