import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EslFrame, EslParser, EslProtocolError } from '../src/index.js';
import { eslFixture, eslStreams } from './fixtures.js';

function parseAll(bytes: Buffer, cuts: number[] = []): EslFrame[] {
  const parser = new EslParser();
  const frames: EslFrame[] = [];
  let start = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    frames.push(...parser.feed(bytes.subarray(start, cut)));
    start = cut;
  }
  expect(parser.bufferedBytes).toBe(0);
  return frames;
}

function snapshot(frames: EslFrame[]) {
  return frames.map((f) => ({
    headerText: f.headerText,
    rawHeaders: f.rawHeaders,
    contentType: f.contentType,
    body: f.body?.toString('hex'),
    streamOffset: f.streamOffset,
  }));
}

describe('EslParser on captured FreeSWITCH 1.10.12 traffic', () => {
  it('consumes every fixture stream completely, ending exactly at its last byte', () => {
    for (const { name, bytes } of eslStreams()) {
      const frames = parseAll(bytes);
      expect(frames.length, name).toBeGreaterThan(0);
      expect(frames.at(-1)?.streamOffset, name).toBe(bytes.length);
    }
  });

  it('property: any chunking of every fixture stream yields identical frames', () => {
    for (const { name, bytes } of eslStreams()) {
      const whole = snapshot(parseAll(bytes));
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), (cuts) => {
          expect(snapshot(parseAll(bytes, cuts)), name).toEqual(whole);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('byte-at-a-time feeding gives the same frames (large responses arrive split anywhere)', () => {
    const bytes = eslFixture('11-bgapi-status-background-job.txt');
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(snapshot(parseAll(bytes, cuts))).toEqual(snapshot(parseAll(bytes)));
  });

  it('reads the auth handshake, api replies and the disconnect notice', () => {
    const frames = parseAll(eslFixture('03-auth-wrong-password.txt'));
    expect(frames.map((f) => f.contentType)).toEqual([
      'auth/request',
      'command/reply',
      'text/disconnect-notice',
    ]);
    expect(frames[1]?.headers['Reply-Text']).toBe('-ERR invalid');
    expect(frames[2]?.bodyText).toBe('Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n');
  });

  it('keeps api error bodies whole (errors are ordinary api/response frames)', () => {
    const frames = parseAll(eslFixture('10-api-bogus-command.txt'));
    expect(frames.slice(2).map((f) => [f.contentType, f.bodyText])).toEqual([
      ['api/response', '-ERR bogus_command Command not found!\n'],
      ['api/response', '-ERR No such channel!\n'],
    ]);
  });

  it('event frames put Content-Length before Content-Type; replies start with Content-Type', () => {
    const frames = parseAll(eslFixture('12-event-plain-all-during-call.txt'));
    const events = frames.filter((f) => f.contentType === 'text/event-plain');
    expect(events.length).toBe(76);
    for (const f of events) expect(f.rawHeaders.map(([n]) => n)).toEqual(['Content-Length', 'Content-Type']);
    expect(frames[1]?.rawHeaders[0]?.[0]).toBe('Content-Type');
  });

  it('outbound: the connect reply is one header block of channel data with Content-Type last, no body', () => {
    const frames = parseAll(eslFixture('30-outbound-async-full-linger.txt'));
    const connect = frames[0] as EslFrame;
    expect(connect.contentType).toBe('command/reply');
    expect(connect.body).toBeUndefined();
    expect(connect.rawHeaders.slice(-4).map(([n]) => n)).toEqual([
      'Content-Type',
      'Reply-Text',
      'Socket-Mode',
      'Control',
    ]);
    expect(connect.headers['Reply-Text']).toBe('+OK\n');
    expect(connect.headers['Channel-Callee-ID-Name']).toBe('Outbound Call');
    expect(connect.headers['Socket-Mode']).toBe('async');
    expect(connect.headers.Control).toBe('full');
  });

  it('a body without trailing newline is followed at once by the next frame', () => {
    const frames = parseAll(eslFixture('30-outbound-async-full-linger.txt'));
    const api = frames.findIndex((f) => f.contentType === 'api/response');
    expect(frames[api]?.bodyText).toBe('outbound-socket');
    expect(frames[api + 1]?.headers['Reply-Text']).toBe('+OK');
    const notice = frames.find((f) => f.contentType === 'text/disconnect-notice');
    expect(notice?.headers['Content-Disposition']).toBe('linger');
  });

  it('reads the frame types the captures lack, in the form mod_event_socket.c writes them', () => {
    const log =
      'Content-Type: log/data\nContent-Length: 12\nLog-Level: 7\nText-Channel: 3\nLog-File: x.c\nLog-Func: f\nLog-Line: 9\nUser-Data: \n\nhello world\n';
    const rude = 'Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n';
    const xml = '<event>\n  <headers>\n    <Event-Name>HEARTBEAT</Event-Name>\n  </headers>\n</event>';
    const xmlFrame = `Content-Length: ${xml.length}\nContent-Type: text/event-xml\n\n${xml}`;
    const frames = parseAll(Buffer.from(log + rude + xmlFrame));
    expect(frames.map((f) => [f.contentType, f.bodyText])).toEqual([
      ['log/data', 'hello world\n'],
      ['text/rude-rejection', 'Access Denied, go away.\n'],
      ['text/event-xml', xml],
    ]);
    expect(frames[0]?.headers['Log-Level']).toBe('7');
  });
});

describe('EslParser limits and bad input', () => {
  it('refuses a declared body over maxFrameBytes at once, before buffering it', () => {
    const parser = new EslParser({ maxFrameBytes: 1024 });
    const err = (() => {
      try {
        parser.feed(Buffer.from('Content-Type: api/response\nContent-Length: 5000000\n\n'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(EslProtocolError);
    expect((err as EslProtocolError).code).toBe('ESL_FRAME_TOO_LARGE');
    expect(parser.bufferedBytes).toBe(0);
    // A failed parser stays failed: the connection must be closed.
    expect(() => parser.feed(Buffer.from('Content-Type: auth/request\n\n'))).toThrow(EslProtocolError);
  });

  it('bounds memory on a header block that never ends', () => {
    const parser = new EslParser({ maxFrameBytes: 4096 });
    const line = Buffer.from('X-Header: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n');
    expect(() => {
      for (let i = 0; i < 1000; i++) parser.feed(line);
    }).toThrow(/without an end/);
  });

  it('rejects a Content-Length that is not a number with a typed error', () => {
    const parser = new EslParser();
    expect(() => parser.feed(Buffer.from('Content-Type: api/response\nContent-Length: 12abc\n\n'))).toThrow(
      EslProtocolError,
    );
  });

  it('skips lines without a colon, as old FreeSWITCH sent "Content-Length 24" in rude rejections', () => {
    const frames = new EslParser().feed(
      Buffer.from('Content-Type: text/rude-rejection\nContent-Length 24\n\n'),
    );
    expect(frames[0]?.rawHeaders).toEqual([['Content-Type', 'text/rude-rejection']]);
  });
});
