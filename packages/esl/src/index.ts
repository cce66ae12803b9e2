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
