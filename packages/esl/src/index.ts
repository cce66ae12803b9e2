export {
  EslClient,
  type EslClientEvents,
  type EslClientOptions,
  type EslClientState,
  type EslLogLine,
} from './client.js';
export { parseCallcenterList } from './cluster/callcenter-list.js';
export {
  FreeSwitchCluster,
  type FreeSwitchClusterEvents,
  type FreeSwitchClusterOptions,
} from './cluster/cluster.js';
export {
  type ClusterView,
  type ClusterViewHandler,
  type ClusterViewHandlerOptions,
  clusterViewHandler,
} from './cluster/http.js';
export { CLUSTER_EVENTS, takeSnapshot } from './cluster/snapshot.js';
export {
  type CallcenterQuery,
  type ClusterQuery,
  ClusterState,
  type ClusterStateOptions,
} from './cluster/state.js';
export type * from './cluster/types.js';
export {
  type CommandOptions,
  type EslCommandEvents,
  EslCommandSet,
  type ExecuteOptions,
} from './commands.js';
export * from './config/index.js';
export {
  EslAccessDeniedError,
  EslAuthError,
  EslCommandError,
  EslConnectionError,
  EslProtocolError,
  EslTimeoutError,
} from './errors.js';
export { EslEvent, type EslEventFormat, isEventFrame } from './protocol/event.js';
export { type EslContentType, EslFrame } from './protocol/frame.js';
export { EslParser, type EslParserOptions } from './protocol/parser.js';
export {
  DISCONNECT_NOTICE_TEXT,
  EslInvalidCommandError,
  encodeApiResponse,
  encodeCommand,
  encodeCommandReply,
  encodeEventFrame,
  encodeEventPayload,
  encodeRawFrame,
  type HeaderList,
} from './protocol/serialize.js';
export { decodeHeaderValue, encodeHeaderValue } from './protocol/url-codec.js';
export {
  type CallRow,
  type ChannelRow,
  type FreeSwitchStatus,
  parseShowJson,
  parseStatus,
  type RegistrationRow,
} from './realtime.js';
export {
  EslServer,
  type EslServerEvents,
  type EslServerOptions,
  EslSession,
  type EslSessionEvents,
} from './server.js';
