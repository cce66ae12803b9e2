import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PushWebhook, Registry } from '../src/index.js';

const SECRET = 'a-webhook-secret-of-decent-length';
const body = (payload: object) => Buffer.from(JSON.stringify(payload));
const hmac = (b: Buffer, secret = SECRET) => createHmac('sha256', secret).update(b).digest('hex');

describe('PushWebhook', () => {
  it('accepts GitHub, GitLab and Gitea push payloads, each with its own signature scheme', () => {
    const hook = new PushWebhook({ secret: SECRET });
    const gh = body({ ref: 'refs/heads/main', after: 'a'.repeat(40), repository: { full_name: 'ops/conf' } });
    expect(
      hook.verify({
        headers: {
          'x-github-event': 'push',
          'x-github-delivery': 'd1',
          'x-hub-signature-256': `sha256=${hmac(gh)}`,
        },
        body: gh,
      }),
    ).toEqual({
      kind: 'push',
      event: {
        forge: 'github',
        delivery: 'd1',
        ref: 'refs/heads/main',
        refName: 'main',
        after: 'a'.repeat(40),
        repository: 'ops/conf',
      },
    });
    const gl = body({
      object_kind: 'push',
      ref: 'refs/heads/main',
      after: 'b'.repeat(40),
      project: { path_with_namespace: 'ops/conf' },
    });
    expect(
      hook.verify({
        headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'u1' },
        body: gl,
      }),
    ).toMatchObject({
      kind: 'push',
      event: { forge: 'gitlab', after: 'b'.repeat(40), repository: 'ops/conf' },
    });
    const gt = body({ ref: 'refs/tags/v2', after: 'c'.repeat(40), repository: { full_name: 'ops/conf' } });
    // Gitea also sends GitHub's headers; its own win.
    expect(
      hook.verify({
        headers: {
          'x-gitea-event': 'push',
          'x-github-event': 'push',
          'x-gitea-delivery': 'g1',
          'x-gitea-signature': hmac(gt),
        },
        body: gt,
      }),
    ).toMatchObject({ kind: 'push', event: { forge: 'gitea', refName: 'v2' } });
  });

  it('refuses wrong signatures and tokens, ignores replays, other refs, deletions and pings', () => {
    const registry = new Registry();
    const hook = new PushWebhook({ secret: SECRET, refs: ['main'], registry });
    const b = body({ ref: 'refs/heads/main', after: 'a'.repeat(40) });
    const gh = (delivery: string, sig: string, payload = b) =>
      hook.verify({
        headers: { 'x-github-event': 'push', 'x-github-delivery': delivery, 'x-hub-signature-256': sig },
        body: payload,
      });
    expect(gh('x', `sha256=${hmac(b, 'wrong-secret')}`)).toMatchObject({ kind: 'rejected', status: 401 });
    expect(gh('x', '')).toMatchObject({ kind: 'rejected', status: 401 });
    expect(
      hook.verify({
        headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'nope', 'x-gitlab-event-uuid': 'u' },
        body: b,
      }),
    ).toMatchObject({ kind: 'rejected', status: 401 });
    expect(hook.verify({ headers: {}, body: b })).toMatchObject({ kind: 'rejected', status: 400 });
    expect(gh('d1', `sha256=${hmac(b)}`).kind).toBe('push');
    expect(gh('d1', `sha256=${hmac(b)}`)).toMatchObject({ kind: 'ignored', reason: 'replay' });
    const dev = body({ ref: 'refs/heads/dev', after: 'a'.repeat(40) });
    expect(gh('d2', `sha256=${hmac(dev)}`, dev)).toMatchObject({ kind: 'ignored', reason: 'other-ref' });
    const deleted = body({ ref: 'refs/heads/main', after: '0'.repeat(40) });
    expect(gh('d3', `sha256=${hmac(deleted)}`, deleted)).toMatchObject({
      kind: 'ignored',
      reason: 'deleted',
    });
    const ping = body({ zen: 'hi' });
    expect(
      hook.verify({
        headers: {
          'x-github-event': 'ping',
          'x-github-delivery': 'p',
          'x-hub-signature-256': `sha256=${hmac(ping)}`,
        },
        body: ping,
      }),
    ).toMatchObject({ kind: 'ignored', reason: 'not-push' });
    const bad = Buffer.from('{not json');
    expect(gh('d4', `sha256=${hmac(bad)}`, bad)).toMatchObject({ kind: 'rejected', status: 400 });
  });

  it('forgets the oldest deliveries past its limit', () => {
    const hook = new PushWebhook({ secret: SECRET, rememberDeliveries: 2 });
    const b = body({ ref: 'refs/heads/main', after: 'a'.repeat(40) });
    const send = (d: string) =>
      hook.verify({
        headers: { 'x-gitea-event': 'push', 'x-gitea-delivery': d, 'x-gitea-signature': hmac(b) },
        body: b,
      }).kind;
    expect([send('1'), send('2'), send('3'), send('3'), send('1')]).toEqual([
      'push',
      'push',
      'push',
      'ignored',
      'push',
    ]);
  });
});
