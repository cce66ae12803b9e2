import { describe, expect, it } from 'vitest';
import { type PlanInput, planReconcile, type VoicemailMessage } from '../src/index.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const DAY = 86_400_000;
const key = (n: number) => `default/example.com/1000/msg_0000000${n}-aaaa-4bbb-8ccc-dddddddddddd.wav`;

function row(k: string, createdAt = new Date(NOW - 1000)): VoicemailMessage {
  return {
    uuid: `row-${k.slice(-40, -4)}`,
    domain: 'example.com',
    user: '1000',
    folder: 'inbox',
    status: 'new',
    read: false,
    createdAt,
    callerName: '',
    callerNumber: '',
    lengthSeconds: 1,
    urgent: false,
    filePath: `/var/lib/freeswitch/storage/voicemail/${k}`,
    key: k,
  };
}

function input(over: Partial<PlanInput>): PlanInput {
  return {
    rows: new Map(),
    local: new Map(),
    shared: new Map(),
    now: NOW,
    graceMs: 60_000,
    minFileAgeMs: 10_000,
    pull: 'eager',
    ...over,
  };
}

describe('planReconcile', () => {
  it('uploads messages with a row that the shared tier lacks or holds truncated, and pulls the ones this node lacks', () => {
    const steps = planReconcile(
      input({
        rows: new Map([key(1), key(2), key(3)].map((k) => [k, row(k)])),
        local: new Map([
          [key(1), { size: 10, mtimeMs: NOW - 5000, atimeMs: NOW }],
          [key(2), { size: 10, mtimeMs: NOW - 5000, atimeMs: NOW }],
        ]),
        shared: new Map([
          [key(2), { size: 4, lastModifiedMs: NOW }],
          [key(3), { size: 10, lastModifiedMs: NOW }],
        ]),
      }),
    );
    expect(steps).toEqual([
      { op: 'upload', key: key(1), uuid: row(key(1)).uuid },
      { op: 'upload', key: key(2), uuid: row(key(2)).uuid },
      { op: 'pull', key: key(3) },
    ]);
  });

  it('deletes files of deleted messages only after the grace time (the row comes after the file)', () => {
    const steps = planReconcile(
      input({
        local: new Map([
          [key(1), { size: 1, mtimeMs: NOW - 1000, atimeMs: NOW }],
          [key(2), { size: 1, mtimeMs: NOW - 120_000, atimeMs: NOW }],
        ]),
        shared: new Map([
          [key(2), { size: 1, lastModifiedMs: NOW - 120_000 }],
          [key(3), { size: 1, lastModifiedMs: NOW - 120_000 }],
          [key(4), { size: 1, lastModifiedMs: NOW - 5000 }],
        ]),
      }),
    );
    expect(steps).toEqual([
      { op: 'delete-local', key: key(2) },
      { op: 'delete-shared', key: key(2) },
      { op: 'delete-shared', key: key(3) },
    ]);
  });

  it('evicts old unaccessed local copies held in the shared tier, and does not pull them back', () => {
    const old = new Date(NOW - 40 * DAY);
    const steps = planReconcile(
      input({
        evictAfterDays: 30,
        rows: new Map([
          [key(1), row(key(1), old)],
          [key(2), row(key(2), old)],
          [key(3), row(key(3), old)],
        ]),
        local: new Map([
          [key(1), { size: 1, mtimeMs: NOW - 40 * DAY, atimeMs: NOW - 35 * DAY }],
          [key(2), { size: 1, mtimeMs: NOW - 40 * DAY, atimeMs: NOW - DAY }],
        ]),
        shared: new Map(
          [key(1), key(2), key(3)].map((k) => [k, { size: 1, lastModifiedMs: NOW - 40 * DAY }]),
        ),
      }),
    );
    expect(steps).toEqual([{ op: 'evict', key: key(1) }]);
  });

  it('copies greetings and names the newer way, never while they may still be recording', () => {
    const g = 'default/example.com/1000/greeting_1.wav';
    const n = 'default/example.com/1000/recorded_name.wav';
    const fresh = 'default/example.com/1000/greeting_2.wav';
    const steps = planReconcile(
      input({
        local: new Map([
          [g, { size: 5, mtimeMs: NOW - 60_000, atimeMs: NOW }],
          [n, { size: 5, mtimeMs: NOW - 60_000, atimeMs: NOW }],
          [fresh, { size: 5, mtimeMs: NOW - 1000, atimeMs: NOW }],
        ]),
        shared: new Map([
          [g, { size: 9, lastModifiedMs: NOW - 30_000 }],
          [n, { size: 9, lastModifiedMs: NOW - 90_000 }],
        ]),
      }),
    );
    expect(steps).toEqual([
      { op: 'pull', key: g },
      { op: 'upload', key: n },
    ]);
  });
});
