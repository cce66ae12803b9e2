import { amiPingProbe } from '@pbxkit/ami';
import { ProbeMonitor, ProbeTimeoutError, synchPolicy } from '@pbxkit/core';
import { describe, expect, it } from 'vitest';
import { clientFor, connected, startFake } from './helpers.js';

const within = () => AbortSignal.timeout(10_000);

describe('amiPingProbe against FakeAsterisk', () => {
  it('Response: Success is alive', async () => {
    const fake = await startFake();
    const ami = await connected(fake);
    const ping = fake.nextAction('Ping');
    expect(await amiPingProbe(ami)(within())).toEqual({ ok: true, detail: 'Pong' });
    expect((await ping).name).toBe('Ping');
  });

  it('logs in first when the client never connected, as Synch does', async () => {
    const fake = await startFake();
    const ami = clientFor(fake);
    expect(ami.state).toBe('idle');
    expect((await amiPingProbe(ami)(within())).ok).toBe(true);
    expect(ami.state).toBe('connected');
  });

  it('Response: Error and a refused login are failures (Asterisk answered)', async () => {
    const fake = await startFake();
    fake.onAction('Ping', (action, session) => session.error(action, 'Shutting down'));
    const ami = await connected(fake);
    expect(await amiPingProbe(ami)(within())).toEqual({ ok: false, detail: 'Ping failed: Shutting down' });
    const wrong = clientFor(fake, { secret: 'wrong' });
    const verdict = await amiPingProbe(wrong)(within());
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toMatch(/uthentication/);
  });

  it('an unanswered Ping rejects with the monitor’s reason; a closed client is an error', async () => {
    const fake = await startFake();
    fake.onAction('Ping', () => {}); // never answered, as by a hung Asterisk
    const ami = await connected(fake);
    const controller = new AbortController();
    const answer = amiPingProbe(ami)(controller.signal);
    await fake.nextAction('Ping');
    controller.abort(new ProbeTimeoutError(50));
    await expect(answer).rejects.toBeInstanceOf(ProbeTimeoutError);
    await ami.close();
    await expect(amiPingProbe(ami)(within())).rejects.toMatchObject({ code: 'AMI_CONNECTION' });
  });

  it('drives a ProbeMonitor: failover when Ping fails, fallback when it answers again', async () => {
    const fake = await startFake();
    let failing = false;
    fake.onAction('Ping', (action, session) => {
      if (failing) session.error(action, 'Shutting down');
      else session.respond(action, { Ping: 'Pong' });
    });
    const ami = await connected(fake);
    const monitor = new ProbeMonitor({
      probe: amiPingProbe(ami, { timeoutMs: 250 }),
      intervalMs: 300,
      timeoutMs: 250,
      policy: synchPolicy({ failureTolerance: 2, aliveThreshold: 2, errorPenaltyPoints: 0 }),
    });
    try {
      const stable = new Promise((resolve) =>
        monitor.on('transition', (t) => t.to === 'Stable' && resolve(t)),
      );
      monitor.start();
      await stable;
      failing = true;
      const failover = await new Promise<{ reason: string }>((resolve) => monitor.once('failover', resolve));
      expect(failover.reason).toBe('Ping failed: Shutting down');
      failing = false;
      await new Promise((resolve) => monitor.once('fallback', resolve));
      expect(monitor.target).toBe('Normal');
    } finally {
      monitor.stop();
    }
  });
});
