/**
 * Base class of every error pbxkit throws.
 *
 * `code` is a stable string (`ESL_AUTH`, `CDR_PARSE`, ...) that callers can switch on; messages may change
 * between versions, codes do not. Packages subclass this error, so `err instanceof PbxkitError` catches
 * everything pbxkit raises on purpose.
 */
export class PbxkitError extends Error {
  /** Stable machine-readable identifier of the failure. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    // The subclass's own name, so logs and stack traces say `EslAuthError` rather than `Error`.
    this.name = new.target.name;
  }
}

/** Thrown when an operation stops because its `AbortSignal` fired. */
export class AbortError extends PbxkitError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/** Thrown when an operation did not finish in the time it was given. */
export class TimeoutError extends PbxkitError {
  /** The limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, code = 'TIMEOUT') {
    super(code, message);
    this.timeoutMs = timeoutMs;
  }
}

/** True when `err` is a pbxkit error carrying `code`. */
export function isPbxkitError(err: unknown, code?: string): err is PbxkitError {
  return err instanceof PbxkitError && (code === undefined || err.code === code);
}
