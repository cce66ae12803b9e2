import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCdrFile } from '../src/decode/transport.js';
import type { CdrSpool } from '../src/spool/spool.js';
import { httpRequest, makeCdr } from './dispatch-helpers.js';
import { freeswitchUrlEncode } from './fixtures.js';
import { AUTH, start } from './receiver-harness.js';

async function spooled(spool: CdrSpool) {
  const ids = await spool.pending();
  return Promise.all(ids.map(async (id) => (await spool.read(id))!));
}

/** What a form sends for a text field: HTML's form encoding turns every line break into CRLF. */
function asFormField(xml: string): string {
  return xml.replace(/\r?\n/g, '\r\n');
}

/** Posts a form the way a browser or PHP client does: `fetch` builds the multipart body and its boundary. */
async function postForm(url: string, form: FormData) {
  const res = await fetch(url, { method: 'POST', headers: AUTH, body: form });
  return { status: res.status, body: await res.text() };
}

/** A multipart body written by hand, for the shapes `fetch` never produces. */
function handMade(boundary: string, parts: Array<{ headers: string[]; value: string }>, eol = '\r\n') {
  const lines = parts.map((p) => `--${boundary}${eol}${p.headers.join(eol)}${eol}${eol}${p.value}${eol}`);
  return `${lines.join('')}--${boundary}--${eol}`;
}

describe('receiver: multipart/form-data with a cdr part, over real HTTP', () => {
  it('accepts a cdr field in any position, and a cdr file, storing the exact XML', async () => {
    const { spool, base } = await start();
    const first = makeCdr();
    const middle = makeCdr();
    const asFile = makeCdr();
    const encoded = makeCdr();

    const a = new FormData();
    a.append('cdr', first.xml);
    a.append('source', 'pbx-1');
    const b = new FormData();
    b.append('uuid', `a_${middle.uuid}`);
    b.append('cdr', middle.xml);
    b.append('note', 'x'.repeat(1000));
    const c = new FormData();
    c.append('tenant', 'acme');
    c.append('cdr', new Blob([asFile.xml], { type: 'application/xml' }), `a_${asFile.uuid}.cdr.xml`);
    // A sender that URL-encodes the value, as mod_xml_cdr does with encode=true: sniffed like a file.
    const d = new FormData();
    d.append('cdr', freeswitchUrlEncode(encoded.xml));

    for (const [form, cdr] of [
      [a, first],
      [b, middle],
      [c, asFile],
      [d, encoded],
    ] as const) {
      const answer = await postForm(`${base}/cdr?uuid=a_${cdr.uuid}`, form);
      expect(answer).toEqual({ status: 200, body: 'OK\n' });
    }
    const entries = await spooled(spool);
    expect(await spool.quarantined()).toEqual([]);
    for (const cdr of [first, middle, asFile, encoded]) {
      const entry = entries.find((e) => e.uuid === cdr.uuid);
      // A file part's bytes arrive as they were; a text field's with CRLF line breaks (and the URL-encoded
      // value has no line break left to change).
      expect(entry?.xml).toBe(cdr === first || cdr === middle ? asFormField(cdr.xml) : cdr.xml);
      expect(entry?.leg).toBe('a');
      expect(entry?.meta.encoding).toBe('multipart');
    }
  });

  it('accepts a 5 MB CDR as a multipart field', { timeout: 60_000 }, async () => {
    const { spool, base } = await start();
    const big = makeCdr(randomUUID(), 5 * 1024 * 1024);
    const form = new FormData();
    form.append('cdr', big.xml);
    expect((await postForm(`${base}/cdr?uuid=${big.uuid}`, form)).status).toBe(200);
    const [entry] = await spooled(spool);
    // Compared as a boolean: a failed comparison of two 5 MB strings would spend minutes printing their diff.
    expect(entry?.xml === asFormField(big.xml)).toBe(true);
  });

  it('reads hand-made bodies: a preamble, bare LF line ends, a quoted boundary, a base64 part', async () => {
    const { spool, base } = await start();
    const lf = makeCdr();
    const b64 = makeCdr();
    const bodies = [
      {
        type: 'multipart/form-data; boundary="quoted:boundary with space"',
        body: `preamble text\r\n${handMade('quoted:boundary with space', [
          { headers: ['Content-Disposition: form-data; name="x"'], value: '1' },
          { headers: ['Content-Disposition: form-data; name="cdr"'], value: lf.xml },
        ])}`,
        cdr: lf,
      },
      {
        type: 'multipart/form-data; charset=utf-8; boundary=abc123',
        body: handMade(
          'abc123',
          [
            {
              headers: [
                'content-disposition: form-data; name=cdr; filename="b.xml"',
                'Content-Transfer-Encoding: base64',
              ],
              value: Buffer.from(b64.xml).toString('base64'),
            },
          ],
          '\n',
        ),
        cdr: b64,
      },
    ];
    for (const { type, body, cdr } of bodies) {
      const answer = await httpRequest(`${base}/cdr?uuid=${cdr.uuid}`, {
        headers: { ...AUTH, 'content-type': type },
        body,
      });
      expect(answer.status, type).toBe(200);
      expect(answer.body).toBe('OK\n');
    }
    const entries = await spooled(spool);
    expect(entries.find((e) => e.uuid === lf.uuid)?.xml).toBe(lf.xml);
    expect(entries.find((e) => e.uuid === b64.uuid)?.xml).toBe(b64.xml);
  });

  it('quarantines a form it cannot read, with a reason that says why', async () => {
    const { spool, base } = await start();
    const { uuid, xml } = makeCdr();
    const good = handMade('b0undary', [
      { headers: ['Content-Disposition: form-data; name="cdr"'], value: xml },
    ]);
    const cases = [
      { type: 'multipart/form-data', body: good, reason: /without a boundary parameter/ },
      {
        type: 'multipart/form-data; boundary=other',
        body: good,
        reason: /does not contain its boundary "other"/,
      },
      {
        type: 'multipart/form-data; boundary=b0undary',
        body: handMade('b0undary', [{ headers: ['Content-Disposition: form-data; name="xml"'], value: xml }]),
        reason: /no part named cdr \(its parts: "xml"\)/,
      },
      {
        type: 'multipart/form-data; boundary=b0undary',
        body: good.slice(0, good.length - 20),
        reason: /ends before its closing boundary/,
      },
    ];
    for (const c of cases) {
      const answer = await httpRequest(`${base}/cdr?uuid=${uuid}`, {
        headers: { ...AUTH, 'content-type': c.type },
        body: c.body,
      });
      expect(answer.status, c.type).toBe(200);
      expect(answer.body).toMatch(/^quarantined /);
    }
    expect(await spool.pending()).toEqual([]);
    const ids = await spool.quarantined();
    expect(ids).toHaveLength(cases.length);
    for (const [i, id] of ids.entries()) {
      const reason = JSON.parse(readFileSync(join(spool.quarantineDirectory, `${id}.reason.json`), 'utf8'));
      expect(reason.code).toBe('CDR_DECODE');
      expect(reason.reason).toMatch(cases[i]!.reason);
      expect(readFileSync(join(spool.quarantineDirectory, `${id}.body`), 'utf8')).toBe(cases[i]!.body);
    }
    // Once the sender is fixed, a saved multipart body imports like any other file (it is sniffed).
    expect(decodeCdrFile(Buffer.from(good)).xml).toBe(xml);
  });
});
