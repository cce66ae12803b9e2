import { AmiInvalidActionError } from '../errors.js';

/**
 * A value of an action field. Arrays send the key once per element, in order (`Variable: A=1`,
 * `Variable: B=2`); an object sends `Key: name=value` per entry, the form `Originate`'s `Variable` uses;
 * `undefined` and `null` leave the field out; booleans become `true`/`false`.
 */
export type AmiFieldValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly (string | number)[]
  | Readonly<Record<string, string | number>>;

/** The fields of an action: `Action` is required; the client adds `ActionID`. */
export interface AmiActionFields {
  Action: string;
  [key: string]: AmiFieldValue;
}

/** Asterisk keeps at most this many headers of one action (AST_MAX_MANHEADERS) and ignores the rest. */
export const MAX_ACTION_HEADERS = 128;
/** Asterisk's input buffer holds 1024 bytes; a line and its CRLF must fit, or Asterisk drops the action. */
export const MAX_ACTION_LINE_BYTES = 1022;

const KEY = /^[A-Za-z0-9_.-]+$/;
const CRLF_CHARS = /[\r\n]/;

/**
 * Serialises an action to wire bytes (`Key: value` lines, CRLF, a blank line), with `actionId` as the
 * second line. Throws {@link AmiInvalidActionError} before anything is sent if a key is malformed, a value
 * contains CR or LF (header injection), or Asterisk would truncate or drop the action.
 */
export function serializeAction(fields: AmiActionFields, actionId?: string): string {
  let out = '';
  let count = 0;
  const line = (key: string, value: string): void => {
    if (CRLF_CHARS.test(value)) {
      throw new AmiInvalidActionError(`field ${key} contains CR or LF, which would inject headers`);
    }
    const text = `${key}: ${value}`;
    if (text.length > MAX_ACTION_LINE_BYTES / 3 && Buffer.byteLength(text) > MAX_ACTION_LINE_BYTES) {
      throw new AmiInvalidActionError(
        `field ${key} is longer than Asterisk's ${MAX_ACTION_LINE_BYTES}-byte line`,
      );
    }
    out += `${text}\r\n`;
    count++;
  };

  const action = fields.Action;
  if (typeof action !== 'string' || action.length === 0) {
    throw new AmiInvalidActionError('Action is required');
  }
  line('Action', action);
  if (actionId !== undefined) line('ActionID', actionId);
  for (const key in fields) {
    if (key === 'Action') continue;
    if (actionId !== undefined && key.length === 8 && key.toLowerCase() === 'actionid') continue;
    if (!KEY.test(key)) throw new AmiInvalidActionError(`invalid field name ${JSON.stringify(key)}`);
    const value = fields[key];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) line(key, String(item));
    } else if (typeof value === 'object') {
      for (const name in value) line(key, `${name}=${(value as Record<string, string | number>)[name]}`);
    } else {
      line(key, String(value));
    }
  }
  if (count > MAX_ACTION_HEADERS) {
    throw new AmiInvalidActionError(
      `${action} has ${count} headers; Asterisk reads at most ${MAX_ACTION_HEADERS} per action`,
    );
  }
  return `${out}\r\n`;
}
