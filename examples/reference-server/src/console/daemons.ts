import { ConfigError } from '../config/sources.js';

/** A daemon the pipeline page shows: a branch-failover or freeswitch-config-sync instance, by its `/health`. */
export interface DaemonTarget {
  name: string;
  /** Its health URL (`http://10.0.0.5:8090/health`); credentials in it are sent, never shown. */
  url: string;
}

/** What the pipeline page shows of one daemon. */
export interface DaemonStatus {
  name: string;
  /** The URL without credentials. */
  url: string;
  /** Reachable and answering 2xx. */
  ok: boolean;
  httpStatus: number | undefined;
  /**
   * What its health answer says: its `status` or `state` (`ok`, `failing`, `degraded`), or branch-failover's
   * states (`service Failover, monitor Failed, sync Synced`).
   */
  status: string | undefined;
  /** Why it is not ok, or its `problems`/`reason` when it says. */
  detail: string | undefined;
  checkedAt: string;
}

/**
 * `PBXKIT_CONSOLE_DAEMONS`: `name=url` pairs separated by commas, e.g.
 * `branch-a=http://10.0.0.5:8090/health,fs1-sync=http://10.0.0.11:8094/health`.
 */
export function parseDaemonTargets(value: string | undefined): DaemonTarget[] {
  if (!value?.trim()) return [];
  const targets = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^([\w.-]{1,64})=(https?:\/\/\S+)$/.exec(entry);
      if (!m)
        throw new ConfigError(
          `PBXKIT_CONSOLE_DAEMONS: ${JSON.stringify(entry.replace(/\/\/[^@/]*@/, '//…@'))} is not name=http(s)://host:port/health`,
        );
      return { name: m[1] as string, url: m[2] as string };
    });
  if (new Set(targets.map((t) => t.name)).size !== targets.length)
    throw new ConfigError('PBXKIT_CONSOLE_DAEMONS: a daemon name is listed twice');
  return targets;
}

/** Asks every daemon's health URL at once, each within `timeoutMs`; a daemon that does not answer is not ok. */
export async function checkDaemons(
  targets: readonly DaemonTarget[],
  timeoutMs = 3000,
): Promise<DaemonStatus[]> {
  return Promise.all(targets.map((t) => checkDaemon(t, timeoutMs)));
}

async function checkDaemon(target: DaemonTarget, timeoutMs: number): Promise<DaemonStatus> {
  const shown = new URL(target.url);
  const headers: Record<string, string> = {};
  if (shown.username) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(shown.username)}:${decodeURIComponent(shown.password)}`).toString('base64')}`;
    shown.username = '';
    shown.password = '';
  }
  const base = { name: target.name, url: shown.toString(), checkedAt: new Date().toISOString() };
  try {
    const res = await fetch(shown, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = (await res.text()).slice(0, 64 * 1024);
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: the HTTP status says enough.
    }
    // config-sync and most services answer `status`; branch-failover (core's status endpoint) its states.
    const states = ['service', 'monitor', 'sync']
      .filter((k) => typeof body[k] === 'string')
      .map((k) => `${k} ${body[k]}`);
    const named = [body.status, body.state].find((v): v is string => typeof v === 'string');
    const status = named ?? (states.length ? states.join(', ') : undefined);
    const problems = Array.isArray(body.problems) ? body.problems.filter((p) => typeof p === 'string') : [];
    const reason = [body.reason, body.lastError].find((v): v is string => typeof v === 'string');
    return {
      ...base,
      ok: res.ok,
      httpStatus: res.status,
      status,
      detail: problems.length ? problems.join('; ') : (reason ?? (res.ok ? undefined : `HTTP ${res.status}`)),
    };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { ...base, ok: false, httpStatus: undefined, status: undefined, detail: `unreachable: ${why}` };
  }
}
