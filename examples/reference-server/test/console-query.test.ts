import { parseCdr } from '@pbxkit/cdr';
import { describe, expect, it } from 'vitest';
import { RateWindow } from '../src/console/rates.js';
import { csvField } from '../src/console/search.js';
import { encodeCursor, parseSearch, searchSql } from '../src/console/search-query.js';
import { callTimeline, hangupSummary } from '../src/console/timeline.js';
import { callPair } from './console-calls.js';

const q = (text: string) => parseSearch(new URLSearchParams(text));

describe('console search parameters', () => {
  it('reads every filter, with newest first and 50 rows by default', () => {
    const query = q(
      'from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&caller=%2B1555&destination=20&domain=pbx.example.com' +
        '&status=answered,missed&status=failed&direction=inbound&minDuration=10&maxDuration=60',
    );
    expect(query).toMatchObject({
      caller: '+1555',
      destination: '20',
      domain: 'pbx.example.com',
      status: ['answered', 'missed', 'failed'],
      direction: 'inbound',
      minDuration: 10,
      maxDuration: 60,
      sort: 'start',
      order: 'desc',
      limit: 50,
    });
    expect(query.from?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('refuses what makes no sense, naming the parameter', () => {
    for (const [text, message] of [
      ['caller=12_', /^caller: /],
      ['caller=1%25', /^caller: /],
      ['from=2026-12-02&to=2026-12-01', /^from must be before to/],
      ['minDuration=-1', /^minDuration: /],
      ['minDuration=9&maxDuration=3', /^minDuration must not be above/],
      ['sort=caller', /^sort: "caller" is not one of start, duration/],
      ['limit=0', /^limit: /],
      ['direction=sideways', /^direction: /],
    ] as const) {
      expect(() => q(text), text).toThrow(message);
    }
  });

  it('takes a cursor only from a search with the same sort', () => {
    const cursor = encodeCursor({ value: 42, uuid: '6f78e490-0130-4101-bede-be2e52b97936' });
    expect(q(`sort=duration&after=${cursor}`).after).toEqual({
      value: 42,
      uuid: '6f78e490-0130-4101-bede-be2e52b97936',
    });
    expect(() => q(`sort=start&after=${cursor}`)).toThrow(/^after: /);
  });

  it('builds parameterised SQL: no value of the query is in the text, keyset on (sort, uuid)', () => {
    const query = q(`caller=1555&domain=x.example.com&sort=duration&order=asc&limit=10`);
    query.after = { value: 30, uuid: '6f78e490-0130-4101-bede-be2e52b97936' };
    const { sql, params } = searchSql(query, 'public.v_xml_cdr');
    expect(sql).not.toContain('1555');
    expect(sql).not.toContain('x.example.com');
    expect(sql).toContain('((coalesce(duration, 0)), xml_cdr_uuid) > ($3, $4::uuid)');
    expect(sql).toMatch(/order by \(coalesce\(duration, 0\)\) asc, xml_cdr_uuid asc limit \$5$/);
    expect(params).toEqual(['1555%', 'x.example.com', 30, '6f78e490-0130-4101-bede-be2e52b97936', 11]);
    // for a prefix matching few rows: the same order, without the sort's index
    const sparse = searchSql(query, 'public.v_xml_cdr', { sortWithoutIndex: true }).sql;
    expect(sparse).toContain('order by (coalesce(duration, 0) + 0) asc, xml_cdr_uuid asc');
    const count = searchSql(query, 'public.v_xml_cdr', { count: true });
    expect(count.sql).toMatch(
      /^select count\(\*\) as n from \(select 1 from public.v_xml_cdr where .* limit \$5\) m$/,
    );
    expect(count.params.at(-1)).toBe(5001);
  });
});

describe('call timeline and hangup', () => {
  const pair = callPair({
    caller: '15551230001',
    destination: '201',
    start: new Date('2026-12-01T10:00:00Z'),
  });

  it('orders the callflow: created, apps, ringing, answered, bridged, hung up', () => {
    const events = callTimeline(parseCdr(pair.a.xml, { leg: 'a' }));
    expect(events.map((e) => `${e.kind}:${e.label}`)).toEqual([
      'created:call from',
      'app:set',
      'app:bridge',
      'ringing:ringing (180)',
      'answered:answered',
      'bridged:bridged',
      'hangup:hung up',
    ]);
    expect(events[0]?.detail).toBe('Caller 15551230001 15551230001 → 201 / pbx.example.com / XML');
    expect(events.at(-1)?.at).toBe('2026-12-01T10:00:20.000Z');
  });

  it('tells who hung up from the SIP disposition and the leg', () => {
    expect(hangupSummary({ leg: 'a', sip_hangup_disposition: 'recv_bye' }).by).toBe('caller');
    expect(hangupSummary({ leg: 'a', sip_hangup_disposition: 'send_bye' }).by).toBe('callee');
    expect(hangupSummary({ leg: 'b', sip_hangup_disposition: 'recv_bye' }).by).toBe('callee');
    expect(hangupSummary({ leg: 'a', sip_hangup_disposition: 'recv_cancel' }).explanation).toMatch(
      /caller gave up before the answer/,
    );
    expect(hangupSummary({ leg: 'a', sip_hangup_disposition: 'send_refuse' }).by).toBe('switch');
    expect(hangupSummary({ leg: 'a' }, { hangup_cause: 'USER_BUSY', hangup_cause_q850: '17' })).toMatchObject(
      {
        cause: 'USER_BUSY',
        q850: 17,
        by: 'unknown',
      },
    );
  });
});

describe('console helpers', () => {
  it('counts per second over a sliding window', () => {
    let now = 1_000_000;
    const window = new RateWindow(5, () => now);
    window.add();
    window.add(2);
    now += 2000;
    window.add();
    expect(window.series()).toEqual([0, 0, 3, 0, 1]);
    now += 10_000;
    expect(window.series()).toEqual([0, 0, 0, 0, 0]);
    expect(window.total).toBe(4);
  });

  it('writes CSV fields quoted when needed and never as a spreadsheet formula', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+15551230001')).toBe('+15551230001');
    expect(csvField(null)).toBe('');
  });
});
