import { describe, expect, it } from 'vitest';
import { startFake } from './helpers.js';
import { parseReply, reply, session } from './wire.js';

/** A template built on another, a phone on the first, as FreePBX and hand-written files have them. */
const FILE = [
  '[base](!)',
  'type=endpoint',
  '',
  '[phone-tmpl](!,base)',
  'disallow=all',
  'allow=ulaw',
  '',
  '[1110](phone-tmpl)',
  'allow=g722',
  'context=desk',
  '',
  '[1111](phone-tmpl)',
  'context=lobby',
  '',
].join('\n');

/** Sends `actions` as admin to a fake serving FILE as pjsip.conf; the answer and the file afterwards. */
async function onFile(actions: string): Promise<{ text: string; file: string }> {
  const fake = await startFake();
  fake.setConfig('pjsip.conf', FILE);
  const text = await session(fake, 'admin', 'secret', actions, 'off');
  return { text, file: fake.config('pjsip.conf')?.toString() ?? '' };
}

async function getConfig(headers: string): Promise<string> {
  const { text } = await onFile(`Action: GetConfig\r\nActionID: g\r\nFilename: pjsip.conf\r\n${headers}\r\n`);
  return reply(text, 'g');
}

const lines = (...l: string[]) =>
  `Response: Success\r\nActionID: g\r\n${l.map((x) => `${x}\r\n`).join('')}\r\n`;

describe('FakeAsterisk GetConfig: templates and inheritance as manager.c prints them', () => {
  it('hides templates, and shows each child with the lines it inherits first, numbered per category', async () => {
    expect(await getConfig('')).toBe(
      lines(
        'Category-000000: 1110',
        'Templates-000000: phone-tmpl',
        'Line-000000-000000: type=endpoint',
        'Line-000000-000001: disallow=all',
        'Line-000000-000002: allow=ulaw',
        'Line-000000-000003: allow=g722',
        'Line-000000-000004: context=desk',
        'Category-000001: 1111',
        'Templates-000001: phone-tmpl',
        'Line-000001-000000: type=endpoint',
        'Line-000001-000001: disallow=all',
        'Line-000001-000002: allow=ulaw',
        'Line-000001-000003: context=lobby',
      ),
    );
  });

  it('shows templates with IsTemplate and their own inherited lines with TEMPLATES=include', async () => {
    const text = await getConfig('Filter: TEMPLATES=include\r\n');
    expect(text).toContain(
      lines(
        'Category-000000: base',
        'IsTemplate-000000: 1',
        'Line-000000-000000: type=endpoint',
        'Category-000001: phone-tmpl',
        'IsTemplate-000001: 1',
        'Templates-000001: base',
        'Line-000001-000000: type=endpoint',
        'Line-000001-000001: disallow=all',
        'Line-000001-000002: allow=ulaw',
        'Category-000002: 1110',
      ).slice(0, -2),
    );
    expect(parseReply(await getConfig('Filter: TEMPLATES=restrict\r\n')).keys).toEqual([
      'Response',
      'ActionID',
      'Category-000000',
      'IsTemplate-000000',
      'Line-000000-000000',
      'Category-000001',
      'IsTemplate-000001',
      'Templates-000001',
      'Line-000001-000000',
      'Line-000001-000001',
      'Line-000001-000002',
    ]);
  });

  it('filters on inherited lines too, and reads the filter as does_category_match does', async () => {
    const categoriesOf = async (headers: string) =>
      parseReply(await getConfig(headers)).keys.filter((k) => k.startsWith('Category-')).length;
    expect(await categoriesOf('Filter: type=endpoint\r\n')).toBe(2);
    expect(await categoriesOf('Filter: context=desk,allow=g7\r\n')).toBe(1);
    expect(await categoriesOf('Filter: type=endpoint,TEMPLATES=include\r\n')).toBe(4);
    // TEMPLATES is a keyword only in capitals; a term without '=' or a broken regex matches nothing.
    expect(await categoriesOf('Filter: templates=include\r\n')).toBe(0);
    expect(await categoriesOf('Filter: context\r\n')).toBe(0);
    expect(await categoriesOf('Filter: context=(\r\n')).toBe(0);
    expect(await getConfig('Category: base\r\n')).toBe(lines('No categories found'));
  });
});

/** Sends one UpdateConfig with `headers` on FILE: its answer and the file it wrote. */
async function updateConfig(headers: string): Promise<{ update: string; file: string }> {
  const { text, file } = await onFile(
    `Action: UpdateConfig\r\nActionID: u\r\nSrcFilename: pjsip.conf\r\nDstFilename: pjsip.conf\r\n${headers}\r\n`,
  );
  return { update: reply(text, 'u'), file };
}

describe('FakeAsterisk UpdateConfig: Options and inherited lines as manager.c and config.c treat them', () => {
  it('splits an unquoted catfilter at its second "=" and finds no category; a quoted one works', async () => {
    const change =
      'Action-000000: Update\r\nCat-000000: phone-tmpl\r\nVar-000000: allow\r\nValue-000000: opus\r\n';
    const bare = await updateConfig(`${change}Options-000000: catfilter=TEMPLATES=include\r\n`);
    expect(bare.update).toBe(
      'Response: Error\r\nActionID: u\r\nMessage: Given category does not exist\r\n\r\n',
    );
    expect(bare.file).toBe(FILE);
    const quoted = await updateConfig(`${change}Options-000000: catfilter="TEMPLATES=include"\r\n`);
    expect(quoted.update).toBe('Response: Success\r\nActionID: u\r\n\r\n');
    expect(quoted.file).toContain('[phone-tmpl](!,base)\ndisallow=all\nallow=opus\n');
  });

  it('acts on the loaded category, inherited lines included, and writes back only its own lines', async () => {
    // Update changes the first allow of 1110, the inherited one: it becomes 1110's own line.
    const changed = await updateConfig(
      'Action-000000: Update\r\nCat-000000: 1110\r\nVar-000000: allow\r\nValue-000000: alaw\r\n',
    );
    expect(changed.file).toContain('[1110](phone-tmpl)\nallow=alaw\nallow=g722\ncontext=desk\n');
    // Line 0 of 1111 is inherited (type=endpoint): deleting it leaves the file as it was.
    const del = await updateConfig('Action-000000: Delete\r\nCat-000000: 1111\r\nLine-000000: 0\r\n');
    expect(del.update).toBe('Response: Success\r\nActionID: u\r\n\r\n');
    expect(del.file).toContain('[1111](phone-tmpl)\ncontext=lobby\n');
    // An own line equal to a template line is not written back.
    const dup = await updateConfig(
      'Action-000000: Append\r\nCat-000000: 1111\r\nVar-000000: disallow\r\nValue-000000: all\r\n',
    );
    expect(dup.file).toContain('[1111](phone-tmpl)\ncontext=lobby\n');
  });

  it('refuses a file Asterisk cannot load', async () => {
    const fake = await startFake();
    fake.setConfig('broken.conf', '[1110](missing-tmpl)\nallow=ulaw\n');
    const text = await session(
      fake,
      'admin',
      'secret',
      'Action: GetConfig\r\nActionID: g\r\nFilename: broken.conf\r\n\r\n',
      'off',
    );
    expect(reply(text, 'g')).toBe(
      'Response: Error\r\nActionID: g\r\nMessage: Config file has invalid format\r\n\r\n',
    );
  });
});
