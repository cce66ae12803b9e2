import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advanceHealth,
  gdnsdPolicy,
  type HealthPolicy,
  type HealthSnapshot,
  INITIAL_HEALTH,
  type ProbeOutcome,
  synchPolicy,
} from '../src/index.js';

const CODE: Record<string, ProbeOutcome> = { S: 'success', F: 'failure', E: 'error' };

/** Runs outcomes written as letters (S success, F failure, E error) and returns every snapshot after each. */
function run(policy: HealthPolicy, outcomes: string): HealthSnapshot[] {
  let h = INITIAL_HEALTH;
  return [...outcomes].map((letter) => {
    h = advanceHealth(policy, h, CODE[letter] as ProbeOutcome);
    return h;
  });
}

const states = (snapshots: HealthSnapshot[]) => snapshots.map((s) => s.state);

describe('synchPolicy: Synch’s ProbeMonitor as its code does it', () => {
  const synch = synchPolicy({ failureTolerance: 3, aliveThreshold: 3, errorPenaltyPoints: 1 });

  it('fails over on the failure that reaches the tolerance, and Init/Unstable before it do not switch', () => {
    const s = run(synch, 'FFF');
    expect(states(s)).toEqual(['Unstable', 'Unstable', 'Failed']);
    expect(s.map((x) => x.target)).toEqual(['Init', 'Init', 'Failover']);
    expect(s[2]).toMatchObject({ succeed: 0, failed: 3 });
  });

  it('an error costs 1 + errorPenaltyPoints: two errors reach a tolerance of 3', () => {
    const s = run(synch, 'EE');
    expect(s.map((x) => [x.state, x.failed])).toEqual([
      ['Unstable', 2],
      ['Failed', 4],
    ]);
  });

  it('a lone success does not forgive failures: F S F S F still fails over (the README says "consequent")', () => {
    const s = run(synch, 'FSFSF');
    expect(states(s)).toEqual(['Unstable', 'Unstable', 'Unstable', 'Unstable', 'Failed']);
    expect(s[3]).toMatchObject({ succeed: 1, failed: 2 });
  });

  it('from Failed, successes below the threshold are Unstable (no switch); the threshold falls back and zeroes failed', () => {
    const s = run(synch, 'FFFSSS');
    expect(states(s).slice(3)).toEqual(['Unstable', 'Unstable', 'Stable']);
    expect(s.slice(3).map((x) => x.target)).toEqual(['Failover', 'Failover', 'Normal']);
    expect(s[5]).toMatchObject({ succeed: 3, failed: 0 });
  });

  it('a failure after Stable zeroes succeed: Stable again only after aliveThreshold more successes', () => {
    const s = run(synch, 'SSSSFS');
    expect(states(s)).toEqual(['Unstable', 'Unstable', 'Stable', 'Stable', 'Unstable', 'Unstable']);
    expect(s[4]).toMatchObject({ succeed: 0, failed: 1 });
  });

  it('with failures still counted, Failed needs succeed == 0: F F S F is Failed only at the last F', () => {
    const s = run(synch, 'FFSF');
    expect(states(s)).toEqual(['Unstable', 'Unstable', 'Unstable', 'Failed']);
  });

  it('uses Synch’s shipped defaults (5, 5, 1)', () => {
    const s = run(synchPolicy(), 'FFFFF');
    expect(s.at(-1)?.state).toBe('Failed');
    expect(run(synchPolicy(), 'FFFF').at(-1)?.state).toBe('Unstable');
    expect(run(synchPolicy(), 'EEE').at(-1)).toMatchObject({ state: 'Failed', failed: 6 });
  });

  it('refuses thresholds that are not whole numbers in range', () => {
    expect(() => synchPolicy({ failureTolerance: 0 })).toThrow(
      expect.objectContaining({ code: 'PROBE_OPTIONS' }),
    );
    expect(() => synchPolicy({ errorPenaltyPoints: -1 })).toThrow(/errorPenaltyPoints/);
    expect(() => synchPolicy({ aliveThreshold: 1.5 })).toThrow(/aliveThreshold/);
  });
});

describe('gdnsdPolicy: consecutive successes clear the failure count', () => {
  const gdnsd = gdnsdPolicy({ downThreshold: 3, upThreshold: 4, okThreshold: 2 });

  it('the first result decides, as gdnsd’s initial round', () => {
    expect(run(gdnsd, 'S')[0]).toMatchObject({ state: 'Stable', target: 'Normal' });
    expect(run(gdnsd, 'F')[0]).toMatchObject({ state: 'Failed', target: 'Failover' });
  });

  it('okThreshold successes in a row wipe earlier failures, so F F S S F F does not go down', () => {
    const s = run(gdnsd, 'SFFSSFF');
    expect(states(s)).toEqual([
      'Stable',
      'Unstable',
      'Unstable',
      'Unstable',
      'Stable',
      'Unstable',
      'Unstable',
    ]);
    expect(s.every((x) => x.target === 'Normal')).toBe(true);
  });

  it('failures interrupted by fewer than okThreshold successes add up: S F F S F goes down', () => {
    const s = run(gdnsd, 'SFFSF');
    expect(s.at(-1)).toMatchObject({ state: 'Failed', target: 'Failover' });
  });

  it('a down peer needs upThreshold successes in a row; a failure restarts the count', () => {
    const s = run(gdnsd, 'FSSSFSSSS');
    expect(states(s)).toEqual([
      'Failed',
      'Unstable',
      'Unstable',
      'Unstable',
      'Failed',
      'Unstable',
      'Unstable',
      'Unstable',
      'Stable',
    ]);
    expect(s.at(-1)?.target).toBe('Normal');
    expect(s.slice(0, -1).every((x) => x.target === 'Failover')).toBe(true);
  });

  it('differs from Synch exactly where it should: Synch goes down on F F S S F with a tolerance of 3', () => {
    const synch = synchPolicy({ failureTolerance: 3, aliveThreshold: 4 });
    expect(run(synch, 'SFFSSF').at(-1)?.state).toBe('Failed');
    expect(run(gdnsd, 'SFFSSF').at(-1)?.state).toBe('Unstable');
  });
});

describe('every policy: only entering Failed or Stable switches the target', () => {
  const outcome = fc.constantFrom<ProbeOutcome>('success', 'failure', 'error');
  const threshold = fc.integer({ min: 1, max: 6 });
  const policy = fc.oneof(
    fc
      .record({
        failureTolerance: threshold,
        aliveThreshold: threshold,
        errorPenaltyPoints: fc.integer({ min: 0, max: 3 }),
      })
      .map((o) => synchPolicy(o)),
    fc
      .record({ downThreshold: threshold, upThreshold: threshold, okThreshold: threshold })
      .map((o) => gdnsdPolicy(o)),
  );

  it('never changes the target on a step that ends in Init or Unstable, and always on entering Failed/Stable from the other side', () => {
    fc.assert(
      fc.property(policy, fc.array(outcome, { maxLength: 80 }), (p, outcomes) => {
        let h = INITIAL_HEALTH;
        for (const o of outcomes) {
          const next = advanceHealth(p, h, o);
          if (next.state === 'Init' || next.state === 'Unstable' || next.state === h.state) {
            expect(next.target).toBe(h.target);
          }
          if (next.state === 'Failed') expect(next.target).toBe('Failover');
          if (next.state === 'Stable') expect(next.target).toBe('Normal');
          h = next;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('Synch’s invariants hold after any sequence: Failed has no pending success, Stable has no failure points', () => {
    fc.assert(
      fc.property(
        threshold,
        threshold,
        fc.array(outcome, { maxLength: 80 }),
        (tolerance, alive, outcomes) => {
          const p = synchPolicy({ failureTolerance: tolerance, aliveThreshold: alive });
          let h = INITIAL_HEALTH;
          for (const o of outcomes) {
            h = advanceHealth(p, h, o);
            if (h.state === 'Failed') expect(h.succeed === 0 && h.failed >= tolerance).toBe(true);
            if (h.state === 'Stable') expect(h.failed === 0 && h.succeed >= alive).toBe(true);
            expect(h.state === 'Init').toBe(h.succeed === 0 && h.failed === 0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
