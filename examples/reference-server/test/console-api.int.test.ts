import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, type ConsoleFixture, startConsoleFixture } from './console-fixture.js';

let f: ConsoleFixture;
const api = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${f.server.url}${path}`, {
    ...init,
    headers: { authorization: AUTH, ...(init.headers as Record<string, string>) },
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
};
const json = async (path: string, init?: RequestInit) => {
  const res = await api(path, init);
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text);
};
type Row = { xml_cdr_uuid: string; leg: string; status: string; caller_id_number: string; duration: number };

beforeAll(async () => {
  f = await startConsoleFixture('api');
});
afterAll(async () => {
  await f?.close();
});

describe('console API on PostgreSQL', () => {
  it('needs the operator credentials, like the recordings API', async () => {
    for (const path of ['/', '/pipeline', '/api/cdrs', '/api/pipeline']) {
      expect((await fetch(`${f.server.url}${path}`)).status, path).toBe(401);
    }
  });

  it('searches newest first and pages by keyset without losing or repeating a row', async () => {
    const all = (await json('/api/cdrs?limit=500')).rows as Row[];
    expect(all).toHaveLength(7); // three calls of two legs, and the dead letter's B leg
    const seen: string[] = [];
    let after = '';
    for (let pages = 0; pages < 10; pages++) {
      const page = await json(`/api/cdrs?limit=2${after ? `&after=${after}` : ''}`);
      seen.push(...page.rows.map((r: Row) => r.xml_cdr_uuid));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toEqual(all.map((r) => r.xml_cdr_uuid));
    // the oldest call last (its two legs started in the same second)
    expect(
      all
        .slice(-2)
        .map((r) => r.xml_cdr_uuid)
        .sort(),
    ).toEqual([f.answered.a.uuid, f.answered.b.uuid].sort());
  });

  it('filters by caller prefix, status, direction, domain, duration and uuid (both legs)', async () => {
    const uuids = async (query: string) =>
      ((await json(`/api/cdrs?${query}`)).rows as Row[]).map((r) => r.xml_cdr_uuid).sort();
    const pair = (p: { a: { uuid: string }; b: { uuid: string } }) => [p.a.uuid, p.b.uuid].sort();
    expect(await uuids('caller=1555123')).toEqual(pair(f.answered));
    expect(await uuids('status=missed')).toEqual([f.missed.a.uuid]);
    expect(await uuids('domain=other.example.com')).toEqual(pair(f.other));
    expect(await uuids('minDuration=60')).toEqual(pair(f.other));
    expect(await uuids('direction=inbound&destination=20')).toEqual(
      [f.answered.a.uuid, f.missed.a.uuid].sort(),
    );
    expect(await uuids(`uuid=${f.answered.a.uuid}`)).toEqual(pair(f.answered));
    const from = new Date(f.missed.start.getTime() - 1000).toISOString();
    const to = new Date(f.other.start.getTime() - 1000).toISOString();
    expect(await uuids(`from=${from}&to=${to}`)).toEqual(pair(f.missed));
  });

  it('sorts by duration both ways', async () => {
    const longest = (await json('/api/cdrs?sort=duration&order=desc&limit=1')).rows[0] as Row;
    expect(longest.xml_cdr_uuid).toMatch(new RegExp(`${f.other.a.uuid}|${f.other.b.uuid}`));
    const asc = (await json('/api/cdrs?sort=duration&order=asc')).rows as Row[];
    const durations = asc.map((r) => r.duration);
    expect(durations).toEqual([...durations].sort((x, y) => x - y));
  });

  it('answers a bad parameter with 400 naming it', async () => {
    for (const [query, named] of [
      ['status=lost', 'status'],
      ['from=yesterday', 'from'],
      ['caller=1%25', 'caller'],
      ['limit=5000', 'limit'],
      ['after=xyz', 'after'],
      ['uuid=123', 'uuid'],
    ]) {
      const res = await api(`/api/cdrs?${query}`);
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.text).reason, query).toMatch(new RegExp(`^${named}`));
    }
  });

  it('exports the search as CSV, a header and one line per leg', async () => {
    const res = await api('/api/cdrs.csv?caller=1555');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="cdrs-.*\.csv"$/);
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^xml_cdr_uuid,start_stamp,direction,/);
    expect(lines).toHaveLength(1 + 5);
    expect(res.text).toContain(f.missed.a.uuid);
  });

  it('shows a call: both legs linked, who hung up, the timeline, variables, raw XML and the recording', async () => {
    const call = await json(`/api/calls/${f.answered.a.uuid}`);
    expect(call.legs.map((l: Row) => l.xml_cdr_uuid)).toEqual([f.answered.b.uuid]);
    expect(call.hangup).toMatchObject({ cause: 'NORMAL_CLEARING', by: 'caller', disposition: 'recv_bye' });
    const kinds = call.timeline.map((e: { kind: string; label: string }) => `${e.kind}:${e.label}`);
    expect(kinds).toEqual(expect.arrayContaining(['created:call from', 'answered:answered', 'app:bridge']));
    expect(call.variables.bridge_uuid).toBe(f.answered.b.uuid);
    expect(call.raw).toBe('archive');
    expect(call.recording).toMatchObject({
      url: `/recordings/${f.answered.a.uuid}`,
      name: f.answered.recordName,
    });
    const back = await json(`/api/calls/${f.answered.b.uuid}`);
    expect(back.legs.map((l: Row) => l.xml_cdr_uuid)).toEqual([f.answered.a.uuid]);
    expect(back.hangup.by).toBe('caller'); // the B leg sent the BYE: the other side ended it
    const raw = await api(`/api/calls/${f.answered.a.uuid}/raw`);
    expect(raw.headers.get('x-cdr-source')).toBe('archive');
    expect(raw.text).toBe(f.answered.a.xml);
    const range = await fetch(`${f.server.url}${call.recording.url}`, {
      headers: { authorization: AUTH, range: 'bytes=44-1067' },
    });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer())).toEqual(f.wav.subarray(44, 1068));
    expect((await api(`/api/calls/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`)).status).toBe(404);
  });

  it('reports the pipeline: CDRs received and stored, sinks, spool, storage, the CDR archive', async () => {
    const snap = await json('/api/pipeline');
    expect(snap.totals.received).toBe(7);
    expect(snap.totals.stored.postgres).toBe(7);
    expect(snap.rates.received.reduce((a: number, b: number) => a + b, 0)).toBe(7);
    expect(snap.health.cdrStore.delivery).toMatchObject({ state: 'up', deadLetters: 1 });
    expect(snap.health.storage[0]).toMatchObject({ tier: 'local', ok: true });
    expect(snap.cdrArchive.days.length).toBeGreaterThan(0);
  });

  it('lists a dead letter and re-pushes it into the store', async () => {
    const dead = await json('/api/pipeline/dead-letters/postgres');
    expect(dead.total).toBe(1);
    expect(dead.items[0]).toMatchObject({ uuid: f.dead.a.uuid, attempts: 10 });
    expect(dead.items[0].error).toMatch(/check constraint/);
    const forged = await api('/api/pipeline/dead-letters/postgres/replay', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(forged.status).toBe(400);
    const stored = new Promise<void>((resolve) =>
      f.server.dispatcher.on('delivered', (sink) => sink === 'postgres' && resolve()),
    );
    const replay = await json('/api/pipeline/dead-letters/postgres/replay', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [dead.items[0].id] }),
    });
    expect(replay).toEqual({ replayed: 1 });
    await stored;
    expect((await json(`/api/cdrs?uuid=${f.dead.a.uuid}`)).rows).toHaveLength(2);
    expect((await json('/api/pipeline/dead-letters/postgres')).total).toBe(0);
    expect((await api('/api/pipeline/dead-letters/nosuch')).status).toBe(404);
  });

  it('re-pushes archived CDRs for one sink', async () => {
    const summary = await json('/api/pipeline/repush', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sink: 'postgres', uuids: [f.missed.a.uuid] }),
    });
    expect(summary).toMatchObject({ total: 1, done: 1, failed: [] });
    const bad = await api('/api/pipeline/repush', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sink: 'postgres' }),
    });
    expect(bad.status).toBe(400);
  });
});
