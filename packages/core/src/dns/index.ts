export type { DnsResult, DnsTransport } from './dns-metrics.js';
export { DnsConfigError, DnsListenError } from './errors.js';
export type { DnsResponderOptions, DnsState, SipTransport } from './options.js';
export {
  type DnsChange,
  DnsResponder,
  type DnsResponderEvents,
  type DnsTargetState,
  nextSerial,
} from './responder.js';
