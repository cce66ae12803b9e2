import { describe, expect, it } from 'vitest';
import {
  CdrDecodeError,
  CdrParseError,
  chronologicalCallflows,
  decodeCdrBody,
  legFromName,
  parseCdr,
} from '../src/index.js';
import { allEncodings, capturedRequests, cdrDocuments } from './fixtures.js';

function comparable(xml: string) {
  const r = parseCdr(xml);
  return {
    uuid: r.uuid,
    leg: r.leg,
    variables: { ...r.variables },
    appLog: r.appLog,
    callflows: r.callflows,
  };
}

describe('decodeCdrBody and decodeCdrFile', () => {
  it('recovers exactly the XML FreeSWITCH sent, from each captured request', () => {
    const requests = capturedRequests();
    expect(requests.length).toBe(5);
    for (const req of requests) {
      expect(req.headers['user-agent']).toBe('freeswitch-xml/1.0');
      const decoded = decodeCdrBody(req.body, req.headers['content-type']);
      expect(decoded.xml, req.name).toBe(req.xml);
    }
  });

  // 0.16 s idle, 4.2 s at load 15-17: close to the 5 s default.
  it('every fixture through every encoding gives the same record', { timeout: 30_000 }, () => {
    for (const { name, xml } of cdrDocuments()) {
      if (name.startsWith('urldecoded-')) continue; // not valid XML: covered below
      const expected = comparable(xml);
      for (const { how, body, contentType } of allEncodings(xml)) {
        const decoded = decodeCdrBody(Buffer.from(body), contentType);
        expect(comparable(decoded.xml), `${name} via ${how}`).toEqual(expected);
      }
    }
  });

  it('never form-decodes a plaintext body (its XML holds & and %XX that must survive)', () => {
    const xml = '<cdr><variables><uuid>u1</uuid><x>a%26b%3Cc+d</x></variables></cdr>';
    const record = parseCdr(decodeCdrBody(`cdr=${xml}`, 'application/x-www-form-plaintext').xml);
    expect(record.variables.x).toBe('a&b<c+d');
  });

  it('decodes each variable exactly once: a value FreeSWITCH encoded twice keeps one layer', () => {
    const xml = '<cdr><variables><uuid>u1</uuid><sip_h_x>%253Csip%3A1%40h%253E</sip_h_x></variables></cdr>';
    for (const { how, body, contentType } of allEncodings(xml)) {
      expect(parseCdr(decodeCdrBody(body, contentType).xml).variables.sip_h_x, how).toBe('%3Csip:1@h%3E');
    }
  });

  it('refuses what is not a CDR with CdrDecodeError', () => {
    expect(() => decodeCdrBody('hello', 'text/plain')).toThrow(CdrDecodeError);
    expect(() => decodeCdrBody('name=x', 'application/x-www-form-urlencoded')).toThrow(CdrDecodeError);
    expect(() => decodeCdrBody('cdr=%E0%A4%A', 'application/x-www-form-urlencoded')).toThrow(CdrDecodeError);
    expect(() => decodeCdrBody('cdr=PD94!!', 'application/x-www-form-base64-encoded')).toThrow(
      CdrDecodeError,
    );
  });
});

describe('parseCdr', () => {
  it('reads every real CDR: uuid, variables, app_log, callflows newest first, times', () => {
    const records = cdrDocuments().map(({ name, xml }) => ({ name, record: parseCdr(xml) }));
    for (const { name, record } of records) {
      expect(record.uuid, name).toMatch(/^[0-9a-f-]{36}$/);
      expect(record.startedAt, name).toBeInstanceOf(Date);
      expect(Object.keys(record.variables).length, name).toBeGreaterThan(50);
    }
    const chain = records.find((r) => r.name.includes('transfer-chain'))?.record;
    expect(chain?.callflows.map((c) => c.profileIndex)).toEqual([5, 4, 3, 2, 1]);
    expect(chronologicalCallflows(chain as never).map((c) => c.extension?.number)[0]).toBe('7200');
    expect(chain?.callflows[0]?.times.hangup_time).toBe(1795418958486221);
    expect(chain?.appLog.at(-1)).toEqual({ name: 'hangup', data: 'USER_BUSY', stamp: 1795418958498200 });
    expect(chain?.appLog[4]?.data).toBe('pbxkit_xml_chars=<a href="x">&amp;</a>');
    expect(chain?.coreUuid).toBe('83b1f345-f998-4d09-9195-11a65ee84487');
    expect(chain?.channelData.state).toBe('CS_REPORTING');
  });

  it('tells the leg from the a_ prefix when given, else from content (originator profile / originating_leg_uuid)', () => {
    const docs = cdrDocuments();
    const bleg = docs.find((d) => d.name === 'ccm-bleg-outbound-gateway-answered.cdr.xml')?.xml as string;
    const aleg = docs.find((d) => d.name === 'ccm-aleg-outbound-gateway-bridge-answered.cdr.xml')
      ?.xml as string;
    expect(parseCdr(bleg).leg).toBe('b');
    expect(parseCdr(bleg).callflows[0]?.originator.length).toBe(1);
    expect(parseCdr(aleg).leg).toBe('a');
    expect(parseCdr(aleg, { leg: legFromName('a_x') }).leg).toBe('a');
    expect(legFromName('/var/log/freeswitch/xml_cdr/a_1234.cdr.xml')).toBe('a');
    expect(legFromName('1234.cdr.xml')).toBeUndefined();
  });

  it('tolerates the invalid element names real CDRs contain, normalised as FusionPBX repairs them', () => {
    const xml = `<?xml version="1.0"?>
<cdr core-uuid="c" switchname="s"><variables>
  <uuid>6c4c7c1a-0000-4000-8000-000000000001</uuid>
  <set api_hangup_hook>lua%20x.lua</set api_hangup_hook>
  <^^,default_language>en</^^,default_language>
  <nolocal:operator>1000</nolocal:operator>
  <1234>numeric</1234>
  <__proto__>polluted</__proto__>
  <empty/>
</variables></cdr>`;
    const r = parseCdr(xml);
    expect(r.variables.api_hangup_hook).toBe('lua x.lua');
    expect(r.variables.default_language).toBe('en');
    expect(r.variables.operator).toBe('1000');
    expect(r.variables['1234']).toBe('numeric');
    expect(r.variables.empty).toBe('');
    expect(Object.getPrototypeOf(r.variables)).toBeNull();
    expect(Object.entries(r.variables)).toContainEqual(['__proto__', 'polluted']);
  });

  it('reads a CDR that was URL-decoded as a whole (raw < inside sip_full_from), as FusionPBX repairs it', () => {
    const doc = cdrDocuments().find((d) => d.name.startsWith('urldecoded-'))?.xml as string;
    const r = parseCdr(doc);
    expect(r.variables.sip_full_from).toMatch(/^<sip:1001@10\.0\.0\.8>;tag=/);
    expect(r.variableLists.DP_MATCH?.length).toBe(2);
  });

  it('rejects truncated XML, a foreign root, and a CDR without uuid with CdrParseError', () => {
    const xml = cdrDocuments()[0]?.xml as string;
    for (const cut of [10, 200, Math.floor(xml.length / 2), xml.length - 8]) {
      expect(() => parseCdr(xml.slice(0, cut)), `cut at ${cut}`).toThrow(CdrParseError);
    }
    expect(() => parseCdr('<html><body/></html>')).toThrow(/not <cdr>/);
    expect(() => parseCdr('<cdr><variables><x>1</x></variables></cdr>')).toThrow(/no call uuid/);
    expect(() => parseCdr('')).toThrow(CdrParseError);
  });

  // 1.0 s on the idle 2-core machine, 8-17 s at load 10-13 (eight busy processes besides the tests).
  it('parses a 20 MB CDR', { timeout: 60_000 }, () => {
    const base = cdrDocuments().find((d) => d.name.startsWith('ccm-aleg-outbound'))?.xml as string;
    const at = base.indexOf('</variables>');
    const filler = Array.from({ length: 200_000 }, (_, i) => `<pad_${i}>${'x'.repeat(80)}</pad_${i}>`).join(
      '\n',
    );
    const big = base.slice(0, at) + filler + base.slice(at);
    expect(big.length).toBeGreaterThan(20_000_000);
    const r = parseCdr(big);
    expect(r.variables.pad_199999).toHaveLength(80);
    expect(r.uuid).toBe('fff6895c-de04-4a59-b1c5-458835891c73');
  });
});
