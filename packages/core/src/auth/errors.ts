import { PbxkitError } from '../errors.js';

/** Why a secret was refused: none given, or one anyone could guess. */
export type SecretProblem = 'missing' | 'too_short' | 'repetitive';

/**
 * A secret (a signing key, a bearer token, a password) that is missing or too weak to protect anything; see
 * `checkSecret` for the rule. Thrown when the component is built, never later. Code `WEAK_SECRET`; `what` names
 * the secret (`link secret`, `bearer token 2`, `password of user "ccp"`), the message never contains it.
 */
export class WeakSecretError extends PbxkitError {
  constructor(
    readonly problem: SecretProblem,
    readonly what: string,
    message: string,
  ) {
    super('WEAK_SECRET', message);
  }
}

/**
 * An authentication setting that cannot be used (nothing to authenticate with, a user name with a colon, a
 * link lifetime out of range, an environment variable that does not parse). Code `AUTH_CONFIG`; `variable`
 * names the environment variable when the value came from one.
 */
export class AuthConfigError extends PbxkitError {
  constructor(
    message: string,
    readonly variable?: string,
  ) {
    super('AUTH_CONFIG', variable ? `${variable}: ${message}` : message);
  }
}
