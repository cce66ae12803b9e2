import { posix } from 'node:path';
import type { SqlClient } from '@pbxkit/core';
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

/** Options of {@link FusionPbxVoicemailIndex}. */
export interface FusionPbxVoicemailIndexOptions {
  /** `<storage_dir>/voicemail` as the switch sees it. Default `/var/lib/freeswitch/storage/voicemail`. */
  root?: string;
  /** Extension of message files (FusionPBX's `vm_message_ext`). Default `wav`. */
  messageExt?: string;
  /** Schema of FusionPBX's tables, when not on the search path. */
  schema?: string;
}

interface Row {
  voicemail_message_uuid: string;
  domain_name: string;
  voicemail_id: string;
  created_epoch: string | number | null;
  read_epoch: string | number | null;
  caller_id_name: string | null;
  caller_id_number: string | null;
  message_length: string | number | null;
  message_status: string | null;
  message_priority: string | null;
}

/**
 * The {@link VoicemailIndex} of FusionPBX's voicemail application: `v_voicemail_messages` joined to
 * `v_voicemails` (the mailbox, `voicemail_id`) and `v_domains` (`domain_name`), read only. Its scripts write
 * each message to `<root>/default/<domain>/<voicemail_id>/msg_<voicemail_message_uuid>.<ext>`, and keep the
 * status in `message_status` (`''` new, `saved`, `deleted`).
 */
export class FusionPbxVoicemailIndex implements VoicemailIndex {
  private readonly t: { messages: string; voicemails: string; domains: string };
  private readonly root: string;
  private readonly ext: string;

  constructor(
    private readonly sql: SqlClient,
    options: FusionPbxVoicemailIndexOptions = {},
  ) {
    const q = (name: string) => tableName(options.schema ? `${options.schema}.${name}` : name, 'schema');
    this.t = { messages: q('v_voicemail_messages'), voicemails: q('v_voicemails'), domains: q('v_domains') };
    this.root = options.root ?? '/var/lib/freeswitch/storage/voicemail';
    this.ext = options.messageExt ?? 'wav';
  }

  private select(where: string): string {
    return `select m.voicemail_message_uuid::text as voicemail_message_uuid, d.domain_name, v.voicemail_id,
      m.created_epoch, m.read_epoch, m.caller_id_name, m.caller_id_number, m.message_length, m.message_status,
      m.message_priority
      from ${this.t.messages} m
      join ${this.t.voicemails} v on v.voicemail_uuid = m.voicemail_uuid
      join ${this.t.domains} d on d.domain_uuid = m.domain_uuid
      ${where}
      order by m.created_epoch, m.voicemail_message_uuid`;
  }

  async list(domain: string, user: string, options?: VoicemailListOptions): Promise<VoicemailMessage[]> {
    const { rows } = await this.sql.query<Row>(
      this.select('where d.domain_name = $1 and v.voicemail_id = $2'),
      [domain, user],
    );
    return rows.map((r) => this.message(r)).filter(listFilter(options));
  }

  async get(uuid: string): Promise<VoicemailMessage | undefined> {
    if (!MESSAGE_UUID_RE.test(uuid)) return undefined;
    const { rows } = await this.sql.query<Row>(this.select('where m.voicemail_message_uuid::text = $1'), [
      uuid.toLowerCase(),
    ]);
    return rows[0] ? this.message(rows[0]) : undefined;
  }

  async all(): Promise<VoicemailMessage[]> {
    const { rows } = await this.sql.query<Row>(this.select(''));
    return rows.map((r) => this.message(r));
  }

  async prefs(domain: string, user: string): Promise<VoicemailPrefs | undefined> {
    const { rows } = await this.sql.query<{ greeting_id: string | number | null; has_name: boolean }>(
      `select v.greeting_id, (v.voicemail_name_base64 is not null and v.voicemail_name_base64 <> '') as has_name
       from ${this.t.voicemails} v join ${this.t.domains} d on d.domain_uuid = v.domain_uuid
       where d.domain_name = $1 and v.voicemail_id = $2`,
      [domain, user],
    );
    const row = rows[0];
    if (!row) return undefined;
    const prefs: VoicemailPrefs = { domain, user };
    const greeting = Number(row.greeting_id);
    if (Number.isInteger(greeting) && greeting > 0) {
      prefs.greetingPath = posix.join(this.root, 'default', domain, user, `greeting_${greeting}.${this.ext}`);
    }
    if (row.has_name)
      prefs.namePath = posix.join(this.root, 'default', domain, user, `recorded_name.${this.ext}`);
    return prefs;
  }

  /**
   * Messages whose audio FusionPBX keeps in the table (`storage_type` base64: `message_base64`), a page at a
   * time, for importing them into the shared tier.
   */
  async *base64Messages(pageSize = 100): AsyncGenerator<{ message: VoicemailMessage; audio: Buffer }> {
    let after = '';
    for (;;) {
      const { rows } = await this.sql.query<Row & { message_base64: string }>(
        `select m.voicemail_message_uuid::text as voicemail_message_uuid, d.domain_name, v.voicemail_id,
          m.created_epoch, m.read_epoch, m.caller_id_name, m.caller_id_number, m.message_length, m.message_status,
          m.message_priority, m.message_base64
          from ${this.t.messages} m
          join ${this.t.voicemails} v on v.voicemail_uuid = m.voicemail_uuid
          join ${this.t.domains} d on d.domain_uuid = m.domain_uuid
          where m.message_base64 is not null and m.message_base64 <> '' and m.voicemail_message_uuid::text > $1
          order by m.voicemail_message_uuid::text limit ${Math.max(1, Math.floor(pageSize))}`,
        [after],
      );
      for (const row of rows)
        yield { message: this.message(row), audio: Buffer.from(row.message_base64, 'base64') };
      if (rows.length === 0) return;
      after = (rows[rows.length - 1] as Row).voicemail_message_uuid;
    }
  }

  private message(r: Row): VoicemailMessage {
    const readAt = epochDate(r.read_epoch);
    const status = (r.message_status ?? '').trim();
    const key = posix.join(
      'default',
      r.domain_name,
      r.voicemail_id,
      `msg_${r.voicemail_message_uuid}.${this.ext}`,
    );
    const m: VoicemailMessage = {
      uuid: r.voicemail_message_uuid,
      domain: r.domain_name,
      user: r.voicemail_id,
      folder: 'inbox',
      status: status === 'deleted' ? 'deleted' : status === 'saved' || readAt ? 'saved' : 'new',
      read: readAt !== undefined,
      createdAt: epochDate(r.created_epoch) ?? new Date(0),
      callerName: r.caller_id_name ?? '',
      callerNumber: r.caller_id_number ?? '',
      lengthSeconds: Number(r.message_length) || 0,
      urgent: (r.message_priority ?? '').toLowerCase() === 'urgent',
      filePath: posix.join(this.root, key),
      key,
    };
    if (readAt) m.readAt = readAt;
    return m;
  }
}
