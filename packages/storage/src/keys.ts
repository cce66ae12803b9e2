import type { RecordingRef } from './recording.js';

/**
 * How a recording's key is built from its reference: a template string, or a function (return `undefined`
 * when the reference lacks what the key needs).
 *
 * Template tokens: `{uuid}`, `{domain}`, `{name}` (the file name; default `{uuid}.{ext}`), `{ext}` (of the
 * name, default `wav`), and the call start's `{YYYY}`, `{MM}` (01-12), `{Mon}` (Jan-Dec), `{DD}`, `{HH}`, in UTC
 * unless `timeZone` is given to {@link renderKey}.
 */
export type KeyTemplate = string | ((ref: RecordingRef) => string | undefined);

/** FusionPBX's layout under its recordings directory: `{domain}/archive/{YYYY}/{Mon}/{DD}/{name}`. */
export const FUSIONPBX_KEY_TEMPLATE = '{domain}/archive/{YYYY}/{Mon}/{DD}/{name}';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Renders `template` for `ref`, or `undefined` when a token it uses is unknown for this reference. */
export function renderKey(template: KeyTemplate, ref: RecordingRef, timeZone?: string): string | undefined {
  if (typeof template === 'function') return template(ref);
  const name = ref.name ?? `${ref.uuid}.wav`;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1) : 'wav';
  const parts = ref.callStart ? dateParts(ref.callStart, timeZone) : undefined;
  let missing = false;
  const out = template.replace(/\{(\w+)\}/g, (token, field: string) => {
    let value: string | undefined;
    switch (field) {
      case 'uuid':
        value = ref.uuid;
        break;
      case 'domain':
        value = ref.domain;
        break;
      case 'name':
        value = name;
        break;
      case 'ext':
        value = ext;
        break;
      case 'YYYY':
      case 'MM':
      case 'Mon':
      case 'DD':
      case 'HH':
        value = parts?.[field];
        break;
      default:
        throw new TypeError(`unknown key template token ${token}`);
    }
    if (value === undefined || value === '') missing = true;
    return value ?? '';
  });
  return missing ? undefined : out;
}

function dateParts(date: Date, timeZone?: string): Record<'YYYY' | 'MM' | 'Mon' | 'DD' | 'HH', string> {
  if (!timeZone) {
    return {
      YYYY: String(date.getUTCFullYear()),
      MM: String(date.getUTCMonth() + 1).padStart(2, '0'),
      Mon: MONTHS[date.getUTCMonth()] as string,
      DD: String(date.getUTCDate()).padStart(2, '0'),
      HH: String(date.getUTCHours()).padStart(2, '0'),
    };
  }
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    hourCycle: 'h23',
  });
  const get = (type: string) => f.formatToParts(date).find((p) => p.type === type)?.value ?? '';
  const month = Number(get('month'));
  return {
    YYYY: get('year'),
    MM: get('month'),
    Mon: MONTHS[month - 1] as string,
    DD: get('day'),
    HH: get('hour'),
  };
}
