import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FakeFreeSwitch } from '@pbxkit/esl/testing';
import pg from 'pg';
import { fixture, testDatabaseUrl } from '../../../scripts/test-env.js';

/** A database of the test's own on the shared test PostgreSQL; `drop` removes it. */
export async function ownDatabase(
  prefix: string,
): Promise<{ url: string; pool: pg.Pool; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1 });
  await admin.query(`create database ${name}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 8 });
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      // Connections closed a moment ago may still be on their way out (pg's end() resolves before the server
      // sees them go): drop without force while they finish, so none is killed under a client still ending.
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          await admin.query(`drop database if exists ${name}`);
          break;
        } catch (err) {
          if ((err as { code?: string }).code !== '55006' || Date.now() > deadline) {
            await admin.query(`drop database if exists ${name} with (force)`);
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await admin.end();
    },
  };
}

/** mod_voicemail's tables, exactly as the real module created them (captured schema). */
export const MOD_VOICEMAIL_DDL = fixture(
  'fs-modules',
  'voicemail',
  'voicemail_default.db.schema.sql',
).toString();

/** FusionPBX's voicemail tables, with the columns and types of its app_config.php (v_voicemails, v_voicemail_messages) and v_domains. */
export const FUSIONPBX_DDL = `
create table v_domains (domain_uuid uuid primary key, domain_parent_uuid uuid, domain_name text, domain_enabled text, domain_description text);
create table v_voicemails (
  domain_uuid uuid, voicemail_uuid uuid primary key, voicemail_id text, voicemail_password text,
  voicemail_tutorial boolean, greeting_id numeric, voicemail_alternate_greet_id text,
  voicemail_recording_instructions boolean, voicemail_recording_options boolean, voicemail_mail_to text,
  voicemail_sms_to text, voicemail_transcription_enabled text, voicemail_transcription_prompt_enabled text,
  voicemail_transcription_prompt text, voicemail_attach_file text, voicemail_file text,
  voicemail_local_after_email text, voicemail_local_after_forward text, voicemail_enabled text,
  voicemail_description text, alternate_voicemail_destination text, alternate_voicemail_enabled text,
  voicemail_name_base64 text, insert_date timestamptz, insert_user uuid, update_date timestamptz, update_user uuid);
create table v_voicemail_messages (
  domain_uuid uuid, voicemail_message_uuid uuid primary key, voicemail_uuid uuid, created_epoch numeric,
  read_epoch numeric, caller_id_name text, caller_id_number text, message_length numeric, message_status text,
  message_priority text, message_intro_base64 text, message_base64 text, message_transcription text,
  insert_date timestamptz, insert_user uuid, update_date timestamptz, update_user uuid);
`;

/** Bytes that look like a WAV recording (a RIFF header and noise). */
export function wavBytes(size: number): Buffer {
  const body = randomBytes(size);
  body.write('RIFF', 0);
  body.write('WAVEfmt ', 8);
  return body;
}

/** One node of the test cluster: its voicemail tree and its fake switch. */
export interface TestNode {
  name: string;
  /** `<storage_dir>/voicemail` of this node. */
  root: string;
  fake: FakeFreeSwitch;
}

/** A message left the way mod_voicemail leaves one. */
export interface LeftMessage {
  uuid: string;
  key: string;
  bytes: Buffer;
}

/**
 * Does what mod_voicemail's deliver_vm does on `node`: writes `msg_<file uuid>.wav`, fires the leave-message
 * event (headers as FreeSWITCH 1.10 sends them), then inserts the row (after the event, as the module does).
 */
export async function leaveMessage(
  node: TestNode,
  pool: pg.Pool,
  mailbox: { domain: string; user: string },
  size = 150_000,
): Promise<LeftMessage> {
  const uuid = randomUUID();
  const fileUuid = randomUUID();
  const key = `default/${mailbox.domain}/${mailbox.user}/msg_${fileUuid}.wav`;
  const path = join(node.root, key);
  const bytes = wavBytes(size);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  const now = Math.floor(Date.now() / 1000);
  node.fake.emitEvent('CUSTOM', {
    'Event-Subclass': 'vm::maintenance',
    'VM-Action': 'leave-message',
    'VM-User': mailbox.user,
    'VM-Domain': mailbox.domain,
    'VM-Caller-ID-Name': 'Alice Caller',
    'VM-Caller-ID-Number': '5551001',
    'VM-File-Path': path,
    'VM-Flags': 'B_NORMAL',
    'VM-Folder': 'inbox',
    'VM-UUID': uuid,
    'VM-Message-Len': '9',
    'VM-Timestamp': String(now),
    'Unique-ID': uuid,
  });
  await pool.query(
    `insert into voicemail_msgs(created_epoch, read_epoch, username, domain, uuid, cid_name, cid_number, in_folder, file_path, message_len, flags, read_flags, forwarded_by)
     values($1, 0, $2, $3, $4, 'Alice Caller', '5551001', 'inbox', $5, 9, '', 'B_NORMAL', '')`,
    [now, mailbox.user, mailbox.domain, uuid, path],
  );
  return { uuid, key, bytes };
}

/** The mwi-update mod_voicemail fires after a message of the mailbox was deleted, read or saved. */
export function mwiUpdate(node: TestNode, mailbox: { domain: string; user: string }): void {
  node.fake.emitEvent('CUSTOM', {
    'Event-Subclass': 'vm::maintenance',
    'VM-Action': 'mwi-update',
    'VM-User': mailbox.user,
    'VM-Domain': mailbox.domain,
    'VM-Total-New': '0',
    'VM-Total-Saved': '0',
    'VM-Total-New-Urgent': '0',
    'VM-Total-Saved-Urgent': '0',
  });
}

/** Polls `check` until it returns a value other than `undefined`/`false`, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (the test radosgw), which can be taken down (listener closed,
 * connections cut: what a client sees of an S3 outage) and brought back on the same port.
 */
export async function tcpProxy(
  target: URL,
): Promise<{ url: string; down: () => Promise<void>; up: () => Promise<void>; close: () => Promise<void> }> {
  const { createServer, connect } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  let port = 0;
  let server: import('node:net').Server | undefined;
  const up = async (): Promise<void> => {
    const s = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(client);
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as import('node:net').AddressInfo).port;
    server = s;
  };
  const down = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await up();
  return { url: `http://127.0.0.1:${port}`, down, up, close: down };
}

/** SHA-256 (hex) of bytes. */
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
