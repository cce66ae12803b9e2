import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHeaderValue,
  EslEvent,
  type EslEventFormat,
  EslParser,
  encodeEventFrame,
  encodeHeaderValue,
  isEventFrame,
} from '../src/index.js';
import { eslFixture } from './fixtures.js';

function eventsOf(bytes: Buffer): EslEvent[] {
  return new EslParser()
    .feed(bytes)
    .filter(isEventFrame)
    .map((f) => EslEvent.fromFrame(f));
}

function reencode(event: EslEvent, format: EslEventFormat): EslEvent {
  const [frame] = new EslParser().feed(encodeEventFrame(event.headers, event.body, format));
  return EslEvent.fromFrame(frame as never);
}

describe('EslEvent', () => {
  const plain = eventsOf(eslFixture('12-event-plain-all-during-call.txt'));

  it('names every captured event and decodes its headers once', () => {
    expect(plain.length).toBe(76);
    const answer = plain.find((e) => e.name === 'CHANNEL_ANSWER') as EslEvent;
    expect(answer.headers['Event-Date-Local']).toMatch(/^2026-11-23 07:25:\d\d$/);
    expect(answer.headers['FreeSWITCH-IPv6']).toBe('fd00::2');
    const custom = plain.find((e) => e.name === 'CUSTOM') as EslEvent;
    expect(custom.subclass).toBeTruthy();
  });

  it('the plain, JSON and XML encodings of one event give equal events', () => {
    for (const event of plain) {
      const expected = event.toJSON();
      expect(reencode(event, 'json').toJSON(), event.name).toEqual(expected);
      expect(reencode(event, 'xml').toJSON(), event.name).toEqual(expected);
      expect(reencode(event, 'plain').toJSON(), event.name).toEqual(expected);
    }
  });

  it('BACKGROUND_JOB carries its result after the inner Content-Length, in plain and JSON', () => {
    const plainJobs = eventsOf(eslFixture('11-bgapi-status-background-job.txt'));
    expect(plainJobs.map((e) => e.name)).toEqual(['BACKGROUND_JOB', 'BACKGROUND_JOB', 'BACKGROUND_JOB']);
    expect(plainJobs[0]?.body).toMatch(/^UP 0 years, 0 days/);
    expect(plainJobs[0]?.body.length).toBe(369);
    expect(plainJobs[2]?.body).toBe('-ERR bogus_command Command not found!\n');
    expect(plainJobs[1]?.headers['Job-UUID']).toBe('11111111-2222-4333-8444-555555555555');

    const jsonEvents = eventsOf(eslFixture('13-event-json-during-call.txt'));
    const originate = jsonEvents.find((e) => e.headers['Job-Command'] === 'originate') as EslEvent;
    expect(originate.name).toBe('BACKGROUND_JOB');
    expect(originate.body).toBe('+OK a1b2c3d4-0000-4000-8000-000000000713\n');
    expect(originate.headers['Content-Length']).toBe('41');
  });

  it('reads channel variables and case-insensitive headers as FreeSWITCH does', () => {
    const hangup = plain.find((e) => e.name === 'CHANNEL_HANGUP_COMPLETE') as EslEvent;
    expect(hangup.variable('is_loopback') ?? hangup.headers['Unique-ID']).toBeDefined();
    expect(hangup.get('unique-id')).toBe(hangup.headers['Unique-ID']);
  });

  it('headerMap holds the same headers as headers, in FreeSWITCH order, whichever is read first', () => {
    const mapFirst = eventsOf(eslFixture('12-event-plain-all-during-call.txt'));
    const objectFirst = eventsOf(eslFixture('12-event-plain-all-during-call.txt'));
    for (const [i, event] of mapFirst.entries()) {
      const other = objectFirst[i] as EslEvent;
      const map = event.headerMap;
      expect(Object.fromEntries(map), event.name).toEqual(other.headers);
      expect([...other.headerMap.keys()]).toEqual([...map.keys()]);
      // Read through the map only: body, name, lookups and the object built from it agree with the object path.
      expect(event.body).toBe(other.body);
      expect(event.name).toBe(other.name);
      expect(event.subclass).toBe(other.subclass);
      expect(event.get('unique-id')).toBe(other.headers['Unique-ID']);
      expect(event.headers).toEqual(other.headers);
    }
    const job = eventsOf(eslFixture('11-bgapi-status-background-job.txt'))[0] as EslEvent;
    expect(job.headerMap.get('Content-Length')).toBe('369');
    expect(job.body.length).toBe(369);
    for (const format of ['json', 'xml'] as const) {
      const event = reencode(plain[5] as EslEvent, format);
      expect(Object.fromEntries(event.headerMap), format).toEqual(plain[5]?.headers);
    }
  });

  it('headerMap keeps the first value of a repeated header, as headers does', () => {
    const [frame] = new EslParser().feed(
      Buffer.from(
        'Content-Length: 47\nContent-Type: text/event-plain\n\nEvent-Name: CUSTOM\nX-Dup: first\nX-Dup: second\n\n',
      ),
    );
    const event = EslEvent.fromFrame(frame as never);
    expect(event.headerMap.get('X-Dup')).toBe('first');
    expect(event.headers['X-Dup']).toBe('first');
  });

  it('array headers round-trip through every encoding', () => {
    const event = EslEvent.fromHeaders({
      'Event-Name': 'CUSTOM',
      'Event-Subclass': 'x::y',
      list: 'ARRAY::a b|:c%|:d',
    });
    for (const format of ['plain', 'json', 'xml'] as const) {
      expect(reencode(event, format).array('list'), format).toEqual(['a b', 'c%', 'd']);
    }
  });
});

describe('header value decoding', () => {
  it('decodes %XX escapes, including UTF-8 sequences, and leaves + alone', () => {
    expect(decodeHeaderValue('Mon,%2023%20Nov')).toBe('Mon, 23 Nov');
    expect(decodeHeaderValue('Jos%C3%A9%20%E2%98%8E')).toBe('José ☎');
    expect(decodeHeaderValue('+OK')).toBe('+OK');
  });

  it('keeps the raw value for a malformed escape instead of throwing (modesl crashes here)', () => {
    expect(decodeHeaderValue('100%')).toBe('100%');
    expect(decodeHeaderValue('50%zz off')).toBe('50%zz off');
    expect(decodeHeaderValue('bad%FFutf8')).toBe('bad%FFutf8');
  });

  it('property: decoding never throws, and encode then decode gives the value back', () => {
    fc.assert(fc.property(fc.string(), (s) => void decodeHeaderValue(s)));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        fc.pre(!/%[0-9a-fA-F]{2}/.test(s));
        expect(decodeHeaderValue(encodeHeaderValue(s))).toBe(s);
      }),
    );
  });

  it('encodes as FreeSWITCH does: unsafe characters escaped, / , ( ) kept', () => {
    expect(encodeHeaderValue('tone_stream://%(1000,0,440);loops=2')).toBe(
      'tone_stream%3A//%25(1000,0,440)%3Bloops%3D2',
    );
    expect(encodeHeaderValue('+OK\n')).toBe('%2BOK%0A');
  });
});

describe('differential: the same bytes decode to the same header values as modesl', () => {
  const require = createRequire(import.meta.url);
  const ModeslParser = require('modesl/lib/esl/Parser.js') as new (socket: EventEmitter) => EventEmitter;

  function modeslEvents(bytes: Buffer): Array<Record<string, unknown>> {
    const socket = new EventEmitter();
    const parser = new ModeslParser(socket);
    const out: Array<Record<string, unknown>> = [];
    parser.on('esl::event', (event: { headers: Array<{ name: string; value: unknown }>; body: string }) => {
      const headers: Record<string, unknown> = { _body: event.body };
      for (const h of event.headers) headers[h.name] = h.value;
      out.push(headers);
    });
    socket.emit('data', bytes);
    return out;
  }

  for (const name of ['12-event-plain-all-during-call.txt', '13-event-json-during-call.txt']) {
    it(name, () => {
      const bytes = eslFixture(name);
      const theirs = modeslEvents(bytes).filter((h) => typeof h['Event-Name'] === 'string');
      const ours = eventsOf(bytes);
      expect(ours.length).toBe(theirs.length);
      ours.forEach((event, i) => {
        const other = theirs[i] as Record<string, unknown>;
        for (const [key, value] of Object.entries(event.headers)) {
          expect(String(other[key]), `${event.name} ${key}`).toBe(value);
        }
        if (event.body) expect(other._body).toBe(event.body);
      });
    });
  }
});
