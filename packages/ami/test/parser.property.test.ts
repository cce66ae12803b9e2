import { AmiParser } from '@pbxkit/ami';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fixtureNames, rx } from './fixtures.js';

/** What a consumer observes: each message's fields, text and classification, plus the banner. */
function observe(chunks: Buffer[]): unknown {
  const parser = new AmiParser();
  const msgs = chunks.flatMap((c) => parser.feed(c));
  return {
    banner: parser.banner,
    msgs: msgs.map((m) => ({ type: m.type, name: m.name, id: m.actionId, e: m.entries(), t: m.text })),
  };
}

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}

describe('AmiParser chunking (property)', () => {
  for (const name of fixtureNames()) {
    it(`any chunking of ${name} yields the same messages as one feed`, () => {
      const bytes = rx(name);
      const whole = observe([bytes]);
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
          expect(observe(split(bytes, cuts))).toEqual(whole);
        }),
        { numRuns: 150 },
      );
    });
  }

  const synthetic: Record<string, Buffer> = {
    'bare-LF framing of 10-command-multiline': Buffer.from(
      rx('10-command-multiline').toString('utf8').replaceAll('\r\n', '\n'),
    ),
    'pre-14 Response: Follows with blank lines and multi-byte text': Buffer.from(
      'Asterisk Call Manager/1.1\r\n' +
        'Response: Follows\r\nPrivilege: Command\r\nActionID: a\r\nZoë: 日本\n\n\r\nlast--END COMMAND--\r\n\r\n' +
        'Event: After\r\nX: 1\r\n\r\n\r\n' +
        'Response: Follows\nActionID: b\n--END COMMAND--\n\n',
    ),
  };
  for (const [label, bytes] of Object.entries(synthetic)) {
    it(`any chunking of ${label} yields the same messages`, () => {
      const whole = observe([bytes]);
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
          expect(observe(split(bytes, cuts))).toEqual(whole);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('parses generated messages exactly, whatever the line endings, stray blank lines and chunking', () => {
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
    // Values: any text without line breaks; one leading space is the separator, so keep values from
    // starting with a space to compare them exactly.
    const value = fc
      .string({ unit: 'grapheme', maxLength: 30 })
      .filter((v) => !/[\r\n]/.test(v) && !v.startsWith(' '));
    const message = fc.record({
      first: fc.constantFrom('Event', 'Response'),
      name: fc.stringMatching(/^[A-Za-z]{1,12}$/).filter((n) => n.toLowerCase() !== 'follows'),
      fields: fc.array(fc.tuple(key, value), { maxLength: 12 }),
      eol: fc.constantFrom('\r\n', '\n'),
      strayBlankLines: fc.nat({ max: 2 }),
    });
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (msgs, cuts) => {
          let wire = 'Asterisk Call Manager/11.0.0\r\n';
          for (const m of msgs) {
            wire += m.eol.repeat(m.strayBlankLines);
            wire += `${m.first}: ${m.name}${m.eol}`;
            for (const [k, v] of m.fields) wire += `${k}: ${v}${m.eol}`;
            wire += m.eol;
          }
          const bytes = Buffer.from(wire, 'utf8');
          const parser = new AmiParser();
          const parsed = split(bytes, cuts).flatMap((c) => parser.feed(c));
          expect(parsed.map((p) => [p.type, p.name, p.entries()])).toEqual(
            msgs.map((m) => [
              m.first === 'Event' ? 'event' : 'response',
              m.name,
              [[m.first, m.name], ...m.fields.map(([k, v]) => [k, v])],
            ]),
          );
          expect(parser.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('byte-at-a-time feeding of the largest capture yields the same messages', () => {
    const bytes = rx('28-originate-async-success');
    const single = [...bytes].map((b) => Buffer.from([b]));
    expect(observe(single)).toEqual(observe([bytes]));
  });
});
