import type { CdrRecord } from '../record.js';

/** Where a call's recording was written, as far as the CDR tells. */
export interface RecordingRef {
  /** Directory. */
  path: string;
  /** File name. */
  name: string;
  /** Seconds, when the CDR says (`record_seconds`, else the call's `duration`). */
  lengthSeconds: number | undefined;
  /** Which clue found it (for diagnostics). */
  source: string;
}

const RECORD_APPS = new Set(['record_session', 'record', 'record_fsv', 'record_session_mask']);

function split(file: string): { path: string; name: string } | undefined {
  const trimmed = file.trim();
  if (!trimmed) return undefined;
  const slash = trimmed.lastIndexOf('/');
  if (slash <= 0) return { path: '', name: trimmed };
  return { path: trimmed.slice(0, slash), name: trimmed.slice(slash + 1) };
}

/** `uuid_record <uuid> start <path> [limit]` → the path. */
function uuidRecordPath(command: string): string | undefined {
  const at = command.indexOf('uuid_record');
  if (at === -1) return undefined;
  const tokens = command.slice(at).trim().split(/\s+/);
  return tokens[2] === 'start' ? tokens[3] : undefined;
}

/**
 * Finds the recording of a call from its CDR, following FusionPBX's detection chain (first clue wins):
 * `record_path` + `record_name`; `record_path` + `<uuid>.<record_ext>`; `cc_record_filename`; `last_app`
 * `record_session` with `last_arg`; `sofia_record_file`; `api_on_answer` `uuid_record`; `conference_recording`;
 * `current_application_data` with `api_on_answer=...uuid_record`. Then, beyond FusionPBX, any
 * `record_session`, `record` or `uuid_record` found anywhere in `app_log` (FusionPBX only looks at `last_app`).
 *
 * Unlike FusionPBX this does not require the file to exist at import time: the file may be on another tier
 * (archived to S3) by the time anyone asks. FusionPBX's last fallback, guessing
 * `{recordings}/{domain}/archive/{Y}/{M}/{d}/{uuid}.wav`, needs that check, so it is not used.
 */
export function findRecording(record: CdrRecord): RecordingRef | undefined {
  const v = record.variables;
  const lengthSeconds = numberOrUndefined(v.record_seconds) ?? numberOrUndefined(v.duration);
  const found = (file: string | undefined, source: string): RecordingRef | undefined => {
    const parts = file ? split(file) : undefined;
    return parts ? { ...parts, lengthSeconds, source } : undefined;
  };
  if (v.record_path && v.record_name)
    return { path: v.record_path, name: v.record_name, lengthSeconds, source: 'record_path+record_name' };
  if (v.record_path) {
    return {
      path: v.record_path,
      name: `${record.uuid}.${v.record_ext || 'wav'}`,
      lengthSeconds,
      source: 'record_path',
    };
  }
  const chain: Array<[string | undefined, string]> = [
    [v.cc_record_filename, 'cc_record_filename'],
    [v.last_app === 'record_session' ? v.last_arg : undefined, 'last_app record_session'],
    [v.sofia_record_file, 'sofia_record_file'],
    [v.api_on_answer ? uuidRecordPath(v.api_on_answer) : undefined, 'api_on_answer uuid_record'],
    [v.conference_recording, 'conference_recording'],
    [
      v.current_application_data?.includes('api_on_answer=')
        ? uuidRecordPath(v.current_application_data)
        : undefined,
      'current_application_data uuid_record',
    ],
  ];
  for (const [file, source] of chain) {
    const ref = found(file, source);
    if (ref) return ref;
  }
  for (const app of record.appLog) {
    if (RECORD_APPS.has(app.name)) {
      const ref = found(app.data.split(/\s+/)[0], `app_log ${app.name}`);
      if (ref) return ref;
    }
    const viaUuidRecord = uuidRecordPath(app.data);
    if (viaUuidRecord) {
      const ref = found(viaUuidRecord, `app_log ${app.name} uuid_record`);
      if (ref) return ref;
    }
  }
  return undefined;
}

function numberOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}
