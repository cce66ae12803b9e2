import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES_DIR, fixture } from '../../../scripts/test-env.js';

/** Real CDR documents: `cdr/*.cdr.xml` and the XML inside each captured mod_xml_cdr request. */
export function cdrDocuments(): Array<{ name: string; xml: string }> {
  const fromRepos = readdirSync(join(FIXTURES_DIR, 'cdr'))
    .filter((f) => f.endsWith('.xml'))
    .map((name) => ({ name, xml: fixture('cdr', name).toString('utf8') }));
  const captured = readdirSync(join(FIXTURES_DIR, 'cdr-freeswitch'))
    .filter((f) => f.endsWith('.xml'))
    .map((name) => ({ name, xml: fixture('cdr-freeswitch', name).toString('utf8') }));
  return [...fromRepos, ...captured];
}

/** A captured mod_xml_cdr HTTP request, split into its parts. */
export interface CapturedRequest {
  name: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The XML FreeSWITCH meant to send (the `.xml` beside the request). */
  xml: string;
}

export function capturedRequests(): CapturedRequest[] {
  return readdirSync(join(FIXTURES_DIR, 'cdr-freeswitch'))
    .filter((f) => f.endsWith('.request.http'))
    .map((name) => {
      const raw = fixture('cdr-freeswitch', name);
      const split = raw.indexOf('\r\n\r\n');
      const head = raw.subarray(0, split).toString('latin1').split('\r\n');
      const [method, target] = (head[0] ?? '').split(' ');
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      return {
        name,
        method: method ?? '',
        target: target ?? '',
        headers,
        body: raw.subarray(split + 4),
        xml: fixture('cdr-freeswitch', name.replace('.request.http', '.xml')).toString('utf8'),
      };
    });
}

/** FreeSWITCH's switch_url_encode as mod_xml_cdr applies it to the whole document for encode=true. */
export function freeswitchUrlEncode(text: string): string {
  const unsafe = new Set([...'\r\n "#%&+:;<=>?@[\\]^`{|}']);
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out +=
      byte > 0x20 && byte < 0x7f && !unsafe.has(ch)
        ? ch
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Every way FreeSWITCH can hand us one CDR: HTTP bodies per `encode`, and the files it writes. */
export function allEncodings(xml: string): Array<{ how: string; body: string; contentType?: string }> {
  const base64 = Buffer.from(xml, 'utf8').toString('base64');
  const urlencoded = freeswitchUrlEncode(xml);
  return [
    { how: 'encode=true', body: `cdr=${urlencoded}`, contentType: 'application/x-www-form-urlencoded' },
    { how: 'encode=false', body: `cdr=${xml}`, contentType: 'application/x-www-form-plaintext' },
    { how: 'encode=base64', body: `cdr=${base64}`, contentType: 'application/x-www-form-base64-encoded' },
    { how: 'encode=textxml', body: xml, contentType: 'text/xml' },
    { how: 'err-log file (urlencoded)', body: urlencoded },
    { how: 'err-log file (base64)', body: base64 },
    { how: 'log-dir file (raw XML)', body: xml },
  ];
}
