import { PbxkitError, TimeoutError } from '@pbxkit/core';

/** Bytes from FreeSWITCH that break the framing: oversized frame, bad Content-Length. The connection closes. */
export class EslProtocolError extends PbxkitError {
  constructor(message: string, code = 'ESL_PROTOCOL') {
    super(code, message);
  }
}

/** FreeSWITCH refused the password (`-ERR invalid`) or the user (`userauth`). */
export class EslAuthError extends PbxkitError {
  constructor(message = 'FreeSWITCH rejected the credentials (-ERR invalid)') {
    super('ESL_AUTH', message);
  }
}

/** FreeSWITCH's ACL refused this client's address (`text/rude-rejection`). */
export class EslAccessDeniedError extends PbxkitError {
  constructor(message = 'FreeSWITCH refused the connection by ACL (text/rude-rejection)') {
    super('ESL_ACCESS_DENIED', message);
  }
}

/** A command or API call answered with `-ERR ...`. `reply` holds FreeSWITCH's text without the `-ERR ` prefix. */
export class EslCommandError extends PbxkitError {
  constructor(
    readonly command: string,
    readonly reply: string,
  ) {
    super('ESL_COMMAND', `${command.split('\n', 1)[0]}: -ERR ${reply}`);
  }
}

/** The connection could not be made, or dropped while a command or job was waiting for its answer. */
export class EslConnectionError extends PbxkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ESL_CONNECTION', message, options);
  }
}

/**
 * A command, job or connection attempt did not complete within its timeout, or the keepalive found the
 * connection silent. A core `TimeoutError` (as `AmiTimeoutError` is): `err instanceof TimeoutError` catches
 * both; `timeoutMs` is the limit.
 */
export class EslTimeoutError extends TimeoutError {
  constructor(message: string, timeoutMs: number) {
    super(message, timeoutMs, 'ESL_TIMEOUT');
  }
}
