import { createHash } from 'node:crypto';
import { AmiActionError, AmiAuthError } from '../errors.js';
import type { AmiMessage } from '../protocol/message.js';
import type { AmiActionFields } from '../protocol/serialize.js';
import type { AmiClientOptions } from './options.js';

/**
 * Logs in on a fresh connection: `Login` with the secret, or with `authType: 'md5'` a `Challenge` first and
 * `Key: md5(challenge + secret)`, so the secret never crosses the wire. A refusal rejects with
 * {@link AmiAuthError} carrying Asterisk's answer.
 */
export async function login(
  send: (fields: AmiActionFields) => Promise<AmiMessage>,
  options: Pick<AmiClientOptions, 'username' | 'secret' | 'authType'> & {
    events?: string | readonly string[];
  },
): Promise<void> {
  const { username, secret, authType = 'plain', events = 'on' } = options;
  const Events = typeof events === 'string' ? events : events.join(',');
  const fields: AmiActionFields = { Action: 'Login', Username: username, Events };
  if (authType === 'md5') {
    const challenge = await send({ Action: 'Challenge', AuthType: 'MD5' });
    const key = createHash('md5')
      .update(`${challenge.get('Challenge') ?? ''}${secret}`)
      .digest('hex');
    Object.assign(fields, { AuthType: 'MD5', Key: key });
  } else {
    fields.Secret = secret;
  }
  try {
    await send(fields);
  } catch (err) {
    if (err instanceof AmiActionError) {
      throw new AmiAuthError(
        `login as ${username} refused: ${err.response.get('Message') ?? ''}`,
        err.response,
      );
    }
    throw err;
  }
}
