import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connected, rejectionOf, startFake } from './helpers.js';
import { tempDir } from './sync-setup.js';

describe('FakeAsterisk answers CreateConfig, Reload and files on disk as Asterisk does', () => {
  it('CreateConfig of an existing file is an error carrying strerror(EEXIST)', async () => {
    const fake = await startFake();
    const client = await connected(fake);
    await client.createConfig('new.conf');
    const err = await rejectionOf(client.createConfig('new.conf'));
    expect(err.message).toBe('CreateConfig failed: File exists');
  });

  it('Reload names one loaded module (with or without .so) and refuses others', async () => {
    const fake = await startFake({ modules: ['chan_sip.so'] });
    const client = await connected(fake);
    const ok = await client.action({ Action: 'Reload', Module: 'chan_sip' });
    expect(ok.get('Message')).toBe('Module Reloaded');
    const err = await rejectionOf(client.action({ Action: 'Reload', Module: 'res_pjsip.so' }));
    expect(err.message).toBe('Reload failed: No such module');
    expect(fake.reloads).toEqual(['chan_sip.so']);
  });

  it('with configDir, UpdateConfig writes a real file with the header Asterisk writes', async () => {
    const dir = await tempDir('pbxkit-fake-etc-');
    const fake = await startFake({ configDir: dir });
    const client = await connected(fake);
    await client.createConfig('a.conf');
    await client.updateConfig('a.conf', 'a.conf', [{ action: 'NewCat', category: 'x' }]);
    const text = await readFile(join(dir, 'a.conf'), 'utf8');
    expect(text).toMatch(/^;!\n;! Automatically generated configuration file\n/);
    expect(text).toContain(';! Generator: Manager');
    expect(text).toContain('[x]');
    const err = await rejectionOf(client.getConfig('../outside.conf'));
    expect(err.message).toBe('GetConfig failed: Config file not found');
  });
});
