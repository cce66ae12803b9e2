import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryTime, isEntryId, newEntryId } from '../src/spool/ids.js';
import { CdrSpool } from '../src/spool/spool.js';
import { makeCdr } from './dispatch-helpers.js';

const open: CdrSpool[] = [];
async function openSpool(dir: string): Promise<CdrSpool> {
  const spool = await CdrSpool.open({ dir });
  open.push(spool);
  return spool;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

const tempDir = () => mkdtempSync(join(tmpdir(), 'pbxkit-spool-'));

describe('spool ids', () => {
  it('are unique and sort in creation order, even within one millisecond', () => {
    const at = new Date();
    const ids = Array.from({ length: 5000 }, () => newEntryId('c0ffee00-0000-4000-8000-000000000001', at));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every(isEntryId)).toBe(true);
    expect(entryTime(ids[0] as string)).toBe(at.getTime());
  });

  it('keep file names safe whatever the uuid', () => {
    const id = newEntryId('../../etc/passwd\n');
    expect(id).not.toContain('/');
    expect(isEntryId(id)).toBe(true);
  });
});

describe('CdrSpool', () => {
  it('appends durably: the entry file exists with its header and XML when append resolves', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const { uuid, xml } = makeCdr();
    const events: string[] = [];
    spool.on('append', (e) => events.push(e.id));
    const id = await spool.append({ xml, uuid, leg: 'a', meta: { remoteAddress: '127.0.0.1' } });
    expect(events).toEqual([id]);
    const file = join(dir, 'pending', `${id}.cdr`);
    expect(existsSync(file)).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(JSON.parse(text.slice(0, text.indexOf('\n')))).toMatchObject({ id, uuid, leg: 'a' });
    const entry = await spool.read(id);
    expect(entry).toMatchObject({ id, uuid, leg: 'a', xml, meta: { remoteAddress: '127.0.0.1' } });
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('lists pending entries in arrival order after a restart, and clears interrupted writes', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const { uuid, xml } = makeCdr();
      ids.push(await spool.append({ xml, uuid }));
    }
    // What a crash mid-append leaves: a temp file nobody was told about.
    writeFileSync(join(dir, 'tmp', 'half-written.cdr'), 'partial');
    const again = await openSpool(dir);
    expect(await again.pending()).toEqual(ids);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(await again.read('0000000000000-x-00000000-gone')).toBeUndefined();
  });

  it('keeps per-sink done marks across restarts and ignores a torn journal line', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const a = await spool.append(makeCdr());
    const b = await spool.append(makeCdr());
    const c = await spool.append(makeCdr());
    await spool.attachSink('pg');
    await spool.attachSink('http');
    await spool.markDone('pg', [a, b]);
    await spool.markDone('http', [a]);
    expect(spool.isDone('pg', a)).toBe(true);
    expect(spool.isDone('http', b)).toBe(false);
    await spool.remove(a);
    await spool.close();
    // A crash in the middle of a journal append.
    appendFileSync(join(dir, 'state', 'http.done'), c.slice(0, 10));

    const again = await openSpool(dir);
    await again.attachSink('pg');
    await again.attachSink('http');
    expect(await again.pending()).toEqual([b, c]);
    expect(again.isDone('pg', b)).toBe(true);
    expect(again.isDone('pg', c)).toBe(false);
    expect(again.isDone('http', b)).toBe(false);
    expect(again.isDone('http', c)).toBe(false);
    // The journal was rewritten with the live marks only: the torn line is gone.
    expect(readFileSync(join(dir, 'state', 'http.done'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'state', 'pg.done'), 'utf8')).toBe(`${b}\n`);
    await again.markDone('http', [c]);
    expect(readFileSync(join(dir, 'state', 'http.done'), 'utf8')).toBe(`${c}\n`);
  });

  it('compacts a journal whose lines are mostly stale, keeping the live marks', async () => {
    const dir = tempDir();
    // fsync off only to keep 1,001 journal appends quick; compaction works the same.
    const spool = await CdrSpool.open({ dir, fsync: false });
    open.push(spool);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await spool.append(makeCdr()));
    await spool.attachSink('pg');
    // 10,010 lines for 10 live marks: past the threshold, the journal is rewritten.
    for (let i = 0; i < 1001; i++) await spool.markDone('pg', ids);
    const lines = readFileSync(join(dir, 'state', 'pg.done'), 'utf8')
      .trim()
      .split('\n');
    expect(lines.length).toBeLessThan(100);
    expect(new Set(lines)).toEqual(new Set(ids));
    await spool.markDone('pg', ids.slice(0, 1));
    await spool.close();
    const again = await openSpool(dir);
    await again.attachSink('pg');
    expect(ids.every((id) => again.isDone('pg', id))).toBe(true);
  });

  it('dead-letters an entry for one sink with the last error, and replays it for that sink only', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const { uuid, xml } = makeCdr();
    const id = await spool.append({ xml, uuid, leg: 'a' });
    await spool.attachSink('pg');
    const err = Object.assign(new Error('relation "v_xml_cdr" does not exist'), { code: '42P01' });
    await spool.deadLetter('pg', id, err, 10);
    expect(spool.isDone('pg', id)).toBe(true);
    expect(await spool.deadLetters('pg')).toEqual([id]);
    const dead = await spool.readDeadLetter('pg', id);
    expect(dead.xml).toBe(xml);
    expect(dead.info).toMatchObject({
      id,
      uuid,
      leg: 'a',
      sink: 'pg',
      attempts: 10,
      error: { name: 'Error', message: 'relation "v_xml_cdr" does not exist', code: '42P01' },
    });
    await spool.remove(id);

    expect(await spool.replayDead('pg')).toBe(1);
    expect(await spool.deadLetters('pg')).toEqual([]);
    const [replayed] = await spool.pending();
    const entry = await spool.read(replayed as string);
    expect(entry).toMatchObject({ uuid, leg: 'a', sinks: ['pg'], xml, meta: { replayedFrom: id } });
  });

  it('quarantines a raw body with its reason', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const body = Buffer.from('cdr=<cdr><variables><uuid>x');
    const uuidParam = `a_${randomUUID()}`;
    const id = await spool.quarantine({
      body,
      reason: 'truncated',
      code: 'CDR_PARSE',
      contentType: 'application/x-www-form-plaintext',
      remoteAddress: '127.0.0.1',
      uuidParam,
    });
    expect(await spool.quarantined()).toEqual([id]);
    expect(readFileSync(join(dir, 'quarantine', `${id}.body`))).toEqual(body);
    expect(JSON.parse(readFileSync(join(dir, 'quarantine', `${id}.reason.json`), 'utf8'))).toMatchObject({
      reason: 'truncated',
      code: 'CDR_PARSE',
      contentType: 'application/x-www-form-plaintext',
      remoteAddress: '127.0.0.1',
      uuidParam,
      bytes: body.length,
    });
  });

  it('refuses sink names that are not safe file names', async () => {
    const spool = await openSpool(tempDir());
    await expect(spool.attachSink('../x')).rejects.toThrow(RangeError);
  });
});
