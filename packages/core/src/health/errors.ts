import { PbxkitError, TimeoutError } from '../errors.js';

/**
 * A probe or probe monitor failure.
 *
 * Codes: `PROBE_OPTIONS` (invalid options, thrown by constructors), `PROBE_OVERLAP` (a tick found the previous
 * probe still running), `PROBE_UNREACHABLE` (no answer could come: network or host unreachable, no route, name
 * not resolved; the system error is the `cause`), `PROBE_BAD_RESPONSE` (an answer that is not the protocol's).
 */
export class ProbeError extends PbxkitError {}

/** A probe did not finish within the monitor's `timeoutMs`. Code `PROBE_TIMEOUT`. */
export class ProbeTimeoutError extends TimeoutError {
  constructor(timeoutMs: number) {
    super(`probe timed out after ${timeoutMs} ms`, timeoutMs, 'PROBE_TIMEOUT');
  }
}
