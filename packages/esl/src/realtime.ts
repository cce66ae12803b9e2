import { EslProtocolError } from './errors.js';

/** A row of `show channels as json` (every value is a string, as FreeSWITCH sends it). */
export interface ChannelRow {
  uuid: string;
  direction: string;
  created: string;
  created_epoch: string;
  name: string;
  state: string;
  cid_name: string;
  cid_num: string;
  ip_addr: string;
  dest: string;
  application: string;
  application_data: string;
  dialplan: string;
  context: string;
  read_codec: string;
  read_rate: string;
  read_bit_rate: string;
  write_codec: string;
  write_rate: string;
  write_bit_rate: string;
  secure: string;
  hostname: string;
  presence_id: string;
  presence_data: string;
  accountcode: string;
  callstate: string;
  callee_name: string;
  callee_num: string;
  callee_direction: string;
  call_uuid: string;
  sent_callee_name: string;
  sent_callee_num: string;
  initial_cid_name: string;
  initial_cid_num: string;
  initial_ip_addr: string;
  initial_dest: string;
  initial_dialplan: string;
  initial_context: string;
  [column: string]: string;
}

/** A row of `show calls as json`: the a-leg's channel columns, plus the b-leg's prefixed with `b_`. */
export interface CallRow extends ChannelRow {
  call_created_epoch: string;
}

/** A row of `show registrations as json`. */
export interface RegistrationRow {
  reg_user: string;
  realm: string;
  token: string;
  url: string;
  expires: string;
  network_ip: string;
  network_port: string;
  network_proto: string;
  hostname: string;
  metadata: string;
  [column: string]: string;
}

/**
 * The rows of a `show ... as json` answer. FreeSWITCH answers `{"row_count": 0}` (no `rows`) when there are
 * none: that is `[]`.
 */
export function parseShowJson<Row>(body: string, command: string): Row[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw new EslProtocolError(`${command}: answer is not JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object')
    throw new EslProtocolError(`${command}: answer is not a JSON object`);
  const { row_count: rowCount, rows } = parsed as { row_count?: unknown; rows?: unknown };
  if (rowCount === 0 && rows === undefined) return [];
  if (!Array.isArray(rows)) throw new EslProtocolError(`${command}: answer has no rows array`);
  return rows as Row[];
}

/** `status`, parsed. */
export interface FreeSwitchStatus {
  /** Uptime in milliseconds. */
  uptimeMs: number;
  /** `FreeSWITCH (Version ...) is ready` → the version text. */
  version: string;
  /** True when the last status line says `is ready`. */
  ready: boolean;
  sessionsSinceStartup: number;
  sessions: { current: number; peak: number; peakLast5Min: number };
  sessionsPerSecond: { current: number; max: number; peak: number; peakLast5Min: number };
  maxSessions: number;
  minIdleCpu: { current: number; allowed: number };
  /** The raw text, for anything not parsed here. */
  raw: string;
}

function num(text: string | undefined): number {
  return text === undefined ? Number.NaN : Number(text);
}

/**
 * Parses the text of `api status`:
 * ```
 * UP 0 years, 0 days, 0 hours, 0 minutes, 26 seconds, 385 milliseconds, 460 microseconds
 * FreeSWITCH (Version 1.10.12-release ...) is ready
 * 2 session(s) since startup
 * 0 session(s) - peak 2, last 5min 2
 * 0 session(s) per Sec out of max 30, peak 2, last 5min 2
 * 1000 session(s) max
 * min idle cpu 0.00/95.73
 * ```
 */
export function parseStatus(text: string): FreeSwitchStatus {
  const up =
    /^UP (\d+) years?, (\d+) days?, (\d+) hours?, (\d+) minutes?, (\d+) seconds?, (\d+) milliseconds?/m.exec(
      text,
    );
  if (!up) throw new EslProtocolError(`status: unexpected answer ${JSON.stringify(text.slice(0, 80))}`);
  const [years, days, hours, minutes, seconds, ms] = up.slice(1).map(Number) as number[];
  const uptimeMs =
    ((((years as number) * 365 + (days as number)) * 24 + (hours as number)) * 60 + (minutes as number)) *
      60_000 +
    (seconds as number) * 1000 +
    (ms as number);
  const version = /^FreeSWITCH \(Version ([^)]*)\)/m.exec(text)?.[1] ?? '';
  const sessions = /^(\d+) session\(s\) - peak (\d+), last 5min (\d+)/m.exec(text);
  const rate = /^(\d+) session\(s\) per Sec out of max (\d+), peak (\d+), last 5min (\d+)/m.exec(text);
  const cpu = /^min idle cpu ([\d.]+)\/([\d.]+)/m.exec(text);
  return {
    uptimeMs,
    version,
    ready: /is ready\s*$/m.test(text),
    sessionsSinceStartup: num(/^(\d+) session\(s\) since startup/m.exec(text)?.[1]),
    sessions: { current: num(sessions?.[1]), peak: num(sessions?.[2]), peakLast5Min: num(sessions?.[3]) },
    sessionsPerSecond: {
      current: num(rate?.[1]),
      max: num(rate?.[2]),
      peak: num(rate?.[3]),
      peakLast5Min: num(rate?.[4]),
    },
    maxSessions: num(/^(\d+) session\(s\) max/m.exec(text)?.[1]),
    minIdleCpu: { current: num(cpu?.[1]), allowed: num(cpu?.[2]) },
    raw: text,
  };
}
