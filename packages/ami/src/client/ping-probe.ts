import { abortErrorOf, type Probe, type ProbeVerdict } from '@pbxkit/core';
import { AmiActionError, AmiAuthError } from '../errors.js';
import type { AmiClient } from './client.js';
import { ensureConnected } from './ensure-connected.js';

/** Options of {@link amiPingProbe}. */
export interface AmiPingProbeOptions {
  /**
   * Time the `Ping` may take, in ms, passed to the action so that an unanswered one is dropped from the
   * client's pending actions too. Default: the client's `actionTimeoutMs`. Set it to the monitor's `timeoutMs`.
   */
  timeoutMs?: number;
}

/**
 * A `ProbeMonitor` probe (`@pbxkit/core`) that sends AMI `Ping` through `client`, as Synch's probe does:
 * `Response: Success` → success; `Response: Error` or a refused login → failure (Asterisk answered, badly);
 * no answer, a lost connection, a closed client or a timeout → error. A client that never connected is connected
 * first (Synch logs in on demand); one that is reconnecting is waited for, until the monitor's timeout.
 *
 * @example
 * ```ts
 * const main = new AmiClient({ host: '10.0.0.254', username: 'synch', secret: 'pw' });
 * const monitor = new ProbeMonitor({ probe: amiPingProbe(main, { timeoutMs: 4_000 }), intervalMs: 5_000 });
 * monitor.start();
 * ```
 */
export function amiPingProbe(client: AmiClient, options: AmiPingProbeOptions = {}): Probe {
  const ping = async (): Promise<ProbeVerdict> => {
    try {
      await ensureConnected(client);
      const pong = await client.action({ Action: 'Ping' }, { timeoutMs: options.timeoutMs });
      return { ok: true, detail: pong.get('Ping') ?? pong.get('Response') ?? 'Success' };
    } catch (err) {
      if (err instanceof AmiActionError || err instanceof AmiAuthError)
        return { ok: false, detail: err.message };
      throw err;
    }
  };
  return (signal) => untilAborted(ping(), signal);
}

/** `work`, or a rejection with the signal's reason as soon as it fires (the work itself is left to finish). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  const reason = (): Error => (signal.reason instanceof Error ? signal.reason : abortErrorOf(signal));
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
