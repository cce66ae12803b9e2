import type { SqlClient } from '@pbxkit/core';
import { voicemailKeyOf } from './layout.js';
import {
  epochDate,
  listFilter,
  MESSAGE_UUID_RE,
  tableName,
  type VoicemailIndex,
  type VoicemailListOptions,
  type VoicemailMessage,
  type VoicemailPrefs,
} from './vm-index.js';

/** Options of {@link ModVoicemailIndex}. */
export interface ModVoicemailIndexOptions {
  /** `<storage_dir>/voicemail` as the switch sees it (`/var/lib/freeswitch/storage/voicemail`), to turn `file_path` into keys. */
  root?: string;
  /** Default `voicemail_msgs`. */
  messagesTable?: string;
  /** Default `voicemail_prefs`. */
  prefsTable?: string;
}

interface MsgRow {
  created_epoch: number | string | null;
  read_epoch: number | string | null;
  username: string;
  domain: string;
  uuid: string;
  cid_name: string | null;
  cid_number: string | null;
  in_folder: string | null;
  file_path: string | null;
  message_len: number | string | null;
  flags: string | null;
  read_flags: string | null;
  forwarded_by: string | null;
}

const COLUMNS =
  'created_epoch, read_epoch, username, domain, uuid, cid_name, cid_number, in_folder, file_path, message_len, flags, read_flags, forwarded_by';

/**
 * The {@link VoicemailIndex} of FreeSWITCH's mod_voicemail: its `voicemail_msgs` and `voicemail_prefs` tables on
 * the database its `odbc-dsn` names (PostgreSQL when the switches are clustered), read only.
 *
 * Status as mod_voicemail counts it: `flags = 'delete'` is a message marked for deletion in the menu (purged,
 * row and file, when the caller leaves it), a `read_epoch` other than 0 or `flags = 'save'` is saved, anything
 * else new. `read_flags` `A_URGENT` is urgent.
 */
export class ModVoicemailIndex implements VoicemailIndex {
  private readonly msgs: string;
  private readonly prefsTable: string;

  constructor(
    private readonly sql: SqlClient,
    private readonly options: ModVoicemailIndexOptions = {},
  ) {
    this.msgs = tableName(options.messagesTable ?? 'voicemail_msgs', 'messagesTable');
    this.prefsTable = tableName(options.prefsTable ?? 'voicemail_prefs', 'prefsTable');
  }

  async list(domain: string, user: string, options?: VoicemailListOptions): Promise<VoicemailMessage[]> {
    const { rows } = await this.sql.query<MsgRow>(
      `select ${COLUMNS} from ${this.msgs} where domain = $1 and username = $2 order by created_epoch, uuid`,
      [domain, user],
    );
    return rows.map((r) => this.message(r)).filter(listFilter(options));
  }

  async get(uuid: string): Promise<VoicemailMessage | undefined> {
    if (!MESSAGE_UUID_RE.test(uuid)) return undefined;
    const { rows } = await this.sql.query<MsgRow>(`select ${COLUMNS} from ${this.msgs} where uuid = $1`, [
      uuid,
    ]);
    return rows[0] ? this.message(rows[0]) : undefined;
  }

  async all(): Promise<VoicemailMessage[]> {
    const { rows } = await this.sql.query<MsgRow>(
      `select ${COLUMNS} from ${this.msgs} order by created_epoch`,
    );
    return rows.map((r) => this.message(r));
  }

  async prefs(domain: string, user: string): Promise<VoicemailPrefs | undefined> {
    const { rows } = await this.sql.query<{ name_path: string | null; greeting_path: string | null }>(
      `select name_path, greeting_path from ${this.prefsTable} where domain = $1 and username = $2`,
      [domain, user],
    );
    const row = rows[0];
    if (!row) return undefined;
    const prefs: VoicemailPrefs = { domain, user };
    if (row.greeting_path) prefs.greetingPath = row.greeting_path;
    if (row.name_path) prefs.namePath = row.name_path;
    return prefs;
  }

  private message(r: MsgRow): VoicemailMessage {
    const readAt = epochDate(r.read_epoch);
    const flags = (r.flags ?? '').trim();
    const filePath = r.file_path ?? '';
    const m: VoicemailMessage = {
      uuid: r.uuid,
      domain: r.domain,
      user: r.username,
      folder: r.in_folder || 'inbox',
      status: flags === 'delete' ? 'deleted' : readAt || flags === 'save' ? 'saved' : 'new',
      read: readAt !== undefined,
      createdAt: epochDate(r.created_epoch) ?? new Date(0),
      callerName: r.cid_name ?? '',
      callerNumber: r.cid_number ?? '',
      lengthSeconds: Number(r.message_len) || 0,
      urgent: (r.read_flags ?? '').includes('URGENT'),
      filePath,
      key: voicemailKeyOf(filePath, this.options.root),
    };
    if (readAt) m.readAt = readAt;
    if (r.forwarded_by) m.forwardedBy = r.forwarded_by;
    return m;
  }
}
