import { AmiInvalidActionError, MAX_ACTION_HEADERS, serializeAction } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';

describe('serializeAction', () => {
  it('writes Action, then ActionID, then the fields in order, CRLF framed', () => {
    expect(
      serializeAction(
        {
          Action: 'Originate',
          Channel: 'PJSIP/100',
          Priority: 1,
          Async: true,
          Codecs: ['ulaw', 'alaw'],
          Variable: { A: 1, B: 'x=y' },
          Skipped: undefined,
          Null: null,
        },
        'c-1-7',
      ),
    ).toBe(
      'Action: Originate\r\nActionID: c-1-7\r\nChannel: PJSIP/100\r\nPriority: 1\r\nAsync: true\r\n' +
        'Codecs: ulaw\r\nCodecs: alaw\r\nVariable: A=1\r\nVariable: B=x=y\r\n\r\n',
    );
  });

  it('matches the captured client bytes of a Command', () => {
    expect(serializeAction({ Action: 'Command', Command: 'core show version' }, 'cmd-1')).toBe(
      'Action: Command\r\nActionID: cmd-1\r\nCommand: core show version\r\n\r\n',
    );
  });

  it('lets the given ActionID win over one in the fields, in any case', () => {
    expect(serializeAction({ Action: 'Ping', actionid: 'theirs' }, 'ours')).toBe(
      'Action: Ping\r\nActionID: ours\r\n\r\n',
    );
  });

  it('refuses what would corrupt the stream or be cut by Asterisk', () => {
    const refuse = (fields: Parameters<typeof serializeAction>[0]) => () => serializeAction(fields, 'x');
    expect(refuse({ Action: 'Setvar', Value: 'a\nAction: Hangup' })).toThrow(AmiInvalidActionError);
    expect(refuse({ Action: 'Setvar', Value: 'a\rb' })).toThrow(/CR or LF/);
    expect(refuse({ Action: 'Setvar', 'Bad Key': 'a' })).toThrow(/invalid field name/);
    expect(refuse({ Action: 'Setvar', 'Key:': 'a' })).toThrow(/invalid field name/);
    expect(refuse({ Action: '' })).toThrow(/Action is required/);
    expect(refuse({ Action: 'Setvar', Value: 'é'.repeat(600) })).toThrow(/1022-byte line/);
    const many = Object.fromEntries(Array.from({ length: MAX_ACTION_HEADERS - 1 }, (_, i) => [`H${i}`, 'v']));
    expect(() => serializeAction({ Action: 'Big', ...many }, 'x')).toThrow(/reads at most 128/);
    expect(() => serializeAction({ Action: 'Big', ...many })).not.toThrow();
  });
});
