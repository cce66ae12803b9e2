import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfFile } from '@pbxkit/ami';
import { sipAdditionalConf } from '@pbxkit/ami/testing';
import { describe, expect, it } from 'vitest';
import { mainAndBranch, syncFor, tempDir } from './sync-setup.js';

const userNames = (conf: ConfFile | undefined) =>
  (conf?.categories ?? []).filter((c) => !c.isTemplate).map((c) => c.name);

describe('AsteriskConfigSync (chan_sip, through AMI)', () => {
  it('copies the filtered users with repeated keys, = in values and templates, reloads only chan_sip, records a version', async () => {
    const { main, branch } = await mainAndBranch();
    const { sync, store } = await syncFor(main, branch);
    const result = await sync.sync();
    expect(result).toMatchObject({ outcome: 'applied', state: 'Synced', users: 100 });
    expect(sync.state).toBe('Synced');

    const local = branch.config('sip_synch.conf');
    const users = userNames(local);
    expect(users).toHaveLength(100);
    expect(users.slice(0, 3)).toEqual(['1001', '1004', '1007']);
    const peer = local?.category('1001');
    expect(peer?.getAll('permit')).toEqual(['192.0.2.0/255.255.255.0', '198.51.100.0/255.255.255.0']);
    expect(peer?.getAll('allow')).toEqual(['ulaw', 'alaw']);
    expect(peer?.get('secret')).toMatch(/^Xk9=.+=p2$/);
    // 1010 inherits from [phones](!): the template came along and the peer still names it.
    expect(local?.category('phones')?.isTemplate).toBe(true);
    expect(local?.category('1010')?.templates).toEqual(['phones']);
    expect(local?.toString()).not.toMatch(/categoryname/i);

    expect(branch.reloads).toEqual(['chan_sip.so']);
    const versions = await store.list();
    expect(versions.map((v) => v.version)).toEqual([1]);
    expect(versions[0]?.source).toBe(`ami://${main.host}:${main.port}/sip_additional.conf`);
    expect((await store.get(1)).contents['sip_synch.conf']).toContain('[1001]');
  });

  it('does nothing when the main PBX did not change, and applies a changed user with its diff', async () => {
    const { main, branch } = await mainAndBranch({ users: 30 });
    const { sync, store } = await syncFor(main, branch);
    await sync.sync();
    expect(await sync.sync()).toMatchObject({ outcome: 'unchanged', state: 'Synced' });
    expect(branch.reloads).toHaveLength(1);

    main.config('sip_additional.conf')?.category('1004')?.set('callerid', 'Renamed <1004>');
    const changed = await sync.sync();
    expect(changed.outcome).toBe('applied');
    expect(changed.diff).toContain('+callerid=Renamed <1004>');
    expect(branch.config('sip_synch.conf')?.category('1004')?.get('callerid')).toBe('Renamed <1004>');
    expect((await store.list()).map((v) => v.version)).toEqual([1, 2]);
    expect(branch.reloads).toEqual(['chan_sip.so', 'chan_sip.so']);
  });

  it('matches section names with the reserved key categoryname', async () => {
    const { main, branch } = await mainAndBranch({ users: 30 });
    const { sync } = await syncFor(main, branch, {
      filter: { key: 'categoryname', value: '^10[0-1][0-9]$' },
    });
    await sync.sync();
    expect(userNames(branch.config('sip_synch.conf'))).toEqual(
      Array.from({ length: 19 }, (_, i) => String(1001 + i)),
    );
  });

  it('refuses an empty result and a large shrink unless forced, keeping the last version', async () => {
    const { main, branch } = await mainAndBranch({ users: 30 });
    const { sync, store } = await syncFor(main, branch);
    await sync.sync();
    const before = branch.config('sip_synch.conf')?.toString();

    main.setConfig('sip_additional.conf', '');
    const empty = await sync.sync();
    expect(empty).toMatchObject({ outcome: 'refused', state: 'Unsynced' });
    expect(empty.error?.code).toBe('SYNC_EMPTY');
    expect(branch.config('sip_synch.conf')?.toString()).toBe(before);

    main.setConfig('sip_additional.conf', sipAdditionalConf(9));
    const shrink = await sync.sync();
    expect(shrink.error?.code).toBe('SYNC_SHRINK');
    expect(shrink.reason).toMatch(/3 users where the last version had 10/);
    expect(branch.config('sip_synch.conf')?.toString()).toBe(before);
    expect((await store.list()).length).toBe(1);

    expect(await sync.sync({ force: true })).toMatchObject({ outcome: 'applied', users: 3, state: 'Synced' });
    expect(userNames(branch.config('sip_synch.conf'))).toEqual(['1001', '1004', '1007']);
  });

  it('keeps the last good version and says why when the main PBX is down or the reload fails', async () => {
    const { main, branch } = await mainAndBranch({ users: 30 });
    const { sync, store } = await syncFor(main, branch);
    await sync.sync();
    const before = branch.config('sip_synch.conf')?.toString();
    await main.close();
    const down = await sync.sync();
    expect(down).toMatchObject({ outcome: 'failed', state: 'Init' });
    expect(down.error?.code).toBe('SYNC_READ');
    expect(down.reason).toMatch(/reading sip_additional\.conf from the main PBX/);
    expect(branch.config('sip_synch.conf')?.toString()).toBe(before);
    expect(await store.list()).toHaveLength(1);
  });

  it('does not record a version whose reload the branch refused (chan_sip not loaded)', async () => {
    const { main, branch } = await mainAndBranch({ users: 30, branch: { modules: ['res_pjsip.so'] } });
    const { sync, store } = await syncFor(main, branch);
    const errors: Error[] = [];
    sync.on('error', (err) => errors.push(err));
    const result = await sync.sync();
    expect(result).toMatchObject({ outcome: 'failed', state: 'Unsynced' });
    expect(result.reason).toBe('reloading chan_sip.so: Reload failed: No such module');
    expect(errors).toHaveLength(1);
    expect(await store.list()).toEqual([]);
  });

  it('puts back a local file someone edited, and counts runs by result in its metrics', async () => {
    const { main, branch } = await mainAndBranch({ users: 30 });
    const { sync, registry } = await syncFor(main, branch, { metricsNamespace: 'branch' });
    await sync.sync();
    branch.config('sip_synch.conf')?.category('1001')?.set('secret', 'tampered');
    const again = await sync.sync();
    expect(again).toMatchObject({ outcome: 'unchanged', reason: 'local file restored to the last version' });
    expect(branch.config('sip_synch.conf')?.category('1001')?.get('secret')).not.toBe('tampered');
    const text = await registry.metrics();
    expect(text).toContain('pbxkit_branch_sync_runs_total{result="applied"} 1');
    expect(text).toContain('pbxkit_branch_sync_runs_total{result="unchanged"} 1');
    expect(text).toContain('pbxkit_branch_sync_state{state="Synced"} 1');
    expect(text).toContain('pbxkit_branch_sync_users 10');
  });

  it('rolls back to an earlier version and holds it until the main PBX changes again', async () => {
    const { main, branch } = await mainAndBranch({ users: 30 });
    const { sync, store } = await syncFor(main, branch);
    await sync.sync();
    main.config('sip_additional.conf')?.category('1001')?.set('callerid', 'Bad <1001>');
    await sync.sync();
    expect(branch.config('sip_synch.conf')?.category('1001')?.get('callerid')).toBe('Bad <1001>');

    const rolled = await sync.rollback(1);
    expect(rolled).toMatchObject({ version: 3, rollbackOf: 1 });
    expect(branch.config('sip_synch.conf')?.category('1001')?.get('callerid')).toBe('User 1001 <1001>');
    expect(sync.state).toBe('Unsynced');
    expect(await sync.sync()).toMatchObject({ outcome: 'held', state: 'Unsynced' });
    expect(branch.config('sip_synch.conf')?.category('1001')?.get('callerid')).toBe('User 1001 <1001>');

    main.config('sip_additional.conf')?.category('1001')?.set('callerid', 'Fixed <1001>');
    expect(await sync.sync()).toMatchObject({ outcome: 'applied', state: 'Synced' });
    expect(branch.config('sip_synch.conf')?.category('1001')?.get('callerid')).toBe('Fixed <1001>');
    expect((await store.list()).map((v) => v.version)).toEqual([1, 2, 3, 4]);
  });

  it('writes the file directly under localconfigspath, atomically, and Asterisk reads it back', async () => {
    const dir = await tempDir('pbxkit-etc-asterisk-');
    const { main, branch } = await mainAndBranch({ users: 30, branch: { configDir: dir } });
    const { sync } = await syncFor(main, branch, { localConfigsPath: dir });
    expect(await sync.sync()).toMatchObject({ outcome: 'applied', users: 10 });
    const text = await readFile(join(dir, 'sip_synch.conf'), 'utf8');
    expect(text.startsWith('; Written by pbxkit AsteriskConfigSync')).toBe(true);
    expect(userNames(ConfFile.parse(text))).toHaveLength(10);
    expect(branch.reloads).toEqual(['chan_sip.so']);
    // An operator's edit on disk is seen through AMI and undone at the next run.
    await writeFile(join(dir, 'sip_synch.conf'), '[9999]\nsecret=x\n');
    expect((await sync.sync()).reason).toBe('local file restored to the last version');
    expect(await readFile(join(dir, 'sip_synch.conf'), 'utf8')).toBe(text);
  });

  it('runs at start and then every interval, and stop() leaves no timer', async () => {
    const { main, branch } = await mainAndBranch({ users: 6 });
    const { sync } = await syncFor(main, branch, { intervalMs: 50 });
    const runs: string[] = [];
    const third = new Promise<void>((resolve) =>
      sync.on('run', (r) => {
        runs.push(r.outcome);
        if (runs.length === 3) resolve();
      }),
    );
    expect((await sync.start()).outcome).toBe('applied');
    await third;
    sync.stop();
    expect(runs.slice(0, 3)).toEqual(['applied', 'unchanged', 'unchanged']);
  });
});
