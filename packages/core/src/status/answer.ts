import { hasControlCharacter } from '../control-chars.js';
import type { Logger } from '../logger.js';
import {
  type FailoverStatus,
  type StatusProvider,
  type StatusTimeZone,
  statusBody,
  synchStatusJson,
} from './status.js';
import { tokenMatches } from './token.js';

/** A command of the JSON protocol: gets the request object, returns the `result` (or throws). */
export type StatusCommand = (request: Readonly<Record<string, unknown>>) => unknown;

/** What answering needs: shared by every connection of a server. */
export interface AnswerContext {
  token: string;
  status: StatusProvider;
  unhealthy: (status: FailoverStatus) => boolean;
  commands: ReadonlyMap<string, StatusCommand>;
  timeZone: StatusTimeZone;
  now: () => Date;
  log: Logger;
}

/** The protocol a line was written in: Synch's `Command(<token>)` text, or a JSON object. */
export type StatusProtocol = 'synch' | 'json';

/** One answer: the bytes to send, whether to close after them, and a result label for metrics. */
export interface Answer {
  text: string;
  close: boolean;
  result: string;
  protocol: StatusProtocol;
}

// Synch's own answers, byte for byte (ASCII, a bare LF).
const TOKEN_ERROR = 'Token error. Bye bye!\n';
const ACTION_ERROR = 'Action error. Bye bye!\n';
const SYNCH_LINE = /^([A-Za-z]*)\((.*)\)[ \t]*$/s;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The protocol an unterminated or unreadable request looks like, for its error answer. */
export function protocolOf(bytes: Buffer): StatusProtocol {
  return bytes[0] === 0x7b ? 'json' : 'synch';
}

/** True when `bytes` (no line end yet) already hold a whole Synch request, which Synch answers without one. */
export function isCompleteSynchRequest(bytes: Buffer): boolean {
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x29) return false;
  return SYNCH_LINE.test(bytes.toString('latin1'));
}

/**
 * An error answer in the request's protocol. Synch-style text for text requests (`Line too long. Bye bye!`),
 * a JSON error object for JSON ones.
 */
export function errorAnswer(
  protocol: StatusProtocol,
  code: string,
  message: string,
  close: boolean,
  id?: unknown,
): Answer {
  const result = code.replace(/^STATUS_/, '').toLowerCase();
  if (protocol === 'synch') return { text: `${message}. Bye bye!\n`, close: true, result, protocol };
  const body = { ...idOf(id), ok: false, error: { code, message } };
  return { text: `${JSON.stringify(body)}\n`, close, result, protocol };
}

/**
 * Answers one request line (without its line end). Synch requests (`GetStatus(<token>)`) get Synch's exact
 * answers and close the connection, as Synch does; JSON requests (`{"command":"status","token":"..."}`) get a
 * JSON line each and keep it open, except after a wrong token.
 */
export async function answerLine(line: Buffer, ctx: AnswerContext): Promise<Answer | undefined> {
  const protocol = protocolOf(line);
  let text: string;
  try {
    text = utf8.decode(line);
  } catch {
    return errorAnswer(protocol, 'STATUS_BINARY', 'Binary input', true);
  }
  if (hasControlCharacter(text, true)) return errorAnswer(protocol, 'STATUS_BINARY', 'Binary input', true);
  if (text.trim() === '') return undefined;
  return protocol === 'json' ? answerJson(text, ctx) : answerSynch(text, ctx);
}

async function answerSynch(text: string, ctx: AnswerContext): Promise<Answer> {
  const match = SYNCH_LINE.exec(text);
  if (!match)
    return errorAnswer('synch', 'STATUS_BAD_REQUEST', 'Syntax error: send GetStatus(<token>)', true);
  const [, action, token] = match as unknown as [string, string, string];
  // The token first, as Synch does: a caller without it learns nothing about the actions.
  if (!tokenMatches(token, ctx.token))
    return { text: TOKEN_ERROR, close: true, result: 'token', protocol: 'synch' };
  if (action !== 'GetStatus')
    return { text: ACTION_ERROR, close: true, result: 'unknown_command', protocol: 'synch' };
  try {
    const status = await ctx.status();
    return {
      text: `${synchStatusJson(status, ctx.now(), ctx.timeZone)}\n`,
      close: true,
      result: 'ok',
      protocol: 'synch',
    };
  } catch (err) {
    ctx.log.error({ err }, 'status provider failed');
    return errorAnswer('synch', 'STATUS_COMMAND_FAILED', 'Status error', true);
  }
}

async function answerJson(text: string, ctx: AnswerContext): Promise<Answer> {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return errorAnswer('json', 'STATUS_BAD_REQUEST', 'not valid JSON', false);
  }
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return errorAnswer('json', 'STATUS_BAD_REQUEST', 'a request is a JSON object', false);
  }
  const fields = request as Record<string, unknown>;
  const { id, command, token } = fields;
  if (typeof token !== 'string' || !tokenMatches(token, ctx.token)) {
    return errorAnswer('json', 'STATUS_TOKEN', 'wrong token', true, id);
  }
  if (typeof command !== 'string') {
    return errorAnswer('json', 'STATUS_BAD_REQUEST', 'command must be a string', false, id);
  }
  const handler = ctx.commands.get(command);
  if (!handler)
    return errorAnswer(
      'json',
      'STATUS_UNKNOWN_COMMAND',
      `unknown command ${JSON.stringify(command)}`,
      false,
      id,
    );
  try {
    const body = { ...idOf(id), ok: true, result: await handler(fields) };
    // Inside the try: a result JSON cannot represent (a BigInt, a cycle) is the command's failure.
    return { text: `${JSON.stringify(body)}\n`, close: false, result: 'ok', protocol: 'json' };
  } catch (err) {
    ctx.log.error({ err, command }, 'status command failed');
    const message = err instanceof Error ? err.message : String(err);
    return errorAnswer('json', 'STATUS_COMMAND_FAILED', message, false, id);
  }
}

/** The built-in JSON commands: `status` and `health`. */
export function builtinCommands(
  ctx: Pick<AnswerContext, 'status' | 'unhealthy' | 'now'>,
): Map<string, StatusCommand> {
  return new Map<string, StatusCommand>([
    ['status', async () => statusBody(await ctx.status(), ctx.now(), ctx.unhealthy)],
    ['health', async () => ({ healthy: !ctx.unhealthy(await ctx.status()) })],
  ]);
}

function idOf(id: unknown): { id?: string | number } {
  return typeof id === 'string' || typeof id === 'number' ? { id } : {};
}
