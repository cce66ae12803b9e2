import { describe, expect, it } from 'vitest';
import { readmeExamples } from '../../../scripts/readme-examples.js';

async function consoleLogOf(run: () => Promise<unknown>): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => {
    calls.push(args);
  };
  try {
    await run();
  } finally {
    console.log = original;
  }
  return calls;
}

describe('README failover examples run as written', () => {
  // The three failover examples, picked by what they build (the README has other examples too).
  const examples = readmeExamples('core', (code) =>
    /new ProbeMonitor|new StatusServer|ConfigStore\.open/.test(code),
  );

  it('finds them', () => {
    expect(examples).toHaveLength(3);
  });

  it('probe monitor: falls back, then fails over when the main PBX goes away', async () => {
    const log = await consoleLogOf(() => import(examples[0] as string));
    expect(log).toEqual([
      ['Stable', 'Normal'],
      ['Failed', 'Failover', 0],
      [['pbxkit_branch_monitor_state{monitor="main",state="Failed"} 1']],
    ]);
  });

  it('status endpoint: Synch bytes, token error, JSON lines, 503 when failed over', async () => {
    const log = await consoleLogOf(() => import(examples[1] as string));
    expect(log[0]?.[0]).toMatch(
      /^"\[\{\\"Timestamp\\":\\"\d{14}\\",\\"Monitor\\":\\"Stable\\",\\"Sync\\":\\"Synced\\",\\"Service\\":\\"Normal\\"\}\]\\n"$/,
    );
    expect(log[1]).toEqual([JSON.stringify('Token error. Bye bye!\n')]);
    expect(log[2]).toEqual([
      '{"id":1,"ok":true,"result":{"healthy":true}}\n{"ok":false,"error":{"code":"STATUS_TOKEN","message":"wrong token"}}\n',
    ]);
    expect(log[3]).toEqual([503]);
  });

  it('config store: commit with apply, changes, rollback, pending', async () => {
    const log = await consoleLogOf(() => import(examples[2] as string));
    expect(log[0]).toEqual(['applying version', 2, ['sip_synch.conf']]);
    expect(log[1]?.[0]).toBe(
      [
        '--- a/sip_synch.conf\tversion 1',
        '+++ b/sip_synch.conf\tversion 2',
        '@@ -1,2 +1,5 @@',
        ' [1001]',
        ' callerid=Alice <1001>',
        '+',
        '+[1002]',
        '+callerid=Alex <1002>',
        '',
      ].join('\n'),
    );
    expect(log[2]).toEqual([3, 1, [1, 2, 3]]);
    expect(log[3]).toEqual(['']);
  });
});
