import { PbxkitError } from '../errors.js';

/**
 * A status endpoint error. Codes: `STATUS_OPTIONS` (invalid options, thrown by constructors), and the codes of
 * the JSON protocol's error answers: `STATUS_TOKEN` (wrong token), `STATUS_BAD_REQUEST` (not JSON, not an object,
 * no command), `STATUS_UNKNOWN_COMMAND`, `STATUS_LINE_TOO_LONG`, `STATUS_BINARY` (control bytes or invalid UTF-8),
 * `STATUS_TIMEOUT` (no complete request in time), `STATUS_BUSY` (too many connections), `STATUS_COMMAND_FAILED`
 * (the command's handler threw).
 */
export class StatusError extends PbxkitError {}
