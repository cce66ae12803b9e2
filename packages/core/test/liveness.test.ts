import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LivenessMonitor, resolveKeepalive, resolveReconnect } from '../src/index.js';

describe('LivenessMonitor', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function monitor(busy = () => false) {
    const calls = { probes: 0, dead: [] as number[] };
    const m = new LivenessMonitor(
      { intervalMs: 1000, timeoutMs: 300 },
      { busy, probe: () => calls.probes++, dead: (ms) => calls.dead.push(ms) },
    );
    m.start();
    return { m, calls };
  }

  it('probes a silent idle connection and declares it dead when nothing comes back in time', () => {
    const { calls } = monitor();
    vi.advanceTimersByTime(1000);
    expect(calls.probes).toBe(1);
    vi.advanceTimersByTime(299);
    expect(calls.dead).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls.dead).toEqual([300]);
  });

  it('counts any bytes as life: a connection that received something sends no probe', () => {
    const { m, calls } = monitor();
    for (let i = 0; i < 5; i++) {
      m.activity();
      vi.advanceTimersByTime(1000);
    }
    expect(calls.probes).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(calls.probes).toBe(1);
    m.activity(); // the probe's reply
    vi.advanceTimersByTime(300);
    expect(calls.dead).toEqual([]);
  });

  it('does not probe, nor judge, while the server owes a reply to an earlier command', () => {
    let busy = true;
    const { calls } = monitor(() => busy);
    vi.advanceTimersByTime(10_000); // a slow command: no bytes at all for 10 s
    expect(calls).toEqual({ probes: 0, dead: [] });
    busy = false;
    vi.advanceTimersByTime(1000);
    expect(calls.probes).toBe(1);
  });

  it('stops every timer', () => {
    const { m, calls } = monitor();
    vi.advanceTimersByTime(1000);
    m.stop();
    vi.advanceTimersByTime(10_000);
    expect(calls).toEqual({ probes: 1, dead: [] });
  });
});

describe('connection option defaults', () => {
  it('keepalive: on by default (30 s / 10 s), false or a zero interval turns it off', () => {
    expect(resolveKeepalive(undefined)).toEqual({ intervalMs: 30_000, timeoutMs: 10_000 });
    expect(resolveKeepalive({ timeoutMs: 1 })).toEqual({ intervalMs: 30_000, timeoutMs: 1 });
    expect(resolveKeepalive(false)).toBeUndefined();
    expect(resolveKeepalive({ intervalMs: 0 })).toBeUndefined();
  });

  it('reconnect: on by default from 250 ms to 30 s without limit; false turns it off', () => {
    expect(resolveReconnect(true)).toEqual({
      minMs: 250,
      maxMs: 30_000,
      factor: 2,
      maxAttempts: Number.POSITIVE_INFINITY,
    });
    expect(resolveReconnect({ minMs: 5 })?.minMs).toBe(5);
    expect(resolveReconnect(false)).toBeUndefined();
  });
});
