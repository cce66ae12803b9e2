import { PbxkitError, TimeoutError } from '@pbxkit/core';
import type { AmiMessage } from './protocol/message.js';

/**
 * The bytes Asterisk sent break the AMI framing: a message larger than the parser's limit, a first line that
 * is not an AMI banner, or an event list whose `ListItems` disagrees with the items received.
 *
 * Codes: `AMI_PROTOCOL` (generic), `AMI_MESSAGE_TOO_LARGE`, `AMI_NOT_AMI`, `AMI_LIST_MISMATCH`.
 */
export class AmiProtocolError extends PbxkitError {
  constructor(message: string, code = 'AMI_PROTOCOL', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Asterisk refused the `Login` (wrong user, secret, or ACL). Code `AMI_AUTH`. */
export class AmiAuthError extends PbxkitError {
  /** Asterisk's answer, when there was one (`Message: Authentication failed`). */
  readonly response: AmiMessage | undefined;

  constructor(message: string, response?: AmiMessage) {
    super('AMI_AUTH', message);
    this.response = response;
  }
}

/** Asterisk answered an action with `Response: Error`. Code `AMI_ACTION`. */
export class AmiActionError extends PbxkitError {
  /** The action name that failed, as sent. */
  readonly action: string;
  /** The full error response, e.g. to read `Output:` lines of a failed `Command`. */
  readonly response: AmiMessage;

  constructor(action: string, response: AmiMessage, detail?: string) {
    const text = detail ?? response.get('Message') ?? 'no message';
    super('AMI_ACTION', `${action} failed: ${text}`);
    this.action = action;
    this.response = response;
  }
}

/**
 * The connection is not usable: never established, lost, or closed while the action was pending. Code
 * `AMI_CONNECTION`.
 */
export class AmiConnectionError extends PbxkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AMI_CONNECTION', message, options);
  }
}

/** An action, the banner, or the login did not complete in time. Code `AMI_TIMEOUT`. */
export class AmiTimeoutError extends TimeoutError {
  constructor(message: string, timeoutMs: number) {
    super(message, timeoutMs, 'AMI_TIMEOUT');
  }
}

/**
 * An action the caller built cannot be sent as it is: a CR or LF inside a field (which would inject
 * headers), an empty key, more than 128 headers or a line longer than Asterisk reads. Code
 * `AMI_INVALID_ACTION`. Thrown before anything is written.
 */
export class AmiInvalidActionError extends PbxkitError {
  constructor(message: string) {
    super('AMI_INVALID_ACTION', message);
  }
}

/** `.conf` text that Asterisk itself would refuse (a `[` without `]`, a line outside any category). */
export class AmiConfigParseError extends PbxkitError {
  /** 1-based line number of the offending line. */
  readonly line: number;

  constructor(message: string, line: number) {
    super('AMI_CONFIG_PARSE', `line ${line}: ${message}`);
    this.line = line;
  }
}
