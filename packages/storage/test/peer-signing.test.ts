import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createPeerHandler,
  NoopBackend,
  PeerProxyBackend,
  PeerVerifier,
  peerBackends,
  StoragePeerSecretError,
  signRequest,
} from '../src/index.js';

const SECRET = 'cluster-secret-for-tests-0123456789abcdef';

describe('PeerVerifier', () => {
  const path = '/_peer/objects/a.wav';

  it('accepts a fresh request signed for this instance once; refuses forged, replayed, missing, malformed', () => {
    const now = 1_800_000_000_000;
    const v = new PeerVerifier({ secret: SECRET, instanceId: 'pbx-b', clock: () => now });
    const h = signRequest(SECRET, { method: 'GET', path, range: 'bytes=0-9', peer: 'pbx-b' }, { now });
    const withRange = { ...h, range: 'bytes=0-9' };
    expect(v.check('GET', path, withRange)).toBeUndefined();
    expect(v.check('GET', path, withRange)).toBe('replayed');
    const h2 = signRequest(SECRET, { method: 'GET', path, peer: 'pbx-b' }, { now });
    expect(v.check('GET', '/_peer/objects/b.wav', h2)).toBe('forged'); // other path
    expect(v.check('HEAD', path, h2)).toBe('forged'); // other method
    expect(v.check('GET', path, { ...h2, range: 'bytes=0-' })).toBe('forged'); // other range
    expect(v.check('GET', path, { ...h2, 'x-pbxkit-peer': 'pbx-c' })).toBe('forged'); // peer header altered
    const otherSecret = 'a-different-secret-of-enough-length-0123';
    expect(
      v.check('GET', path, signRequest(otherSecret, { method: 'GET', path, peer: 'pbx-b' }, { now })),
    ).toBe('forged');
    expect(v.check('GET', path, {})).toBe('missing');
    expect(v.check('GET', path, { ...h2, 'x-pbxkit-signature': 'zz' })).toBe('malformed');
    expect(v.check('GET', path, { ...h2, 'x-pbxkit-issued': '-1' })).toBe('malformed');
    expect(v.check('GET', path, h2)).toBeUndefined(); // none of the refusals above used it up
  });

  it('refuses a genuine signature made for another instance with the same secret', () => {
    const now = 1_800_000_000_000;
    const b = new PeerVerifier({ secret: SECRET, instanceId: 'pbx-b', clock: () => now });
    const forA = signRequest(SECRET, { method: 'GET', path, peer: 'pbx-a' }, { now });
    expect(b.check('GET', path, forA)).toBe('wrong_peer');
    const a = new PeerVerifier({ secret: SECRET, instanceId: 'pbx-a', clock: () => now });
    expect(a.check('GET', path, forA)).toBeUndefined();
  });

  it('a short window by the issue time: too far ahead, expired, and nothing issued before the verifier started', () => {
    let now = 1_800_000_000_000;
    const v = new PeerVerifier({
      secret: SECRET,
      instanceId: 'pbx-b',
      maxAgeSeconds: 30,
      maxClockSkewSeconds: 5,
      clock: () => now,
    });
    const sign = (at: number) => signRequest(SECRET, { method: 'GET', path, peer: 'pbx-b' }, { now: at });
    // A signature made a second before this verifier existed (before a restart): refused although young.
    expect(v.check('GET', path, sign(now - 1_000))).toBe('issued_before_start');
    expect(v.check('GET', path, sign(now + 6_000))).toBe('too_far_ahead');
    const aheadWithinSkew = sign(now + 4_000);
    expect(v.check('GET', path, aheadWithinSkew)).toBeUndefined();
    const captured = sign(now);
    expect(v.check('GET', path, captured)).toBeUndefined();
    now += 30_001;
    expect(v.check('GET', path, captured)).toBe('expired');
    // Long after, when the verifier has swept its memory of used signatures, a replay is still refused.
    now += 3_600_000;
    expect(v.check('GET', path, sign(now))).toBeUndefined();
    expect(v.check('GET', path, captured)).toBe('expired');
    expect(v.check('GET', path, aheadWithinSkew)).toBe('expired');
  });
});

describe('peer secrets are checked when a peer handler or backend is built', () => {
  const backend = new NoopBackend();
  const endpoint = 'http://127.0.0.1:9/_peer';
  const weak: Array<[string, unknown, string]> = [
    ['no secret', undefined, 'missing'],
    ['an empty secret', '', 'missing'],
    ['5 characters', 'abcde', 'too_short'],
    ['31 characters', 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d', 'too_short'],
    ['32 times the same character', 'x'.repeat(32), 'repetitive'],
    ['a placeholder repeated', 'changeme'.repeat(4), 'repetitive'],
    ['a 15-byte Buffer', randomBytes(15), 'too_short'],
    ['16 zero bytes', Buffer.alloc(16), 'repetitive'],
  ];

  it.each(weak)('refuses %s with StoragePeerSecretError', (_label, secret, problem) => {
    const attempts = [
      () => createPeerHandler({ backend, secret: secret as string, instanceId: 'pbx-b' }),
      () => new PeerProxyBackend({ instanceId: 'pbx-b', endpoint, secret: secret as string }),
      () => peerBackends({ 'pbx-b': endpoint }, secret as string),
      () => new PeerVerifier({ secret: secret as string, instanceId: 'pbx-b' }),
    ];
    for (const attempt of attempts) {
      const err = (() => {
        try {
          attempt();
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(StoragePeerSecretError);
      expect(err).toMatchObject({ code: 'STORAGE_PEER_SECRET', problem });
      expect((err as Error).message).toMatch(/openssl rand -hex 32/);
      if (typeof secret === 'string' && secret.length > 0)
        expect((err as Error).message).not.toContain(secret);
    }
  });

  it('accepts 32 characters of `openssl rand -hex 16`, a longer passphrase, and 16 random bytes', () => {
    for (const secret of [
      randomBytes(16).toString('hex'),
      'correct horse battery staple of the pbx cluster',
      randomBytes(16),
    ]) {
      const handler = createPeerHandler({ backend, secret, instanceId: 'pbx-b' });
      expect(typeof handler).toBe('function');
      new PeerProxyBackend({ instanceId: 'pbx-b', endpoint, secret }).close();
    }
  });

  it('the handler needs its own instance id, to refuse requests signed for other peers', () => {
    expect(() => createPeerHandler({ backend, secret: SECRET } as never)).toThrow(/instanceId/);
    expect(() => createPeerHandler({ backend, secret: SECRET, instanceId: 'pbx b' })).toThrow(/instanceId/);
  });
});
