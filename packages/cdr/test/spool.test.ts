import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32, crc32ForTests } from '../src/spool/crc32.js';
import { entryTime, isEntryId, newEntryId } from '../src/spool/ids.js';
import { SpoolLockedError } from '../src/spool/lock.js';
import { CdrSpool, CdrSpoolError } from '../src/spool/spool.js';
import { makeCdr } from './dispatch-helpers.js';

const open: CdrSpool[] = [];
async function openSpool(dir: string, options: { segmentBytes?: number } = {}): Promise<CdrSpool> {
  const spool = await CdrSpool.open({ dir, ...options });
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

describe('spool frame checksum', () => {
  it('computes the same CRC-32 without zlib.crc32 (Node before 20.15) as with it', () => {
    const data = Buffer.from(makeCdr(randomUUID(), 10_000).xml);
    expect(crc32ForTests(data)).toBe(crc32(data));
    expect(crc32ForTests(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32ForTests(data.subarray(100), crc32ForTests(data.subarray(0, 100)))).toBe(crc32(data));
  });
});

describe('CdrSpool', () => {
  it('appends durably: the frame is in a segment file with its header and XML when append resolves', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const { uuid, xml } = makeCdr();
    const events: string[] = [];
    spool.on('append', (e) => events.push(e.id));
    const id = await spool.append({ xml, uuid, leg: 'a', meta: { remoteAddress: '127.0.0.1' } });
    expect(events).toEqual([id]);
    const segments = readdirSync(join(dir, 'segments'));
    expect(segments).toEqual(['0000000001.seg']);
    const bytes = readFileSync(join(dir, 'segments', '0000000001.seg'));
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('CDR1');
    const headerBytes = bytes.readUInt32BE(4);
    expect(JSON.parse(bytes.subarray(16, 16 + headerBytes).toString('utf8'))).toMatchObject({
      id,
      uuid,
      leg: 'a',
    });
    expect(bytes.subarray(16 + headerBytes).toString('utf8')).toBe(xml);
    const entry = await spool.read(id);
    expect(entry).toMatchObject({ id, uuid, leg: 'a', xml, meta: { remoteAddress: '127.0.0.1' } });
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
  });

  it('stores concurrent appends together (group commit), every one readable after a reopen', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const cdrs = Array.from({ length: 200 }, () => makeCdr(randomUUID(), 4096));
    const ids = await Promise.all(cdrs.map((c) => spool.append(c)));
    expect(new Set(ids).size).toBe(200);
    await spool.close();
    const again = await openSpool(dir);
    expect(await again.pending()).toEqual([...ids].sort());
    for (const [i, id] of ids.entries()) {
      expect((await again.read(id))?.xml).toBe(cdrs[i]?.xml);
    }
  });

  it('ignores the torn tail a crash leaves after the last synced frame, and appends to a new segment', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await spool.append(makeCdr()));
    await spool.close();
    const segment = join(dir, 'segments', '0000000001.seg');
    const whole = readFileSync(segment);
    // An unacknowledged append cut short: a complete prefix, half a header.
    appendFileSync(segment, whole.subarray(0, 40));
    const again = await openSpool(dir);
    expect(await again.pending()).toEqual(ids);
    for (const id of ids) expect(await again.read(id)).toMatchObject({ id });
    const next = await again.append(makeCdr());
    expect(readdirSync(join(dir, 'segments'))).toEqual(['0000000001.seg', '0000000002.seg']);
    await again.close();
    // Zeros where the file grew but the data never reached the disk.
    appendFileSync(join(dir, 'segments', '0000000002.seg'), Buffer.alloc(4096));
    const third = await openSpool(dir);
    expect(await third.pending()).toEqual([...ids, next]);
  });

  it('refuses to hand out an entry whose bytes no longer match their checksum', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const { uuid, xml } = makeCdr();
    const id = await spool.append({ xml, uuid });
    const segment = join(dir, 'segments', '0000000001.seg');
    const bytes = readFileSync(segment);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 0xff;
    writeFileSync(segment, bytes);
    await expect(spool.read(id)).rejects.toThrow(/does not match its checksum/);
  });

  it('deletes a segment once all of its entries are removed, and forgets their marks', async () => {
    const dir = tempDir();
    // Tiny segments: every append fills one.
    const spool = await openSpool(dir, { segmentBytes: 1 });
    await spool.attachSink('pg');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await spool.append(makeCdr()));
    expect(readdirSync(join(dir, 'segments'))).toHaveLength(4);
    await spool.markDone('pg', ids);
    await spool.remove(ids[1] as string);
    await spool.remove(ids[2] as string);
    expect(readdirSync(join(dir, 'segments'))).toEqual(['0000000001.seg', '0000000004.seg']);
    expect(spool.isDone('pg', ids[1] as string)).toBe(false);
    expect(spool.isDone('pg', ids[0] as string)).toBe(true);
    await spool.remove(ids[0] as string);
    await spool.remove(ids[3] as string);
    expect(readdirSync(join(dir, 'segments'))).toEqual([]);
    expect(await spool.pending()).toEqual([]);
    await spool.close();
    expect(await (await openSpool(dir)).pending()).toEqual([]);
  });

  it('answers a failed segment write with an error, and stores the next append', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir, { segmentBytes: 1 });
    const first = await spool.append(makeCdr());
    // The next segment cannot be created: its directory is gone and a file has its name.
    rmSync(join(dir, 'segments'), { recursive: true });
    writeFileSync(join(dir, 'segments'), 'not a directory');
    await expect(spool.append(makeCdr())).rejects.toThrow(CdrSpoolError);
    rmSync(join(dir, 'segments'));
    mkdirSync(join(dir, 'segments'));
    const third = await spool.append(makeCdr());
    expect(await spool.pending()).toEqual([first, third]);
    expect((await spool.read(third))?.id).toBe(third);
  });

  it('moves the entries of a spool written by an earlier version (pending/<id>.cdr) into segments', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'pending'), { recursive: true });
    const legacy = Array.from({ length: 3 }, () => {
      const { uuid, xml } = makeCdr();
      const id = newEntryId(uuid);
      const header = { id, uuid, leg: 'a', receivedAt: new Date().toISOString(), meta: {} };
      writeFileSync(join(dir, 'pending', `${id}.cdr`), `${JSON.stringify(header)}\n${xml}`);
      return { id, xml };
    });
    const spool = await openSpool(dir);
    expect(await spool.pending()).toEqual(legacy.map((l) => l.id));
    for (const l of legacy) expect(await spool.read(l.id)).toMatchObject({ id: l.id, leg: 'a', xml: l.xml });
    expect(existsSync(join(dir, 'pending'))).toBe(false);
  });

  it('lists pending entries in arrival order after a restart, and clears interrupted writes', async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const { uuid, xml } = makeCdr();
      ids.push(await spool.append({ xml, uuid }));
    }
    await spool.close();
    // What a crash mid-write leaves: a temp file nobody was told about, and the lock of a process that is gone.
    writeFileSync(join(dir, 'tmp', 'half-written.cdr'), 'partial');
    writeFileSync(join(dir, 'spool.lock'), `99999999 ${hostname()}\n`);
    const again = await openSpool(dir);
    expect(await again.pending()).toEqual(ids);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(await again.read('0000000000000-x-00000000-gone')).toBeUndefined();
    expect(readFileSync(join(dir, 'spool.lock'), 'utf8')).toBe(`${process.pid} ${hostname()}\n`);
  });

  it("refuses a second opening of a spool in use (it could delete the first one's active segment)", async () => {
    const dir = tempDir();
    const spool = await openSpool(dir);
    const id = await spool.append(makeCdr());
    const second = CdrSpool.open({ dir });
    await expect(second).rejects.toThrow(SpoolLockedError);
    await expect(second).rejects.toThrow(`in use by process ${process.pid}`);
    expect(await spool.pending()).toEqual([id]);
    await spool.close();
    expect(existsSync(join(dir, 'spool.lock'))).toBe(false);
    const again = await openSpool(dir);
    expect(await again.pending()).toEqual([id]);
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
    // `a` is back (its segment still holds b and c), and both journals still say it was delivered.
    expect(await again.pending()).toEqual([a, b, c]);
    expect(again.isDone('pg', a) && again.isDone('http', a)).toBe(true);
    expect(again.isDone('pg', b)).toBe(true);
    expect(again.isDone('pg', c)).toBe(false);
    expect(again.isDone('http', b)).toBe(false);
    expect(again.isDone('http', c)).toBe(false);
    // The journal was rewritten with the live marks only: the torn line is gone.
    expect(readFileSync(join(dir, 'state', 'http.done'), 'utf8')).toBe(`${a}\n`);
    expect(readFileSync(join(dir, 'state', 'pg.done'), 'utf8')).toBe(`${a}\n${b}\n`);
    await again.markDone('http', [c]);
    expect(readFileSync(join(dir, 'state', 'http.done'), 'utf8')).toBe(`${a}\n${c}\n`);
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

  it('dead-letters many entries at once without leaking a file descriptor (all closed by close())', async () => {
    // Linux only: the open descriptors of this process.
    const fds = () => readdirSync('/proc/self/fd').length;
    const dir = tempDir();
    const spool = await CdrSpool.open({ dir });
    const ids: string[] = [];
    for (let i = 0; i < 32; i++) {
      const { uuid, xml } = makeCdr();
      ids.push(await spool.append({ xml, uuid, leg: 'a' }));
    }
    await spool.attachSink('pg');
    await spool.close();
    const before = fds();
    const again = await CdrSpool.open({ dir });
    await again.attachSink('pg');
    // The first dead letters of a sink arrive together (a failed batch): they must share one directory syncer.
    await Promise.all(ids.map((id) => again.deadLetter('pg', id, new Error('outage'), 3)));
    expect((await again.deadLetters('pg')).sort()).toEqual([...ids].sort());
    await again.close();
    expect(fds()).toBe(before);
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
