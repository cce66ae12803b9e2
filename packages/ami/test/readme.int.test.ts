import { describe, expect, it } from 'vitest';
import { readmeExamples } from '../../../scripts/readme-examples.js';
import { consoleLogOf } from './helpers.js';

describe('README examples run as written', () => {
  const examples = readmeExamples('ami', (code) => code.startsWith('import'));

  it('finds the runnable examples', () => {
    expect(examples).toHaveLength(8);
  });

  const expectations: Array<(log: unknown[][]) => void> = [
    (log) => {
      expect(log[0]?.[0]).toBe('Pong');
      expect(log).toContainEqual([
        'AMI_ACTION',
        'Invalid/unknown command: Nonsense. Use Action: ListCommands to show available commands.',
      ]);
    },
    (log) => {
      expect(log).toContainEqual([['PJSIP/100-00000001', 'PJSIP/200-00000002'], '2']);
      expect(log).toContainEqual(['System uptime: 2 hours\nLast reload: 1 hour']);
      expect(log.at(-1)?.[0]).toBe('Success');
    },
    (log) => {
      expect(log).toContainEqual(['event', 'Newchannel']);
      expect(log).toContainEqual(['hangup', 'PJSIP/100-00000001', 'Normal Clearing']);
      expect(log).toContainEqual(['stream', 'Newchannel', '1700000000.1']);
      expect(log).toContainEqual(['stream', 'Hangup', '16']);
    },
    (log) => {
      expect(log).toEqual([
        [['6001'], ['endpoint-tpl'], ['ulaw', 'g722']],
        [3, '[6001](endpoint-tpl)\nauth=6001\nallow=g722\n'],
        [['endpoint-tpl', '6001'], true],
        [['opus'], ['opus', 'h264']],
        ['6002', ['endpoint-tpl', 'video-tpl']],
        [true, 'a;b'],
        ['bindport=5070 ; the usual'],
      ]);
    },
    (log) => {
      expect(log).toEqual([
        ['Stable', 'Normal'],
        ['Ping failed: Shutting down', 'Failover'],
      ]);
    },
    (log) => {
      expect(log).toEqual([
        ['applied', 10, 'Synced', ['chan_sip.so']],
        ['refused', 'SYNC_EMPTY', 'Unsynced'],
        [11],
      ]);
    },
    (log) => {
      expect(log).toEqual([
        ['PJSIP/100', 'support'],
        ['reconnected', 'connected'],
      ]);
    },
    (log) => {
      expect(log).toEqual([['event', 'Hangup', '16'], ['11.0.0']]);
    },
  ];

  for (const [i, file] of examples.entries()) {
    it(`example ${i + 1}`, async () => {
      expectations[i]?.(await consoleLogOf(() => import(file)));
    });
  }
});
