import type { AmiMessage } from '../protocol/message.js';
import type { AmiBanner } from '../protocol/parser.js';

/** Where the client is in its life. */
export type AmiClientState = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** Events of `AmiClient`. */
export interface AmiClientEvents {
  /** Every event Asterisk broadcasts (list items returned by `actionList` excepted). */
  event: (event: AmiMessage) => void;
  /** Logged in; `reconnected` is true after a lost connection was restored. */
  connect: (info: { banner: AmiBanner; reconnected: boolean }) => void;
  /** The connection was lost or closed; pending actions were rejected with `AmiConnectionError`. */
  disconnect: (err: Error | undefined) => void;
  /** A reconnection attempt is scheduled in `delayMs`. */
  reconnecting: (info: { attempt: number; delayMs: number }) => void;
  /** A failure with no caller to reject: a reconnection attempt, a keepalive, a protocol error. */
  error: (err: Error) => void;
  /** `close()` finished: the client will not reconnect. */
  closed: () => void;
}

/** Parameters of {@link AmiClient.originate}, the fields of the `Originate` action. */
export interface AmiOriginateParams {
  Channel: string;
  Context?: string;
  Exten?: string | number;
  Priority?: string | number;
  Application?: string;
  Data?: string;
  /** Ring timeout in ms (Asterisk's default 30 000); the action's own timeout is extended past it. */
  Timeout?: number;
  CallerID?: string;
  Account?: string;
  /** Channel variables: `{ NAME: 'value' }` becomes one `Variable: NAME=value` line each. */
  Variable?: Record<string, string | number>;
  /** Default `true`: answer at once and resolve on the `OriginateResponse` event. */
  Async?: boolean;
  [field: string]: string | number | boolean | undefined | Record<string, string | number>;
}
