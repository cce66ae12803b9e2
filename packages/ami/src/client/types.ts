import type { ConnectionEvents, ConnectionState } from '@pbxkit/core';
import type { AmiMessage } from '../protocol/message.js';
import type { AmiBanner } from '../protocol/parser.js';

/** Where the client is in its life: the state every pbxkit client has (`connected` was `ready`). */
export type AmiClientState = ConnectionState;

/** What `connected` carries. */
export interface AmiConnectedInfo {
  /** The banner of this connection (`Asterisk Call Manager/11.0.0`). */
  banner: AmiBanner;
  /** True after a lost connection was restored. */
  reconnected: boolean;
}

/**
 * Events of `AmiClient`: the connection events every pbxkit client has (`state`, `connected`,
 * `disconnected`, `reconnecting`, `error`, `closed`; see `ConnectionEvents` in `@pbxkit/core`), plus `event`.
 */
export interface AmiClientEvents extends ConnectionEvents<AmiConnectedInfo> {
  /** Every event Asterisk broadcasts (list items returned by `actionList` excepted). */
  event: (event: AmiMessage) => void;
  /** @deprecated Use `connected` (emitted with it, same argument). */
  connect: (info: AmiConnectedInfo) => void;
  /** @deprecated Use `disconnected` (emitted with it, same argument). */
  disconnect: (err: Error | undefined) => void;
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
