import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AuthConfigError,
  CredentialChecker,
  checkSecret,
  HttpAuth,
  httpAuthOptionsFromEnv,
  secretsEqual,
  UrlSigner,
  WeakSecretError,
} from '../src/index.js';

const LINK_SECRET = 'link-secret-for-tests-0123456789abcdef';
const OLD_SECRET = 'the-previous-link-secret-0123456789xyz';
const TOKEN = 'ccp-token-0123456789abcdefghijklmnopqrstuv';
const PASSWORD = 'operator password long enough to pass';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the secret rule (every pbxkit secret: tokens, passwords, link and peer secrets)', () => {
  it.each([
    ['nothing', undefined, 'missing'],
    ['an empty string', '', 'missing'],
    ['31 characters', 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d', 'too_short'],
    ['32 times one character', 'x'.repeat(32), 'repetitive'],
    ['a placeholder repeated', 'changeme'.repeat(4), 'repetitive'],
    ['a 15-byte Buffer', randomBytes(15), 'too_short'],
  ])('refuses %s, naming the secret but never showing it', (_label, secret, problem) => {
    let err: unknown;
    try {
      checkSecret(secret, 'link secret');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeakSecretError);
    expect(err).toMatchObject({ code: 'WEAK_SECRET', problem, what: 'link secret' });
    expect((err as Error).message).toMatch(/link secret.*openssl rand -hex 32/);
    if (typeof secret === 'string' && secret) expect((err as Error).message).not.toContain(secret);
  });

  it('accepts `openssl rand -hex 16` output, a long passphrase and 16 random bytes; compares by content', () => {
    for (const s of [randomBytes(16).toString('hex'), PASSWORD, randomBytes(16)]) checkSecret(s, 'x');
    expect(secretsEqual(TOKEN, TOKEN)).toBe(true);
    expect(secretsEqual(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(secretsEqual('', TOKEN)).toBe(false);
  });
});

describe('UrlSigner', () => {
  let now = Date.parse('2026-11-23T12:00:00Z');
  const clock = () => now;
  const signer = new UrlSigner({ secret: LINK_SECRET, maxLifetimeSeconds: 3600, clock });

  it('signs a path and its query; the link is valid until it expires, then expired', () => {
    now = Date.parse('2026-11-23T12:00:00Z');
    const link = signer.sign('/recordings/abc?download=1', { expiresInSeconds: 300 });
    expect(link).toMatch(/^\/recordings\/abc\?download=1&expires=\d+&sig=[A-Za-z0-9_-]{43}$/);
    expect(signer.verify(link)).toBe('valid');
    now += 299_000;
    expect(signer.verify(link)).toBe('valid');
    now += 1_000;
    expect(signer.verify(link)).toBe('expired');
  });

  it('refuses any change to the path, the expiry or the query, and another secret', () => {
    now = Date.parse('2026-11-23T12:00:00Z');
    const link = signer.sign('/recordings/abc', { expiresInSeconds: 300 });
    const expires = /expires=(\d+)/.exec(link)?.[1] as string;
    expect(signer.verify(link.replace('/abc', '/abd'))).toBe('forged');
    expect(signer.verify(link.replace(`expires=${expires}`, `expires=${Number(expires) + 3000}`))).toBe(
      'forged',
    );
    expect(signer.verify(`${link}&download=1`)).toBe('forged');
    expect(signer.verify(link.replace('?', '?download=1&'))).toBe('forged');
    const other = new UrlSigner({ secret: OLD_SECRET, clock });
    expect(signer.verify(other.sign('/recordings/abc', { expiresInSeconds: 300 }))).toBe('forged');
    // The server sees '/recordings/x/../abc' as '/recordings/abc': the same resource, the same signature.
    expect(signer.verify(link.replace('/abc', '/x/../abc'))).toBe('valid');
  });

  it('tells unsigned, malformed and over-long links apart', () => {
    now = Date.parse('2026-11-23T12:00:00Z');
    const link = signer.sign('/recordings/abc', { expiresInSeconds: 300 });
    expect(signer.verify('/recordings/abc')).toBe('unsigned');
    expect(signer.verify('/recordings/abc?sig=x')).toBe('malformed');
    expect(signer.verify(`${link}&sig=${'A'.repeat(43)}`)).toBe('malformed');
    expect(signer.verify(link.replace(/sig=.*/, 'sig=short'))).toBe('malformed');
    expect(signer.verify('http://evil/recordings/abc')).toBe('malformed');
    // Signed with the same secret by a signer allowing a week: genuine, but longer than this one accepts.
    const generous = new UrlSigner({ secret: LINK_SECRET, maxLifetimeSeconds: 7 * 86_400, clock });
    expect(signer.verify(generous.sign('/recordings/abc', { expiresInSeconds: 86_400 }))).toBe('too_long');
  });

  it('rotation: the first secret signs, the previous one still verifies', () => {
    now = Date.parse('2026-11-23T12:00:00Z');
    const before = new UrlSigner({ secret: OLD_SECRET, clock }).sign('/r/a', { expiresInSeconds: 60 });
    const rotated = new UrlSigner({ secret: [LINK_SECRET, OLD_SECRET], clock });
    expect(rotated.verify(before)).toBe('valid');
    const after = rotated.sign('/r/a', { expiresInSeconds: 60 });
    expect(new UrlSigner({ secret: LINK_SECRET, clock }).verify(after)).toBe('valid');
    expect(new UrlSigner({ secret: OLD_SECRET, clock }).verify(after)).toBe('forged');
  });

  it('refuses weak secrets, lifetimes out of range and targets already signed', () => {
    expect(() => new UrlSigner({ secret: 'short' })).toThrow(WeakSecretError);
    expect(() => new UrlSigner({ secret: [LINK_SECRET, 'x'.repeat(40)] })).toThrow(/previous link secret 1/);
    expect(() => new UrlSigner({ secret: [] })).toThrow(WeakSecretError);
    expect(() => signer.sign('/r/a', { expiresInSeconds: 3601 })).toThrow(AuthConfigError);
    expect(() => signer.sign('/r/a', { expiresInSeconds: 0 })).toThrow(AuthConfigError);
    expect(() => signer.sign('/r/a?sig=1', { expiresInSeconds: 60 })).toThrow(AuthConfigError);
    expect(() => signer.sign('r/a', { expiresInSeconds: 60 })).toThrow(AuthConfigError);
  });
});

describe('CredentialChecker', () => {
  const checker = new CredentialChecker({
    bearerTokens: [TOKEN],
    basicUsers: { ops: PASSWORD, 'ccp@acme': `${PASSWORD}:with a colon` },
  });

  it('accepts configured bearer tokens and Basic users (a password may hold colons)', () => {
    expect(checker.check(`Bearer ${TOKEN}`)).toEqual({
      result: 'ok',
      scheme: 'bearer',
      principal: 'token#1',
    });
    expect(checker.check(`bearer   ${TOKEN} `)).toMatchObject({ result: 'ok' });
    expect(checker.check(basic('ops', PASSWORD))).toEqual({
      result: 'ok',
      scheme: 'basic',
      principal: 'ops',
    });
    expect(checker.check(basic('ccp@acme', `${PASSWORD}:with a colon`))).toMatchObject({
      result: 'ok',
      principal: 'ccp@acme',
    });
  });

  it('refuses anything else, and tells a missing header from a wrong one', () => {
    expect(checker.check(undefined)).toEqual({ result: 'missing' });
    expect(checker.check('')).toEqual({ result: 'missing' });
    for (const header of [
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      basic('ops', `${PASSWORD}x`),
      basic('ccp@acme', PASSWORD),
      basic('nobody', PASSWORD),
      basic('', PASSWORD),
      `Basic ${Buffer.from(PASSWORD).toString('base64')}`,
      `Digest username="ops"`,
      `Token ${TOKEN}`,
    ]) {
      expect(checker.check(header), header).toEqual({ result: 'invalid' });
    }
  });

  it('refuses weak tokens and passwords, unsendable tokens and bad user names when built', () => {
    expect(() => new CredentialChecker({ bearerTokens: [TOKEN, 'changeme'] })).toThrow(/bearer token 2/);
    expect(() => new CredentialChecker({ basicUsers: { ops: 'secret' } })).toThrow(WeakSecretError);
    expect(() => new CredentialChecker({ bearerTokens: [`${TOKEN} with spaces`] })).toThrow(AuthConfigError);
    expect(() => new CredentialChecker({ basicUsers: { 'a:b': PASSWORD } })).toThrow(AuthConfigError);
    expect(() => new CredentialChecker({ basicUsers: { '': PASSWORD } })).toThrow(AuthConfigError);
  });
});

describe('HttpAuth', () => {
  it('needs something to authenticate with, and a realm that can be quoted', () => {
    expect(() => new HttpAuth({})).toThrow(AuthConfigError);
    expect(() => new HttpAuth({ bearerTokens: [] })).toThrow(/nothing to authenticate with/);
    expect(() => new HttpAuth({ bearerTokens: [TOKEN], realm: 'a"b' })).toThrow(AuthConfigError);
  });

  it('with links only, a request without one is a bare 403 (there is no scheme to challenge)', () => {
    const auth = new HttpAuth({ links: { secret: LINK_SECRET } });
    expect(auth.check({ url: '/recordings/a', headers: {} })).toEqual({
      ok: false,
      status: 403,
      failure: 'missing',
      headers: {},
    });
  });
});

describe('httpAuthOptionsFromEnv', () => {
  it('reads tokens, users and the link secrets; nothing set → undefined', () => {
    expect(httpAuthOptionsFromEnv({})).toBeUndefined();
    const options = httpAuthOptionsFromEnv({
      PBXKIT_AUTH_TOKENS: ` ${TOKEN} , ${TOKEN.toUpperCase()} `,
      PBXKIT_AUTH_USERS: `ops:${PASSWORD}`,
      PBXKIT_AUTH_LINK_SECRET: LINK_SECRET,
      PBXKIT_AUTH_LINK_PREVIOUS_SECRET: OLD_SECRET,
      PBXKIT_AUTH_LINK_MAX_SECONDS: '600',
      PBXKIT_AUTH_REALM: 'pbx-a',
    });
    expect(options).toEqual({
      bearerTokens: [TOKEN, TOKEN.toUpperCase()],
      basicUsers: { ops: PASSWORD },
      links: { secret: [LINK_SECRET, OLD_SECRET], maxLifetimeSeconds: 600 },
      realm: 'pbx-a',
    });
    expect(new HttpAuth(options as object).links?.maxLifetimeSeconds).toBe(600);
  });

  it.each([
    [{ PBXKIT_AUTH_TOKENS: 'changeme' }, 'PBXKIT_AUTH_TOKENS', 'changeme'],
    [{ PBXKIT_AUTH_USERS: 'ops:hunter2' }, 'PBXKIT_AUTH_USERS', 'hunter2'],
    [{ PBXKIT_AUTH_USERS: PASSWORD }, 'PBXKIT_AUTH_USERS', PASSWORD],
    [{ PBXKIT_AUTH_LINK_SECRET: 'x'.repeat(40) }, 'PBXKIT_AUTH_LINK_SECRET', 'xxxx'],
    [{ PBXKIT_AUTH_LINK_PREVIOUS_SECRET: OLD_SECRET }, 'PBXKIT_AUTH_LINK_PREVIOUS_SECRET', OLD_SECRET],
    [
      { PBXKIT_AUTH_LINK_SECRET: LINK_SECRET, PBXKIT_AUTH_LINK_MAX_SECONDS: '1.5' },
      'LINK_MAX_SECONDS',
      LINK_SECRET,
    ],
  ])('refuses %j naming the variable, never the secret', (env, variable, secret) => {
    let err: unknown;
    try {
      httpAuthOptionsFromEnv(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AuthConfigError);
    expect((err as Error).message).toContain(variable);
    expect((err as Error).message).not.toContain(secret);
  });
});
