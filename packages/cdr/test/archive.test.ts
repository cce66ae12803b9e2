import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { CdrArchive, type CdrArchiveOptions } from '../src/archive/archive.js';
import { makeCdr } from './dispatch-helpers.js';

const DAY = 86_400_000;
const opened: CdrArchive[] = [];

async function openArchive(options: Partial<CdrArchiveOptions> & { dir?: string } = {}) {
  const archive = await CdrArchive.open({
    dir: options.dir ?? mkdtempSync(join(tmpdir(), 'pbxkit-archive-')),
    ...options,
  });
  opened.push(archive);
  return archive;
}

afterEach(async () => {
  for (const a of opened.splice(0)) await a.close();
});

function entry(receivedAt: Date, sinks = ['postgres', 'ccp'], bytes = 0) {
  const { uuid, xml } = makeCdr(randomUUID(), bytes);
  return {
    id: `${receivedAt.getTime()}-t-00000001-${uuid}`,
    uuid,
    leg: 'a' as const,
    receivedAt: receivedAt.toISOString(),
    sinks,
    xml: Buffer.from(xml),
  };
}

describe('CdrArchive', () => {
  it('keeps each CDR byte for byte, selects by time, uuid and sink, and stays readable with zcat', async () => {
    const archive = await openArchive();
    const t0 = Date.parse('2026-08-21T14:00:00Z');
    const early = entry(new Date(t0 - 3_600_000));
    const inRange = [entry(new Date(t0 + 60_000)), entry(new Date(t0 + 120_000), ['postgres'])];
    const late = entry(new Date(t0 + 7_200_000));
    // Concurrent appends share gzip members (group commit); one more group afterwards.
    await Promise.all([early, ...inRange].map((e) => archive.append(e)));
    await archive.append(late);

    const reader = archive.reader;
    const range = await reader.list({ from: new Date(t0), to: new Date(t0 + 3_600_000) });
    expect(range.map((e) => e.uuid)).toEqual(inRange.map((e) => e.uuid));
    const read = [];
    for await (const cdr of reader.read(range)) read.push(cdr);
    expect(read.map((c) => c.xml)).toEqual(inRange.map((e) => e.xml.toString()));
    expect(read[0]).toMatchObject({
      leg: 'a',
      receivedAt: inRange[0]?.receivedAt,
      sinks: ['postgres', 'ccp'],
    });

    expect((await reader.list({ uuids: [late.uuid, early.uuid] })).map((e) => e.uuid)).toEqual([
      early.uuid,
      late.uuid,
    ]);
    expect((await reader.list({ from: new Date(t0), sink: 'ccp' })).map((e) => e.uuid)).toEqual([
      inRange[0]?.uuid,
      late.uuid,
    ]);
    // A plain gzip file: `zcat` shows every CDR after its comment line.
    const files = readdirSync(archive.dir).filter((f) => f.endsWith('.xml.gz'));
    expect(files).toHaveLength(1);
    const text = gunzipSync(readFileSync(join(archive.dir, files[0] as string))).toString();
    for (const e of [early, ...inRange, late]) expect(text).toContain(`${e.xml.toString()}\n`);
    expect(text.match(/<!-- pbxkit-cdr \{/g)).toHaveLength(4);
  });

  it('files CDRs under the day they are archived and deletes whole days past `days`, and the oldest past maxBytes', async () => {
    let now = Date.parse('2026-08-01T12:00:00Z');
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-archive-'));
    const archive = await openArchive({ dir, days: 7, now: () => now });
    const days: string[] = [];
    for (let d = 0; d < 10; d++) {
      await archive.append(entry(new Date(now)));
      days.push(new Date(now).toISOString().slice(0, 10));
      now += DAY;
    }
    now -= DAY; // 2026-08-10T12:00Z, the last day written
    const deleted = await archive.purge();
    // A day is kept `days` days after it ends: 08-02 ended 08-03T00:00, + 7 days = 08-10T00:00 <= now.
    expect(deleted).toEqual(['2026-08-01', '2026-08-02']);
    const left = readdirSync(dir)
      .filter((f) => f.endsWith('.xml.gz'))
      .sort();
    expect(left).toEqual(days.slice(2).map((d) => `${d}.xml.gz`));
    expect(readdirSync(dir).filter((f) => f.endsWith('.idx'))).toHaveLength(8);
    expect(await archive.reader.list({})).toHaveLength(8);
    await archive.close();

    // A byte cap below what is left: the oldest days go, never the current one.
    const capped = await openArchive({ dir, days: 7, maxBytes: 1, now: () => now });
    expect(readdirSync(dir).filter((f) => f.endsWith('.xml.gz'))).toEqual(['2026-08-10.xml.gz']);
    expect((await capped.reader.list({})).map((e) => e.receivedAt.slice(0, 10))).toEqual(['2026-08-10']);
  });

  it('after a crash: cuts an incomplete last write off and indexes a written group its index lacks', async () => {
    const now = Date.parse('2026-08-21T10:00:00Z');
    const dir = mkdtempSync(join(tmpdir(), 'pbxkit-archive-'));
    const archive = await openArchive({ dir, now: () => now });
    const first = entry(new Date(now));
    const second = entry(new Date(now + 1000));
    await archive.append(first);
    await archive.append(second);
    await archive.close();
    const data = join(dir, '2026-08-21.xml.gz');
    const index = join(dir, '2026-08-21.idx');
    // The second group's index line never made it (torn), and a third group was half written.
    const lines = readFileSync(index, 'utf8').split('\n');
    writeFileSync(index, `${lines[0]}\n${(lines[1] as string).slice(0, 20)}`);
    const size = readFileSync(data).length;
    appendFileSync(data, readFileSync(data).subarray(0, 30));

    const reopened = await openArchive({ dir, now: () => now });
    expect(readFileSync(data).length).toBe(size);
    expect((await reopened.reader.list({})).map((e) => e.uuid)).toEqual([first.uuid, second.uuid]);
    const third = entry(new Date(now + 2000));
    await reopened.append(third);
    const all = [];
    for await (const cdr of reopened.reader.read(await reopened.reader.list({}))) all.push(cdr.uuid);
    expect(all).toEqual([first.uuid, second.uuid, third.uuid]);
  });

  it('lists an entry archived twice (a crash before the spool forgot it) once', async () => {
    const archive = await openArchive();
    const e = entry(new Date());
    await archive.append(e);
    await archive.append(e);
    const found = await archive.reader.list({ uuids: [e.uuid] });
    expect(found).toHaveLength(1);
  });

  it('refuses a second writer on the same directory', async () => {
    const archive = await openArchive();
    await expect(CdrArchive.open({ dir: archive.dir })).rejects.toThrow(/CDR archive is in use by process/);
  });
});
