import { AmiConfigParseError, type AmiMessage, AmiParser, ConfFile, type ConfVariable } from '@pbxkit/ami';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rx } from './fixtures.js';

const SAMPLE = [
  '; pjsip.conf written by hand',
  '#include "pjsip_custom.conf"',
  '#exec </usr/local/bin/gen-peers.sh>',
  '',
  '[general](!)',
  'type = endpoint ; shared by everyone',
  'allow = !all,ulaw',
  '',
  '[codecs](!)',
  'allow=alaw',
  '',
  '[6001](general,codecs)',
  'auth=6001',
  'allow=g722',
  'allow=opus',
  'secret=a\\;b;real comment',
  'callerid="Ann ; Smith" <6001>',
  'set_var=A=1',
  ';-- a block comment',
  'nothing=here',
  '--;',
  'deny+=0.0.0.0/0.0.0.0',
  '',
  '[6001](+)',
  'mailbox=6001@default',
  '',
  '[incoming]',
  'exten => 100,1,Answer()',
  'exten => 100,n,Hangup()',
  'same => n,NoOp(done)',
].join('\n');

describe('ConfFile.parse', () => {
  it('serialises back byte for byte', () => {
    expect(ConfFile.parse(SAMPLE).toString()).toBe(SAMPLE);
    expect(ConfFile.parse(`${SAMPLE}\n`).toString()).toBe(`${SAMPLE}\n`);
    const crlf = SAMPLE.replaceAll('\n', '\r\n');
    expect(ConfFile.parse(crlf).toString()).toBe(crlf);
  });

  it('models categories, templates, inheritance and additions in order', () => {
    const conf = ConfFile.parse(SAMPLE);
    expect(conf.names).toEqual(['general', 'codecs', '6001', '6001', 'incoming']);
    expect(conf.category('general')?.isTemplate).toBe(true);
    expect(conf.category('6001')?.templates).toEqual(['general', 'codecs']);
    expect(conf.categoriesNamed('6001')[1]?.append).toBe(true);
    expect(conf.preamble.filter((l) => l.kind === 'directive').map((l) => [l.name, l.target])).toEqual([
      ['include', 'pjsip_custom.conf'],
      ['exec', '/usr/local/bin/gen-peers.sh'],
    ]);
  });

  it('keeps repeated keys in order, splits at the first =, handles =>, += and \\; escapes', () => {
    const conf = ConfFile.parse(SAMPLE);
    const peer = conf.category('6001');
    expect(peer?.getAll('allow')).toEqual(['g722', 'opus']);
    expect(peer?.get('set_var')).toBe('A=1');
    expect(peer?.get('secret')).toBe('a;b');
    expect(peer?.variables.find((v) => v.key === 'secret')?.comment).toBe(';real comment');
    // A `;` inside quotes still starts a comment in Asterisk.
    expect(peer?.get('callerid')).toBe('"Ann');
    expect(peer?.get('nothing')).toBeUndefined();
    const deny = peer?.variables.find((v) => v.key === 'deny') as ConfVariable;
    expect(deny.append).toBe(true);
    const exten = conf.category('incoming')?.variables as ConfVariable[];
    expect(exten.map((v) => [v.key, v.value, v.object])).toEqual([
      ['exten', '100,1,Answer()', true],
      ['exten', '100,n,Hangup()', true],
      ['same', 'n,NoOp(done)', true],
    ]);
  });

  it('rewrites only what changed', () => {
    const conf = ConfFile.parse(SAMPLE);
    const peer = conf.category('6001');
    peer?.set('auth', '6001-auth');
    peer?.add('allow', 'gsm');
    peer?.delete('allow', 'g722');
    conf
      .addCategory('6002', { templates: ['general'] })
      .add('auth', '6002')
      .add('note', 'x;y');
    const out = conf.toString();
    expect(out).toContain('\nauth=6001-auth\n');
    expect(out).toContain('secret=a\\;b;real comment');
    expect(out).not.toContain('allow=g722');
    expect(out.endsWith('same => n,NoOp(done)\n[6002](general)\nauth=6002\nnote=x\\;y\n')).toBe(true);
    const again = ConfFile.parse(out);
    expect(again.categoriesNamed('6001')[0]?.getAll('allow')).toEqual(['opus', 'gsm']);
    expect(again.category('6002')?.get('note')).toBe('x;y');
  });

  it('refuses what Asterisk refuses, with the line number', () => {
    expect(() => ConfFile.parse('[ok]\na=1\n[broken\n')).toThrow(AmiConfigParseError);
    try {
      ConfFile.parse('[ok]\na=1\n[broken\n');
    } catch (err) {
      expect((err as AmiConfigParseError).line).toBe(3);
      expect((err as AmiConfigParseError).code).toBe('AMI_CONFIG_PARSE');
    }
    expect(() => ConfFile.parse('a=1\n[late]\n')).toThrow(/before any \[category\]/);
    expect(() => ConfFile.parse('[x](!\n')).toThrow(/closing '\)'/);
  });

  it('round-trips any file made of arbitrary lines (property)', () => {
    const safeLine = fc
      .string({
        unit: fc.constantFrom('a', '=', ';', '\\', ' ', '\t', '-', '>', '+', '#', '!', 'é', ']', '('),
      })
      .filter((s) => !s.trim().startsWith('['));
    const header = fc.tuple(
      fc.stringMatching(/^[a-z0-9_]{1,8}$/),
      fc.constantFrom('', '(!)', '(+)', '(a,b)'),
    );
    const category = fc.tuple(header, fc.array(safeLine, { maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.array(category, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        (cats, eol, finalEol) => {
          const lines = cats.flatMap(([[name, opts], body]) => [`[${name}]${opts}`, ...body]);
          const text = lines.join(eol) + (finalEol ? eol : '');
          expect(ConfFile.parse(text).toString()).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('ConfFile.fromGetConfig', () => {
  const responses = (capture: string): AmiMessage[] => new AmiParser().feed(rx(capture));

  it('builds the captured sip_additional.conf: ordered categories, repeated keys, templates', () => {
    const response = responses('12-getconfig-sip-additional').find(
      (m) => m.actionId === 'gc-1',
    ) as AmiMessage;
    const conf = ConfFile.fromGetConfig(response);
    expect(conf.names).toEqual(['1001', '1002', '1003', '1004', '2001', '3001', 'Dev_Trunk', 'Prod_Trunk']);
    expect(conf.category('1004')?.templates).toEqual(['tmpl']);
    expect(conf.category('1002')?.getAll('permit')).toEqual([
      '192.0.2.0/255.255.255.0',
      '198.51.100.10/255.255.255.255',
    ]);
    expect(conf.category('1003')?.get('callerid')).toBe('"Carol O\'Connor" <1003>');
    expect(conf.category('1002')?.get('secret')).toBe('Rt5$wq8Zn1');
    expect(conf.category('Prod_Trunk')?.variables).toHaveLength(16);
    // Serialised and read back, nothing is lost.
    const again = ConfFile.parse(conf.toString());
    expect(
      again.categories.map((c) => [c.name, c.templates, c.variables.map((v) => [v.key, v.value])]),
    ).toEqual(conf.categories.map((c) => [c.name, c.templates, c.variables.map((v) => [v.key, v.value])]));
  });

  it('gives an empty file for "No categories found" and splits lines at the first =', () => {
    const none = responses('14-getconfig-category').find((m) => m.actionId === 'gc-none') as AmiMessage;
    expect(ConfFile.fromGetConfig(none).categories).toEqual([]);
    const p = new AmiParser({ expectBanner: false });
    const [m] = p.feed(
      Buffer.from(
        'Response: Success\r\nCategory-000000: t\r\nIsTemplate-000000: 1\r\nLine-000000-000000: setvar=A=B\r\n\r\n',
      ),
    );
    const conf = ConfFile.fromGetConfig(m as AmiMessage);
    expect(conf.category('t')?.isTemplate).toBe(true);
    expect(conf.category('t')?.variables.map((v) => [v.key, v.value])).toEqual([['setvar', 'A=B']]);
  });
});

describe('inherited lines', () => {
  const getConfig = (lines: string[]): AmiMessage =>
    new AmiParser({ expectBanner: false }).feed(
      Buffer.from(`Response: Success\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`),
    )[0] as AmiMessage;
  const TEMPLATE = [
    'Category-000000: tmpl',
    'IsTemplate-000000: 1',
    'Line-000000-000000: context=default',
    'Line-000000-000001: disallow=all',
    'Line-000000-000002: allow=ulaw',
  ];
  // What GetConfig shows for [c](tmpl) holding `allow+=,alaw`, `context=own` and `allow=g722`.
  const CHILD = [
    'Category-000001: c',
    'Templates-000001: tmpl',
    'Line-000001-000000: context=default',
    'Line-000001-000001: disallow=all',
    'Line-000001-000002: allow=ulaw,alaw',
    'Line-000001-000003: context=own',
    'Line-000001-000004: allow=g722',
  ];
  const shape = (conf: ConfFile, name: string) =>
    conf.category(name)?.variables.map((v) => `${v.key}=${v.value}${v.inherited ? ' (inherited)' : ''}`);

  it('are told apart from a GetConfig answer by the template lines, overrides and repeated keys kept', () => {
    const conf = ConfFile.fromGetConfig(getConfig([...TEMPLATE, ...CHILD]));
    expect(shape(conf, 'c')).toEqual([
      'context=default (inherited)',
      'disallow=all (inherited)',
      'allow=ulaw,alaw',
      'context=own',
      'allow=g722',
    ]);
    expect(conf.category('c')?.getAll('allow')).toEqual(['ulaw,alaw', 'g722']);
    expect(conf.toString()).toBe(
      '[tmpl](!)\ncontext=default\ndisallow=all\nallow=ulaw\n[c](tmpl)\nallow=ulaw,alaw\ncontext=own\nallow=g722\n',
    );
  });

  it('need the template: from the answer, or given', () => {
    const child = getConfig(CHILD);
    expect(
      ConfFile.fromGetConfig(child)
        .category('c')
        ?.variables.some((v) => v.inherited),
    ).toBe(false);
    const template = ConfFile.fromGetConfig(getConfig(TEMPLATE)).categories;
    const conf = ConfFile.fromGetConfig(child, template);
    expect(conf.toString()).toBe('[c](tmpl)\nallow=ulaw,alaw\ncontext=own\nallow=g722\n');
    // Changed, an inherited line becomes the category's own and is written where it stands.
    const first = conf.category('c')?.variables[0] as ConfVariable;
    first.value = 'changed';
    expect(first.inherited).toBe(false);
    expect(conf.toString()).toBe('[c](tmpl)\ncontext=changed\nallow=ulaw,alaw\ncontext=own\nallow=g722\n');
  });

  it('are added by withInheritance() as Asterisk loads a file, and still not written', () => {
    const loaded = ConfFile.parse(SAMPLE).withInheritance();
    expect(loaded.names).toEqual(['general', 'codecs', '6001', 'incoming']);
    expect(shape(loaded, '6001')).toEqual([
      'type=endpoint (inherited)',
      'allow=!all,ulaw (inherited)',
      'allow=alaw (inherited)',
      'auth=6001',
      'allow=g722',
      'allow=opus',
      'secret=a;b',
      // Asterisk ends the value at the unescaped ';', quotes or not.
      'callerid="Ann',
      'set_var=A=1',
      'deny=0.0.0.0/0.0.0.0',
      'mailbox=6001@default',
    ]);
    expect(loaded.toString()).not.toContain(
      'type = endpoint ; shared by everyone\nallow = !all,ulaw\n\n[6001]',
    );
    expect(loaded.toString().match(/type = endpoint/g)).toHaveLength(1);
    // `key += more` extends the line it adds to.
    const plus = ConfFile.parse('[t](!)\nallow=ulaw\n[c](t)\nallow+=,alaw\n').withInheritance();
    expect(shape(plus, 'c')).toEqual(['allow=ulaw,alaw']);
  });

  it('cannot come from a template Asterisk would not find', () => {
    expect(() => ConfFile.parse('[a]\nx=1\n\n[b](later)\ny=2\n[later](!)\n').withInheritance()).toThrow(
      /line 4: inheritance requested, but category 'later' does not exist/,
    );
    expect(() => ConfFile.parse('[t](!)\nx=1\n[t](+)\ny=2\n').withInheritance()).toThrow(AmiConfigParseError);
  });
});
