import { PbxkitError } from '../errors.js';

/**
 * A configuration store error. Codes: `CONFIG_STORE_OPTIONS` (invalid options), `CONFIG_STORE_NAME` (a file
 * name that is not a clean relative path), `CONFIG_STORE_NOT_FOUND` (no such version), `CONFIG_STORE_CORRUPT`
 * (a version whose files do not match its checksums, or whose `version.json` cannot be read),
 * `CONFIG_STORE_CONFLICT` (another writer created the same version number).
 */
export class ConfigStoreError extends PbxkitError {}
