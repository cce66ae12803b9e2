export type { FakeCallOptions } from './channel-data.js';
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
