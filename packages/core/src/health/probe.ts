/**
 * What a probe found when the peer answered: `ok: true` for a good answer, `ok: false` for a bad one (an AMI
 * `Response: Error`, a SIP 503, a refused TCP connection). `detail` says what, for logs and events.
 */
export interface ProbeVerdict {
  ok: boolean;
  detail?: string;
}

/**
 * One health check of the peer. Resolve with a verdict when the peer answered; throw (or reject) when no
 * answer could be had (timeout, unreachable network): the monitor counts that as an `error`, which the Synch
 * policy weighs more than a failure. `signal` fires when the monitor's `timeoutMs` is up or it stops: stop
 * then, and release what you opened.
 *
 * @example
 * ```ts
 * const httpProbe: Probe = async (signal) => {
 *   const res = await fetch('http://10.0.0.254/health', { signal });
 *   return { ok: res.ok, detail: `HTTP ${res.status}` };
 * };
 * ```
 */
export type Probe = (signal: AbortSignal) => Promise<ProbeVerdict>;
