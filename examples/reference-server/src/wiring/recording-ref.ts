import type { RecordingRef } from '@pbxkit/storage';

/** A `v_xml_cdr` row's recording reference (call start, FusionPBX's `record_path`/`record_name`, domain). */
export function recordingRefOf(uuid: string, row: Record<string, unknown>): RecordingRef {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const start = row.start_stamp;
  const ref: RecordingRef = { uuid };
  if (start instanceof Date || typeof start === 'string') ref.callStart = new Date(start);
  const path = text(row.record_path);
  if (path) ref.path = path;
  const name = text(row.record_name);
  if (name) ref.name = name;
  const domain = text(row.domain_name);
  if (domain) ref.domain = domain;
  return ref;
}
