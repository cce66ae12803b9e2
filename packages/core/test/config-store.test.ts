import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPatch } from 'diff';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigStore, type ConfigStoreOptions, diffFiles } from '../src/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function store(options: Partial<ConfigStoreOptions> = {}): Promise<ConfigStore> {
  const dir = await mkdtemp(join(tmpdir(), 'pbxkit-config-store-'));
  dirs.push(dir);
  let t = Date.UTC(2026, 0, 15, 9, 0, 0);
  const now = () => {
    t += 60_000;
    return new Date(t);
  };
  return ConfigStore.open({ dir, now, ...options });
}

const SIP_V1 = '[1001]\ncallerid=Alice <1001>\naccountcode=HeadOffice\n\n[1002]\ncallerid=Alex <1002>\n';
const SIP_V2 = '[1001]\ncallerid=Alice <1001>\naccountcode=HeadOffice\n\n[1003]\ncallerid=Aiden <1003>\n';
const META = { source: 'ami://10.0.0.254/sip_additional.conf', appliedBy: 'branch sync' };

describe('ConfigStore', () => {
  it('writes each version as plain files an operator can read with ls, cat and diff', async () => {
    const s = await store();
    const v1 = await s.commit({ 'sip_synch.conf': SIP_V1 }, { ...META, message: 'first sync' });
    await s.commit({ 'sip_synch.conf': SIP_V2, 'synch_routing_sip_synch.conf': '[from-branch]\n' }, META);

    expect((await readdir(s.dir)).sort()).toEqual(['000001', '000002']);
    expect((await readdir(join(s.dir, '000001'))).sort()).toEqual(['changes.diff', 'files', 'version.json']);
    expect(await readFile(join(s.dir, '000001/files/sip_synch.conf'), 'utf8')).toBe(SIP_V1);
    expect(JSON.parse(await readFile(join(s.dir, '000001/version.json'), 'utf8'))).toEqual({
      version: 1,
      createdAt: '2026-01-15T09:01:00.000Z',
      source: META.source,
      appliedBy: 'branch sync',
      message: 'first sync',
      files: { 'sip_synch.conf': { bytes: SIP_V1.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } },
    });
    expect(v1).toMatchObject({ version: 1, createdAt: new Date('2026-01-15T09:01:00.000Z') });
    // diff(1) as an operator would run it: exit status 1 means the trees differ.
    let out = '';
    try {
      execFileSync('diff', ['-ru', join(s.dir, '000001/files'), join(s.dir, '000002/files')], {
        encoding: 'utf8',
      });
    } catch (err) {
      out = (err as { stdout: string }).stdout;
    }
    expect(out).toContain('-[1002]');
    expect(out).toContain('+[1003]');
    expect(out).toContain('Only in');
  });

  it('records a unified diff per version, and diffs any two versions the same way', async () => {
    const s = await store();
    await s.commit({ 'sip_synch.conf': SIP_V1 }, META);
    await s.commit({ 'sip_synch.conf': SIP_V2, 'extra.conf': 'x=1\n' }, META);
    const changes = await s.changes(2);
    expect(changes).toBe(await s.diff(1, 2));
    expect(changes).toBe(
      [
        '--- /dev/null\tversion 1',
        '+++ b/extra.conf\tversion 2',
        '@@ -0,0 +1,1 @@',
        '+x=1',
        '--- a/sip_synch.conf\tversion 1',
        '+++ b/sip_synch.conf\tversion 2',
        '@@ -2,5 +2,5 @@',
        ' callerid=Alice <1001>',
        ' accountcode=HeadOffice',
        ' ',
        '-[1002]',
        '-callerid=Alex <1002>',
        '+[1003]',
        '+callerid=Aiden <1003>',
        '',
      ].join('\n'),
    );
    expect(await s.changes(1)).toContain('--- /dev/null\tempty\n+++ b/sip_synch.conf\tversion 1');
    expect(await s.diff(2, 1)).toContain('+++ /dev/null\tversion 1');
    expect(await s.pending({ 'sip_synch.conf': SIP_V2, 'extra.conf': 'x=1\n' })).toBe('');
    expect(await s.pending({ 'sip_synch.conf': SIP_V1, 'extra.conf': 'x=1\n' })).toContain('+[1002]');
  });

  it('holds a FreeSWITCH-style tree of files per version', async () => {
    const s = await store();
    const tree = {
      'freeswitch.xml': '<document type="freeswitch/xml"/>\n',
      'autoload_configs/sofia.conf.xml': '<configuration name="sofia.conf"/>\n',
      'sip_profiles/internal.xml': '<profile name="internal"/>\n',
      'directory/default/1000.xml': '<user id="1000"/>\n',
    };
    await s.commit(tree, { source: 'git:main@3f2a1c', appliedBy: 'fs-config-sync' });
    const v = await s.get(1);
    expect(v.contents).toEqual(tree);
    expect(Object.keys(v.files).sort()).toEqual(Object.keys(tree).sort());
    expect(await readFile(join(s.dir, '000001/files/directory/default/1000.xml'), 'utf8')).toBe(
      '<user id="1000"/>\n',
    );
  });

  it('rollback(n) records a new version with the files of n, applied first', async () => {
    const s = await store();
    await s.commit({ 'sip_synch.conf': SIP_V1 }, META);
    await s.commit({ 'sip_synch.conf': SIP_V2 }, META);
    const applied: Array<[number, string]> = [];
    const v3 = await s.rollback(1, {
      appliedBy: 'operator alice',
      message: 'Aiden moved back to HQ',
      apply: (files, version) => {
        applied.push([version, files['sip_synch.conf'] as string]);
      },
    });
    expect(applied).toEqual([[3, SIP_V1]]);
    expect(v3).toMatchObject({
      version: 3,
      rollbackOf: 1,
      source: 'rollback to version 1',
      appliedBy: 'operator alice',
    });
    expect((await s.get(3)).contents).toEqual({ 'sip_synch.conf': SIP_V1 });
    expect(await s.changes(3)).toContain('+[1002]');
    expect((await s.list()).map((v) => v.version)).toEqual([1, 2, 3]);
    expect((await s.latest())?.version).toBe(3);
  });

  it('records nothing when apply throws, and the numbering does not skip', async () => {
    const s = await store();
    await s.commit({ 'a.conf': '1\n' }, META);
    const failing = s.commit(
      { 'a.conf': '2\n' },
      { ...META, apply: () => Promise.reject(new Error('reload failed')) },
    );
    await expect(failing).rejects.toThrow('reload failed');
    expect((await s.list()).map((v) => v.version)).toEqual([1]);
    expect((await s.commit({ 'a.conf': '3\n' }, META)).version).toBe(2);
  });

  it('keeps the newest `retain` versions; numbers keep growing and a kept version’s diff survives', async () => {
    const s = await store({ retain: 3 });
    for (let i = 1; i <= 5; i++) await s.commit({ 'a.conf': `value=${i}\n` }, META);
    expect((await s.list()).map((v) => v.version)).toEqual([3, 4, 5]);
    expect(await s.changes(3)).toContain('-value=2\n+value=3');
    await expect(s.get(2)).rejects.toMatchObject({ code: 'CONFIG_STORE_NOT_FOUND' });
    expect((await s.commit({ 'a.conf': 'value=6\n' }, META)).version).toBe(6);
    expect((await readdir(s.dir)).sort()).toEqual(['000004', '000005', '000006']);
  });

  it('refuses file names that are not clean relative paths, before writing anything', async () => {
    const s = await store();
    for (const name of ['../etc/passwd', '/etc/asterisk/sip.conf', 'a//b', './a', 'a\\b', 'a\nb', '']) {
      await expect(s.commit({ [name]: 'x' }, META)).rejects.toMatchObject({ code: 'CONFIG_STORE_NAME' });
    }
    await expect(s.commit({ a: 'x', 'a/b': 'y' }, META)).rejects.toThrow('is both a file and a directory');
    expect(await readdir(s.dir)).toEqual([]);
  });

  it('detects a stored file changed behind its back', async () => {
    const s = await store();
    await s.commit({ 'a.conf': 'secret=1\n' }, META);
    await writeFile(join(s.dir, '000001/files/a.conf'), 'secret=2\n');
    await expect(s.get(1)).rejects.toMatchObject({ code: 'CONFIG_STORE_CORRUPT' });
    await writeFile(join(s.dir, '000001/version.json'), '{"version":');
    expect(await s.list()).toEqual([]);
  });

  it('open() removes what an interrupted write or deletion left, and never lists it', async () => {
    const s = await store();
    await s.commit({ 'a.conf': '1\n' }, META);
    await mkdir(join(s.dir, '.tmp-2-deadbeef/files'), { recursive: true });
    await writeFile(join(s.dir, '.tmp-2-deadbeef/files/a.conf'), 'half');
    await mkdir(join(s.dir, '.trash-1-cafebabe/files'), { recursive: true });
    expect((await s.list()).map((v) => v.version)).toEqual([1]);
    const reopened = await ConfigStore.open({ dir: s.dir });
    expect(await readdir(s.dir)).toEqual(['000001']);
    expect((await reopened.commit({ 'a.conf': '2\n' }, META)).version).toBe(2);
  });

  it('writes concurrent commits one after the other', async () => {
    const s = await store();
    const versions = await Promise.all(
      Array.from({ length: 5 }, (_, i) => s.commit({ 'a.conf': `n=${i}\n` }, META).then((v) => v.version)),
    );
    expect(versions).toEqual([1, 2, 3, 4, 5]);
    for (let n = 2; n <= 5; n++) expect(await s.changes(n)).toContain(`+n=${n - 1}`);
  });
});

describe('diffFiles', () => {
  it('writes a wholesale rewrite of a large file as one replacement hunk, quickly, and the patch still applies', () => {
    const lines = (tag: string) =>
      Array.from({ length: 6000 }, (_, i) => `[${i}]\ncallerid=${tag}-${i}\n`).join('');
    const [old, now] = [lines('old'), `${lines('new')}tail`];
    const started = performance.now();
    const patch = diffFiles({ 'big.conf': old }, { 'big.conf': now }, 'version 1', 'version 2');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(patch).toContain('@@ -1,12000 +1,12001 @@');
    expect(patch.endsWith('+tail\n\\ No newline at end of file\n')).toBe(true);
    expect(applyPatch(old, patch)).toBe(now);
  });

  it('small changes get a minimal diff that applies', () => {
    const old = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const now = 'a\nb\nc\nD\ne\nf\ng\nh';
    const patch = diffFiles({ x: old }, { x: now }, '1', '2');
    expect(patch).toContain('@@ -1,8 +1,8 @@');
    expect(applyPatch(old, patch)).toBe(now);
  });
});
