import { fixture } from '../../../scripts/test-env.js';
import { EslEvent, EslParser, isEventFrame } from '../src/index.js';

/** The events of a captured FreeSWITCH stream, in order. */
export function capturedEvents(...path: string[]): EslEvent[] {
  return new EslParser()
    .feed(fixture(...path))
    .filter((f) => isEventFrame(f))
    .map((f) => EslEvent.fromFrame(f));
}

/**
 * The `api` answers of a capture, by command: the `.sent` file's `api ...` lines paired in order with the
 * `api/response` bodies of the `.txt` file.
 */
export function capturedApiReplies(dir: string[], name: string): Map<string, string> {
  const commands = fixture(...dir, `${name}.sent`)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('api '))
    .map((line) => line.slice(4));
  const bodies = new EslParser()
    .feed(fixture(...dir, `${name}.txt`))
    .filter((f) => f.contentType === 'api/response')
    .map((f) => f.bodyText);
  return new Map(commands.map((command, i) => [command, bodies[i] ?? '']));
}

/** Headers of a `sofia::register` as mod_sofia 1.10 fires it (sofia_reg.c), for a user on a domain. */
export function registerHeaders(
  user: string,
  domain: string,
  callId: string,
  expires = 300,
): Record<string, string> {
  return {
    'Event-Name': 'CUSTOM',
    'Event-Subclass': 'sofia::register',
    'profile-name': 'internal',
    'from-user': user,
    'from-host': domain,
    'presence-hosts': 'n/a',
    contact: `"${user}" <sip:${user}@192.0.2.10:5062;transport=udp>`,
    'call-id': callId,
    rpid: 'unknown',
    status: 'Registered(UDP)',
    expires: String(expires),
    'to-user': user,
    'to-host': domain,
    'network-ip': '192.0.2.10',
    'network-port': '5062',
    username: user,
    realm: domain,
    'user-agent': 'Linphone/5.2',
  };
}
