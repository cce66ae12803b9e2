import { isAbsolute, posix, relative, sep } from 'node:path';
import { validateKey } from '../backend.js';

/**
 * What a file in a voicemail tree is. The tree is FreeSWITCH's `<storage_dir>/voicemail` (mod_voicemail and
 * FusionPBX's voicemail scripts both use it): `<profile>/<domain>/<user>/<file>`, where a message is
 * `msg_<uuid>.<ext>` (mod_voicemail's file uuid is *not* the message uuid of its `voicemail_msgs` row;
 * FusionPBX's is its `voicemail_message_uuid`), a greeting `greeting_<n>.<ext>` and the recorded name
 * `recorded_name.<ext>`.
 */
export type VoicemailFileKind = 'message' | 'greeting' | 'name' | 'other';

/** A key of a voicemail tree, taken apart. */
export interface VoicemailKeyParts {
  profile: string;
  domain: string;
  user: string;
  file: string;
  kind: VoicemailFileKind;
  /** The uuid in a message's file name (`msg_<uuid>.<ext>`). */
  fileUuid?: string;
}

const MESSAGE_RE = /^msg_([0-9A-Za-z-]{8,64})\.[A-Za-z0-9]{1,8}$/;
const GREETING_RE = /^greeting_[0-9]{1,2}\.[A-Za-z0-9]{1,8}$/;
const NAME_RE = /^recorded_name\.[A-Za-z0-9]{1,8}$/;
// Files mod_voicemail and FusionPBX write while recording, then rename: never copied.
const TEMP_RE = /_TMP\.[A-Za-z0-9]{1,8}$/;

/**
 * Takes a key of a voicemail tree apart (`default/example.com/1000/msg_<uuid>.wav`); `undefined` for a key that
 * is not four segments deep, is not a valid key, or names a temporary file still being recorded.
 */
export function parseVoicemailKey(key: string): VoicemailKeyParts | undefined {
  let segments: string[];
  try {
    segments = validateKey(key);
  } catch {
    return undefined;
  }
  if (segments.length !== 4) return undefined;
  const [profile, domain, user, file] = segments as [string, string, string, string];
  if (TEMP_RE.test(file)) return undefined;
  const message = MESSAGE_RE.exec(file);
  if (message) return { profile, domain, user, file, kind: 'message', fileUuid: message[1] as string };
  if (GREETING_RE.test(file)) return { profile, domain, user, file, kind: 'greeting' };
  if (NAME_RE.test(file)) return { profile, domain, user, file, kind: 'name' };
  return { profile, domain, user, file, kind: 'other' };
}

/**
 * The key of a file the switch names by its absolute path (`VM-File-Path`, `voicemail_msgs.file_path`): the
 * path relative to `root` (`<storage_dir>/voicemail`) when it lies under it, else its last four segments
 * (`<profile>/<domain>/<user>/<file>`), so that a node whose storage directory differs still finds it.
 * `undefined` when neither is a voicemail key.
 */
export function voicemailKeyOf(path: string, root?: string): string | undefined {
  if (!path) return undefined;
  if (root && isAbsolute(path)) {
    const rel = relative(root, path);
    if (!rel.startsWith('..') && !isAbsolute(rel)) {
      const key = rel.split(sep).join('/');
      if (parseVoicemailKey(key)) return key;
    }
  }
  const segments = path.split(/[\\/]+/).filter((s) => s !== '');
  if (segments.length < 4) return undefined;
  const key = segments.slice(-4).join('/');
  return parseVoicemailKey(key) ? key : undefined;
}

/** The key prefix (with a trailing `/`) of a mailbox's files. */
export function mailboxPrefix(profile: string, domain: string, user: string): string {
  return `${posix.join(profile, domain, user)}/`;
}
