/** The console API's error answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  let reason = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { reason?: string };
    if (body.reason) reason = body.reason;
  } catch {
    // not JSON: keep the status line
  }
  throw new ApiError(res.status, reason);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await check(
    await fetch(path, { signal: signal ?? null, headers: { accept: 'application/json' } }),
  );
  return (await res.json()) as T;
}

export async function getText(path: string): Promise<string> {
  return (await check(await fetch(path))).text();
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await check(
    await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
  return (await res.json()) as T;
}

export interface Row {
  xml_cdr_uuid: string;
  start_stamp: string | null;
  direction: string | null;
  caller_id_name: string | null;
  caller_id_number: string | null;
  destination_number: string | null;
  domain_name: string | null;
  duration: number | null;
  billsec: number | null;
  status: string | null;
  hangup_cause: string | null;
  leg: string | null;
  bridge_uuid: string | null;
  originating_leg_uuid: string | null;
  record_name: string | null;
}
