import { AMI_CLASSES, parseAmiEventMask } from '../protocol/permissions.js';
import type { AmiActionFields } from '../protocol/serialize.js';
import type { AmiActionOptions, AmiClientOptions } from './options.js';

/** Per-call options of `AmiClient.originate`. */
export interface AmiOriginateOptions extends AmiActionOptions {
  /**
   * `false` resolves an async originate on its `Response: Success` without waiting for `OriginateResponse`.
   * The client already does so when its event mask leaves out `call`; pass it when the manager user's
   * `read=` (in manager.conf, which the client cannot see) lacks `call`, for Asterisk then sends no
   * `OriginateResponse` either.
   */
  waitForEvent?: boolean;
}

/** An event mask as the login `Events:` header or an `Events` action's `EventMask` carries it. */
export function eventMaskText(mask: NonNullable<AmiClientOptions['events']>): string {
  return typeof mask === 'string' ? mask : mask.join(',');
}

/** The `EventMask` of an `Events` action (any case), as Asterisk reads it; `undefined` for other actions. */
export function eventsActionMask(fields: AmiActionFields): string | undefined {
  const action = fields.Action;
  // Every action passes here: a length test first keeps that nearly free.
  if (typeof action !== 'string' || action.length !== 6 || action.toLowerCase() !== 'events')
    return undefined;
  const key = Object.keys(fields).find((k) => k.toLowerCase() === 'eventmask');
  const given = key === undefined ? undefined : fields[key];
  // A repeated header: Asterisk reads the first.
  return String((Array.isArray(given) ? given[0] : given) ?? '');
}

/**
 * Whether a connection that asked for `mask` receives call events such as `OriginateResponse` (manager.c
 * sends an event only when the session's mask holds its class). An empty mask keeps the user's `read=`
 * classes, assumed to include `call`.
 */
export function maskHasCallEvents(mask: string): boolean {
  const bits = parseAmiEventMask(mask);
  return bits === undefined || (bits & AMI_CLASSES.call) !== 0;
}
