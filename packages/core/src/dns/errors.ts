import { PbxkitError } from '../errors.js';

/** A configuration the responder cannot serve: wrong name, address, TTL, port or state. */
export class DnsConfigError extends PbxkitError {
  constructor(message: string) {
    super('DNS_CONFIG', message);
  }
}

/** The responder could not listen (port in use, no permission for port 53, address not on this host). */
export class DnsListenError extends PbxkitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DNS_LISTEN', message, options);
  }
}
