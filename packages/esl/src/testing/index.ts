// The fake imports the main entry by the package's own name, not by relative paths: the build keeps those as
// imports of the main entry, so FakeFreeSwitch and your code share one EslFrame, EslParser, ... (instanceof
// works across the two entries).

export type { FakeCallOptions } from './channel-data.js';
export { cutEventFrames, type ReplayFrame } from './event-replay.js';
export { FakeCallcenter } from './fake-callcenter.js';
export {
  type FakeApiHandler,
  type FakeAppHandler,
  type FakeChannel,
  FakeFreeSwitch,
  type FakeFreeSwitchOptions,
  type FakeOutboundCall,
  type ReceivedCommand,
} from './fake-freeswitch.js';
export type { FakePeer } from './fake-peer.js';
export { type FakeRegistrationOptions, FakeRegistrations } from './fake-registrations.js';
export { FakeReloads, FS_RELOAD_REPLIES } from './fake-reload.js';
