import { AmiActionError, type ConfFile, ConfigUpdate } from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';
import { connected, rejectionOf, startFake } from './helpers.js';

/** A FreePBX-style sip_custom.conf: one template of nine lines, two phones built on it. */
const PHONES = [
  '[general]',
  'bindport=5060',
  '',
  '[phone-tmpl](!)',
  'type=friend',
  'host=dynamic',
  'context=from-internal',
  'dtmfmode=rfc2833',
  'qualify=yes',
  'nat=force_rport,comedia',
  'disallow=all',
  'allow=ulaw',
  'allow=alaw',
  '',
  '[1110](phone-tmpl)',
  'secret=S3cret ; the desk phone',
  'context=reception ; overrides the template',
  'allow=g722',
  '',
  '[1111](phone-tmpl)',
  'secret=0ther',
  '',
].join('\n');

const TEMPLATES = 'TEMPLATES=include';

describe('getConfig and templates', () => {
  it('marks inherited lines, so toString() writes only what the file holds', async () => {
    const fake = await startFake();
    fake.setConfig('sip_custom.conf', PHONES);
    const client = await connected(fake);
    // Templates hidden (no filter): the client fetches the template to tell inherited lines apart.
    const conf = await client.getConfig('sip_custom.conf');
    expect(conf.names).toEqual(['general', '1110', '1111']);
    const desk = conf.category('1110');
    expect(desk?.getAll('allow')).toEqual(['ulaw', 'alaw', 'g722']);
    expect(desk?.getAll('context')).toEqual(['from-internal', 'reception']);
    expect(desk?.variables.filter((v) => v.inherited).map((v) => v.inheritedFrom)).toEqual(
      Array(9).fill('phone-tmpl'),
    );
    expect(conf.toString()).toBe(
      [
        '[general]',
        'bindport=5060',
        '[1110](phone-tmpl)',
        'secret=S3cret',
        'context=reception',
        'allow=g722',
        '[1111](phone-tmpl)',
        'secret=0ther',
        '',
      ].join('\n'),
    );
    // One category, the template fetched on its own.
    const one = await client.getConfig('sip_custom.conf', { category: '1111' });
    expect(one.toString()).toBe('[1111](phone-tmpl)\nsecret=0ther\n');
    expect(fake.actions.filter((a) => a.name === 'GetConfig').map((a) => a.get('Category'))).toEqual([
      undefined,
      'phone-tmpl',
      '1111',
      'phone-tmpl',
    ]);
  });

  it('gives a file that, written back, still follows its template', async () => {
    const fake = await startFake();
    fake.setConfig('sip_custom.conf', PHONES);
    const client = await connected(fake);
    const all = await client.getConfig('sip_custom.conf', { filter: TEMPLATES });
    expect(all.category('phone-tmpl')?.isTemplate).toBe(true);
    expect(all.category('phone-tmpl')?.variables.some((v) => v.inherited)).toBe(false);
    // Written to another file and read back through Asterisk, every category is what it was.
    await client.createConfig('copy.conf');
    fake.setConfig('copy.conf', all.toString());
    const copy = await client.getConfig('copy.conf', { filter: TEMPLATES });
    const lines = (c: ConfFile) =>
      c.categories.map((x) => [x.name, x.variables.map((v) => `${v.key}=${v.value}`)]);
    expect(lines(copy)).toEqual(lines(all));
    // A later change of the template reaches the phones that do not override it, once Asterisk is told not
    // to preserve their effective content.
    const retarget = new ConfigUpdate().update('phone-tmpl', 'context', 'from-phones', {
      catfilter: TEMPLATES,
    });
    await client.updateConfig('copy.conf', 'copy.conf', retarget, { preserveEffectiveContext: false });
    const after = await client.getConfig('copy.conf');
    expect(after.category('1111')?.get('context')).toBe('from-phones');
    expect(after.category('1110')?.getAll('context')).toEqual(['from-phones', 'reception']);
    expect(after.toString()).toContain('[1111](phone-tmpl)\nsecret=0ther\n');
  });

  it('pins the old template lines into each child by default (PreserveEffectiveContext)', async () => {
    const fake = await startFake();
    fake.setConfig('sip_custom.conf', PHONES);
    const client = await connected(fake);
    const retarget = new ConfigUpdate().update('phone-tmpl', 'context', 'from-phones', {
      catfilter: TEMPLATES,
    });
    await client.updateConfig('sip_custom.conf', 'sip_custom.conf', retarget);
    const after = await client.getConfig('sip_custom.conf');
    expect(after.category('1111')?.getAll('context')).toEqual(['from-phones', 'from-internal']);
    expect(after.toString()).toContain('[1111](phone-tmpl)\ncontext=from-internal\nsecret=0ther\n');
  });
});

describe('updateConfig and templates (catfilter)', () => {
  it('changes a template and fills a new one through the builder', async () => {
    const fake = await startFake();
    fake.setConfig('sip_custom.conf', PHONES);
    const client = await connected(fake);
    await client.updateConfig(
      'sip_custom.conf',
      'sip_custom.conf',
      new ConfigUpdate()
        .update('phone-tmpl', 'qualify', 'no', { catfilter: TEMPLATES })
        .append('phone-tmpl', 'allow', 'g729', { catfilter: TEMPLATES })
        .newCategory('video-tmpl', { template: true })
        .append('video-tmpl', 'allow', 'h264', { catfilter: TEMPLATES })
        .append('video-tmpl', 'videosupport', 'yes', { catfilter: TEMPLATES })
        .newCategory('1112', { inherit: ['phone-tmpl', 'video-tmpl'] })
        .append('1112', 'secret', 'V1deo'),
    );
    const sent = fake.actions.at(-1);
    expect(sent?.get('Options-000000')).toBe('catfilter="TEMPLATES=include"');
    expect(sent?.get('Options-000005')).toBe('inherit="phone-tmpl,video-tmpl"');
    const conf = await client.getConfig('sip_custom.conf', { filter: TEMPLATES });
    expect(conf.names).toEqual(['general', 'phone-tmpl', '1110', '1111', 'video-tmpl', '1112']);
    expect(conf.category('phone-tmpl')?.get('qualify')).toBe('no');
    expect(conf.category('video-tmpl')?.isTemplate).toBe(true);
    const video = conf.category('1112');
    expect(video?.templates).toEqual(['phone-tmpl', 'video-tmpl']);
    expect(video?.getAll('allow')).toEqual(['ulaw', 'alaw', 'g729', 'h264']);
    expect(video?.get('videosupport')).toBe('yes');
    expect(conf.toString()).toContain('[1112](phone-tmpl,video-tmpl)\nsecret=V1deo\n');
  });

  it('cannot reach a template without the catfilter, nor inherit from a category that is not one', async () => {
    const fake = await startFake();
    fake.setConfig('sip_custom.conf', PHONES);
    const client = await connected(fake);
    const update = (changes: ConfigUpdate) =>
      client.updateConfig('sip_custom.conf', 'sip_custom.conf', changes);
    const hidden = await rejectionOf(update(new ConfigUpdate().update('phone-tmpl', 'qualify', 'no')));
    expect(hidden).toBeInstanceOf(AmiActionError);
    expect(hidden.message).toContain('Given category does not exist');
    const notTemplate = await rejectionOf(
      update(new ConfigUpdate().newCategory('1113', { inherit: '1110' })),
    );
    expect(notTemplate.message).toContain('Template category not found');
  });
});
