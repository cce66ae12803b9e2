import { AmiActionError, type AmiMessage, ConfFile, ConfigUpdate } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { capturedResponse, capturedSipAdditional } from './captured-conf.js';
import { connected, rejectionOf, startFake } from './helpers.js';

describe('AmiClient.getConfig / updateConfig / createConfig', () => {
  it('reads a configuration into a ConfFile, templates only with TEMPLATES=include', async () => {
    const fake = await startFake();
    fake.setConfig('sip_additional.conf', capturedSipAdditional());
    const client = await connected(fake);
    const conf = await client.getConfig('sip_additional.conf');
    expect(conf.names).toEqual(
      ConfFile.fromGetConfig(capturedResponse('12-getconfig-sip-additional', 'gc-1')).names,
    );
    expect(conf.category('1004')?.getAll('allow')).toEqual(['ulaw', 'alaw']);
    const withTemplates = await client.getConfig('sip_additional.conf', { filter: 'TEMPLATES=include' });
    expect(withTemplates.category('tmpl')?.isTemplate).toBe(true);
    const one = await client.getConfig('sip_additional.conf', { category: 'Dev_Trunk' });
    expect(one.names).toEqual(['Dev_Trunk']);
    const none = await client.getConfig('sip_additional.conf', { category: '9999' });
    expect(none.categories).toEqual([]);
    const err = await rejectionOf(client.getConfig('missing.conf'));
    expect(err).toBeInstanceOf(AmiActionError);
    expect(err.message).toContain('Config file not found');
  });

  it('applies typed changes and reads them back', async () => {
    const fake = await startFake();
    fake.setConfig('sip_additional.conf', capturedSipAdditional());
    const client = await connected(fake);
    await client.updateConfig(
      'sip_additional.conf',
      'sip_additional.conf',
      new ConfigUpdate()
        .newCategory('1005', { inherit: 'tmpl', before: '2001' })
        .append('1005', 'secret', 'N3w;Secret')
        .append('1005', 'allow', 'g722')
        .update('1004', 'callerid', 'Dave D <1004>')
        .delete('1002', 'permit', { match: '198.51.100.10/255.255.255.255' })
        .renameCategory('Dev_Trunk', 'Staging_Trunk'),
      { reload: 'chan_sip' },
    );
    const sent = fake.actions.at(-1) as AmiMessage;
    expect(sent.get('Reload')).toBe('chan_sip');
    const conf = await client.getConfig('sip_additional.conf');
    expect(conf.names).toEqual([
      '1001',
      '1002',
      '1003',
      '1004',
      '1005',
      '2001',
      '3001',
      'Staging_Trunk',
      'Prod_Trunk',
    ]);
    expect(conf.category('1005')?.templates).toEqual(['tmpl']);
    expect(conf.category('1005')?.get('secret')).toBe('N3w;Secret');
    expect(conf.category('1005')?.getAll('allow')).toEqual(['ulaw', 'alaw', 'g722']);
    expect(conf.category('1004')?.get('callerid')).toBe('Dave D <1004>');
    expect(conf.category('1002')?.getAll('permit')).toEqual(['192.0.2.0/255.255.255.0']);
  });

  it('rejects a refused change with Asterisk’s message and leaves the file unchanged', async () => {
    const fake = await startFake();
    fake.setConfig('a.conf', '[x]\nk=v\n');
    const client = await connected(fake);
    const err = await rejectionOf(
      client.updateConfig(
        'a.conf',
        'a.conf',
        new ConfigUpdate().append('x', 'k2', 'v2').update('nope', 'k', 'v'),
      ),
    );
    expect(err).toBeInstanceOf(AmiActionError);
    expect(err.message).toContain('Given category does not exist');
    expect(fake.config('a.conf')?.toString()).toBe('[x]\nk=v\n');
  });

  it('needs an existing destination: createConfig first', async () => {
    const fake = await startFake();
    fake.setConfig('src.conf', '[x]\nk=v\n');
    const client = await connected(fake);
    const err = await rejectionOf(
      client.updateConfig('src.conf', 'new.conf', new ConfigUpdate().append('x', 'a', 'b')),
    );
    expect(err.message).toContain('File requires escalated privileges');
    await client.createConfig('new.conf');
    await client.updateConfig('src.conf', 'new.conf', new ConfigUpdate().append('x', 'a', 'b'));
    expect(fake.config('new.conf')?.toString()).toBe('[x]\nk=v\na=b\n');
    expect(fake.config('src.conf')?.toString()).toBe('[x]\nk=v\n');
  });

  it('splits a change set past 128 headers into several UpdateConfig actions, in order', async () => {
    const fake = await startFake();
    fake.setConfig('big.conf', '[peers]\n');
    const client = await connected(fake);
    const changes = new ConfigUpdate();
    for (let i = 0; i < 70; i++) changes.append('peers', 'permit', `10.0.${i}.0/24`);
    await client.updateConfig('big.conf', 'big.conf', changes, { reload: true });
    const updates = fake.actions.filter((a) => a.name === 'UpdateConfig');
    expect(updates.length).toBeGreaterThan(1);
    for (const u of updates) expect(u.keys.length).toBeLessThanOrEqual(128);
    expect(updates.map((u) => u.get('Reload'))).toEqual([
      ...Array(updates.length - 1).fill(undefined),
      'yes',
    ]);
    const conf = await client.getConfig('big.conf');
    expect(conf.category('peers')?.getAll('permit')).toEqual(
      Array.from({ length: 70 }, (_, i) => `10.0.${i}.0/24`),
    );
  });
});
