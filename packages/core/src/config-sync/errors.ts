import { PbxkitError } from '../errors.js';

/**
 * A configuration source or webhook error. Codes: `CONFIG_SOURCE_OPTIONS` (invalid options),
 * `CONFIG_SOURCE_READ` (a directory or file that cannot be read), `CONFIG_SOURCE_GIT` (a `git` command failed;
 * the message has its stderr), `CONFIG_SOURCE_RENDER` (a renderer threw or returned something else than
 * files), `WEBHOOK_SIGNATURE` (missing or wrong signature or token), `WEBHOOK_PAYLOAD` (a body that is not a
 * push event of a known forge).
 */
export class ConfigSourceError extends PbxkitError {}
