import { AmiMessage, AmiParser, AmiProtocolError, commandOutput } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { fixtureNames, rx } from './fixtures.js';

const parseAll = (bytes: Buffer, parser = new AmiParser()): AmiMessage[] => parser.feed(bytes);

describe('AmiParser on the real captures', () => {
  it('reports the banner separately: it is one line with no blank line after it', () => {
    const parser = new AmiParser();
    expect(parser.feed(rx('00-banner'))).toEqual([]);
    expect(parser.banner).toEqual({ raw: 'Asterisk Call Manager/11.0.0', version: '11.0.0' });
  });

  it('returns the login response then the events, in order', () => {
    const msgs = parseAll(rx('01-login-success'));
    expect(msgs.map((m) => [m.type, m.name])).toEqual([
      ['response', 'Success'],
      ['event', 'FullyBooted'],
      ['event', 'SuccessfulAuth'],
      ['response', 'Goodbye'],
    ]);
    expect(msgs[0]?.actionId).toBe('login-1');
    expect(msgs[0]?.get('Message')).toBe('Authentication accepted');
    expect(msgs[2]?.get('RemoteAddress')).toBe('IPV4/TCP/127.0.0.1/46722');
  });

  it('parses every capture into as many messages as it has blank-line terminators', () => {
    for (const name of fixtureNames()) {
      const bytes = rx(name);
      const terminators = bytes.toString('latin1').split('\r\n\r\n').length - 1;
      expect(parseAll(bytes), name).toHaveLength(terminators);
    }
  });

  it('classifies OriginateResponse as an event although it carries Response and the ActionID', () => {
    const msgs = parseAll(rx('28-originate-async-success'));
    const orig = msgs.find((m) => m.name === 'OriginateResponse');
    expect(orig?.type).toBe('event');
    expect(orig?.get('Response')).toBe('Success');
    expect(orig?.actionId).toBe('orig-1');
    const responses = msgs.filter((m) => m.type === 'response');
    expect(responses.map((m) => m.actionId)).toEqual(['login-1', 'orig-1', 'logoff-1']);
  });

  it('keeps repeated Output lines in order, empty lines and leading spaces included', () => {
    const msgs = parseAll(rx('10-command-multiline'));
    const dialplan = msgs.find((m) => m.actionId === 'cmd-dp') as AmiMessage;
    const output = dialplan.getAll('Output');
    expect(output).toHaveLength(17);
    expect(output[1]?.startsWith("  '100' =>          1. NoOp(pbxkit test call to $")).toBe(true);
    expect(output[15]).toBe('');
    expect(commandOutput(dialplan).split('\n')).toEqual(output);
    expect(commandOutput(dialplan).endsWith('-= 4 extensions (14 priorities) in 1 context. =-')).toBe(true);
  });

  it('keeps lines without a colon as text (GetConfig of a missing category)', () => {
    const msgs = parseAll(rx('14-getconfig-category'));
    const none = msgs.find((m) => m.actionId === 'gc-none') as AmiMessage;
    expect(none.type).toBe('response');
    expect(none.text).toEqual(['No categories found']);
  });

  it('keeps empty values and keys as sent, matching keys case-insensitively', () => {
    const msgs = parseAll(rx('26-coreshowchannels-active'));
    const ch = msgs.find((m) => m.name === 'CoreShowChannel') as AmiMessage;
    expect(ch.get('AccountCode')).toBe('');
    expect(ch.get('accountcode')).toBe('');
    expect(ch.get('CHANNEL')).toBe('Local/500@test-context-00000000;1');
    expect(ch.keys).toContain('BridgeId');
    expect(ch.has('Nope')).toBe(false);
  });

  it('finds the ActionID whatever its case, and classifies lower-case first lines', () => {
    const p = new AmiParser({ expectBanner: false });
    const [a, b] = p.feed(
      Buffer.from('response: Success\r\nactionid: x-1\r\n\r\nEVENT: Foo\r\nActionId: y\r\n\r\n'),
    );
    expect([a?.type, a?.actionId, b?.type, b?.name, b?.actionId]).toEqual([
      'response',
      'x-1',
      'event',
      'Foo',
      'y',
    ]);
  });

  it('splits a value at the first colon only', () => {
    const msgs = parseAll(rx('10-command-multiline'));
    const conn = msgs.find((m) => m.actionId === 'cmd-conn') as AmiMessage;
    expect(conn.getAll('Output')[1]).toContain('127.0.0.1');
    const p = new AmiParser({ expectBanner: false });
    const [m] = p.feed(Buffer.from('Event: X\r\nDestination: sip:1@host:5060\r\n\r\n'));
    expect(m?.get('Destination')).toBe('sip:1@host:5060');
  });
});

describe('AmiParser framing', () => {
  it('accepts bare LF as well as CRLF and ignores stray blank lines between messages', () => {
    const crlf = rx('06-ping');
    const lf = Buffer.from(crlf.toString('latin1').replaceAll('\r\n', '\n'), 'latin1');
    const a = parseAll(crlf).map((m) => m.entries());
    const b = parseAll(lf).map((m) => m.entries());
    expect(b).toEqual(a);
    const withStray = new AmiParser({ expectBanner: false }).feed(
      Buffer.from('\r\n\r\nResponse: Success\r\nPing: Pong\r\n\r\n\r\n'),
    );
    expect(withStray.map((m) => m.name)).toEqual(['Success']);
  });

  it('reassembles a multi-byte UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('Event: NewCallerid\r\nCallerIDName: Zoë Ærø 日本\r\n\r\n', 'utf8');
    const split = bytes.indexOf(Buffer.from('日')) + 1;
    const p = new AmiParser({ expectBanner: false });
    expect(p.feed(bytes.subarray(0, split))).toEqual([]);
    const [m] = p.feed(bytes.subarray(split));
    expect(m?.get('CallerIDName')).toBe('Zoë Ærø 日本');
  });

  it('collects the pre-Asterisk-14 "Response: Follows" output up to --END COMMAND--, blank lines included', () => {
    const wire =
      'Response: Follows\r\nPrivilege: Command\r\nActionID: c1\r\n' +
      'Channel: not a header\n\nline three\n--END COMMAND--\r\n\r\n' +
      'Response:Follows\r\nPrivilege: Command\r\nActionID: c2\r\nglued--END COMMAND--\r\n\r\n';
    const msgs = new AmiParser({ expectBanner: false }).feed(Buffer.from(wire));
    expect(msgs).toHaveLength(2);
    expect(msgs[0]?.type).toBe('response');
    expect(msgs[0]?.name).toBe('Follows');
    expect(msgs[0]?.actionId).toBe('c1');
    expect(commandOutput(msgs[0] as AmiMessage)).toBe('Channel: not a header\n\nline three');
    expect(commandOutput(msgs[1] as AmiMessage)).toBe('glued');
  });

  it('reassembles a large GetConfig response arriving in many small reads', () => {
    let wire = 'Response: Success\r\nActionID: big\r\n';
    for (let c = 0; c < 500; c++) {
      wire += `Category-${String(c).padStart(6, '0')}: peer${c}\r\n`;
      for (let l = 0; l < 20; l++)
        wire += `Line-${String(c).padStart(6, '0')}-${String(l).padStart(6, '0')}: k${l}=v${c}\r\n`;
    }
    wire += '\r\nEvent: After\r\n\r\n';
    const bytes = Buffer.from(wire);
    const p = new AmiParser({ expectBanner: false });
    const msgs: AmiMessage[] = [];
    for (let i = 0; i < bytes.length; i += 1000) msgs.push(...p.feed(bytes.subarray(i, i + 1000)));
    expect(msgs.map((m) => m.name)).toEqual(['Success', 'After']);
    expect(msgs[0]?.keys).toHaveLength(2 + 500 * 21);
    expect(msgs[0]?.get('Line-000499-000019')).toBe('k19=v499');
  });

  it('throws a typed error, not unbounded memory, when a message exceeds the limit', () => {
    const p = new AmiParser({ expectBanner: false, maxMessageBytes: 1024 });
    const big = Buffer.from(`Event: Big\r\nData: ${'x'.repeat(600)}\r\n`);
    p.feed(big);
    const err = (() => {
      try {
        p.feed(big);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AmiProtocolError);
    expect((err as AmiProtocolError).code).toBe('AMI_MESSAGE_TOO_LARGE');
    // A line that never ends is caught as well.
    const q = new AmiParser({ expectBanner: false, maxMessageBytes: 1024 });
    expect(() => {
      for (let i = 0; i < 10; i++) q.feed(Buffer.alloc(200, 0x41));
    }).toThrow(AmiProtocolError);
    expect(q.bufferedBytes).toBe(0);
  });

  it('rejects a peer that is not AMI with AMI_NOT_AMI', () => {
    const p = new AmiParser();
    expect(() => p.feed(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'))).toThrow(
      expect.objectContaining({ code: 'AMI_NOT_AMI' }),
    );
  });

  it('builds plain objects with repeated keys as arrays', () => {
    const m = AmiMessage.from([
      ['Event', 'VarSet'],
      ['Variable', 'A=1'],
      ['Variable', 'B=2'],
    ]);
    expect(m.toObject()).toEqual({ Event: 'VarSet', Variable: ['A=1', 'B=2'] });
    expect(new AmiParser({ expectBanner: false }).feed(Buffer.from(m.toString()))[0]?.entries()).toEqual(
      m.entries(),
    );
  });
});
