import type { ConfCategory } from '@pbxkit/ami';
import {
  AmiInvalidActionError,
  AmiMessage,
  applyConfigActions,
  batchConfigActions,
  ConfFile,
  ConfigActionFailure,
  ConfigUpdate,
  categoryMatches,
  configActionHeaders,
  parseConfigActionHeaders,
  updateConfigActions,
} from '@pbxkit/ami';
import { describe, expect, it } from 'vitest';

const BASE =
  '[tmpl](!)\ntype=friend\n\n[1004](tmpl)\nallow=ulaw\nallow=alaw\npermit=10.0.0.0/8\n\n[1005]\nallow=ulaw\n';

describe('ConfigUpdate headers', () => {
  it('numbers every change the way manager.c reads it', () => {
    const changes = new ConfigUpdate()
      .newCategory('1006', { inherit: 'tmpl', before: '1005' })
      .newCategory('tmpl2', { template: true, allowDuplicates: true })
      .renameCategory('1005', '1007')
      .update('1004', 'allow', 'g722', { match: 'alaw' })
      .append('1004', 'exten', '100,1,NoOp()', { object: true })
      .delete('1004', 'permit', { ignoreError: true })
      .deleteLine('1004', 0)
      .insert('1004', 'deny', '0.0.0.0/0', 0)
      .emptyCategory('old', { catfilter: 'TEMPLATES=include' })
      .deleteCategory('gone');
    expect(configActionHeaders(changes.actions)).toEqual({
      'Action-000000': 'NewCat',
      'Cat-000000': '1006',
      'Match-000000': '1005',
      'Options-000000': 'inherit=tmpl',
      'Action-000001': 'NewCat',
      'Cat-000001': 'tmpl2',
      'Options-000001': 'template,allowdups',
      'Action-000002': 'RenameCat',
      'Cat-000002': '1005',
      'Value-000002': '1007',
      'Action-000003': 'Update',
      'Cat-000003': '1004',
      'Var-000003': 'allow',
      'Value-000003': 'g722',
      'Match-000003': 'alaw',
      'Action-000004': 'Append',
      'Cat-000004': '1004',
      'Var-000004': 'exten',
      'Value-000004': '>100,1,NoOp()',
      'Action-000005': 'Delete',
      'Cat-000005': '1004',
      'Var-000005': 'permit',
      'Options-000005': 'ignoreerror',
      'Action-000006': 'Delete',
      'Cat-000006': '1004',
      'Line-000006': '0',
      'Action-000007': 'Insert',
      'Cat-000007': '1004',
      'Var-000007': 'deny',
      'Value-000007': '0.0.0.0/0',
      'Line-000007': '0',
      'Action-000008': 'EmptyCat',
      'Cat-000008': 'old',
      // Quoted: Asterisk splits an option at every bare '=' (unquoted it would read the filter `TEMPLATES`).
      'Options-000008': 'catfilter="TEMPLATES=include"',
      'Action-000009': 'DelCat',
      'Cat-000009': 'gone',
    });
  });

  it('batches large change sets under a header budget, in order', () => {
    const changes = new ConfigUpdate();
    for (let i = 0; i < 50; i++) changes.append('peers', 'permit', `10.0.${i}.0/24`);
    const batches = batchConfigActions(changes.actions, 122);
    expect(batches.flat()).toEqual(changes.actions);
    for (const batch of batches)
      expect(Object.keys(configActionHeaders(batch)).length).toBeLessThanOrEqual(122);
    expect(batches.map((b) => b.length)).toEqual([30, 20]);
  });

  it('turns a large change set into consecutive UpdateConfig actions on the destination', () => {
    const changes = new ConfigUpdate();
    for (let i = 0; i < 40; i++) changes.append('peers', 'permit', `10.0.${i}.0/24`);
    const actions = updateConfigActions('a.conf', 'b.conf', changes, {
      reload: 'res_pjsip.so',
      preserveEffectiveContext: false,
    });
    expect(actions.map((a) => [a.SrcFilename, a.DstFilename, a.Reload])).toEqual([
      ['a.conf', 'b.conf', undefined],
      ['b.conf', 'b.conf', 'res_pjsip.so'],
    ]);
    expect(actions.every((a) => a.PreserveEffectiveContext === 'no')).toBe(true);
    expect(actions[1]?.['Value-000000']).toBe('10.0.30.0/24');
    expect(updateConfigActions('a.conf', 'a.conf', [], { reload: true })).toEqual([
      {
        Action: 'UpdateConfig',
        SrcFilename: 'a.conf',
        DstFilename: 'a.conf',
        Reload: 'yes',
        PreserveEffectiveContext: undefined,
      },
    ]);
  });

  it('refuses what Asterisk would silently get wrong', () => {
    // Quotes nested deeper than ast_strsep follows: no quoting carries the value through.
    expect(() =>
      configActionHeaders(new ConfigUpdate().update('x', 'k', 'v', { catfilter: `"'`.repeat(4) }).actions),
    ).toThrow(AmiInvalidActionError);
    // A leading '>' is how AMI spells '=>': a plain value starting with it cannot be sent.
    expect(() => configActionHeaders(new ConfigUpdate().append('x', 'k', '>v').actions)).toThrow(
      AmiInvalidActionError,
    );
  });
});

describe('applyConfigActions (Asterisk semantics, used by FakeAsterisk)', () => {
  it('updates the first matching line, deletes every matching line, inserts by position', () => {
    const conf = ConfFile.parse(BASE);
    applyConfigActions(
      conf,
      new ConfigUpdate()
        .update('1004', 'allow', 'g729')
        .insert('1004', 'disallow', 'all', 0)
        .append('1004', 'allow', 'opus')
        .delete('1005', 'allow').actions,
    );
    // config.c's ast_variable_update stops at the first line of the name.
    expect(conf.category('1004')?.variables.map((v) => `${v.key}=${v.value}`)).toEqual([
      'disallow=all',
      'allow=g729',
      'allow=alaw',
      'permit=10.0.0.0/8',
      'allow=opus',
    ]);
    expect(conf.category('1005')?.variables).toEqual([]);
  });

  it('creates categories before a match, renames and deletes them', () => {
    const conf = ConfFile.parse(BASE);
    applyConfigActions(
      conf,
      new ConfigUpdate()
        .newCategory('1003', { inherit: 'tmpl', before: '1004' })
        .renameCategory('1005', '1009').actions,
    );
    expect(conf.names).toEqual(['tmpl', '1003', '1004', '1009']);
    expect(conf.toString()).toContain('[1003](tmpl)\n[1004](tmpl)');
    applyConfigActions(conf, new ConfigUpdate().deleteCategory('1003').actions);
    expect(conf.names).toEqual(['tmpl', '1004', '1009']);
  });

  it('fails with Asterisk’s messages', () => {
    const fail = (changes: ConfigUpdate): string => {
      try {
        applyConfigActions(ConfFile.parse(BASE), changes.actions);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigActionFailure);
        return (err as Error).message;
      }
      return 'no failure';
    };
    expect(fail(new ConfigUpdate().update('nope', 'a', 'b'))).toBe('Given category does not exist');
    expect(fail(new ConfigUpdate().update('1004', 'nope', 'b'))).toBe('Update did not complete successfully');
    expect(fail(new ConfigUpdate().newCategory('1004'))).toBe(
      'Create category did not complete successfully',
    );
    expect(fail(new ConfigUpdate().newCategory('x', { inherit: 'none' }))).toBe(
      'Template category not found',
    );
    // Templates are out of reach without catfilter=TEMPLATES=include, as in Asterisk.
    expect(fail(new ConfigUpdate().update('tmpl', 'type', 'peer'))).toBe('Given category does not exist');
    expect(fail(new ConfigUpdate().deleteCategory('nope', { ignoreError: true }))).toBe('no failure');
  });
});

describe('UpdateConfig headers read back as manager.c reads them', () => {
  const asMessage = (fields: Record<string, string>) =>
    new AmiMessage(['Action', ...Object.keys(fields)], ['UpdateConfig', ...Object.values(fields)]);

  it('gives back every change the builder wrote, quoted options included', () => {
    const changes = new ConfigUpdate()
      .newCategory('1112', { inherit: ['phone-tmpl', 'video-tmpl'], ignoreError: true })
      .update('phone-tmpl', 'qualify', 'no', { catfilter: 'TEMPLATES=include,type=friend' })
      .append('video-tmpl', 'exten', '100,1,NoOp()', { object: true, catfilter: 'TEMPLATES=restrict' })
      .delete('1110', 'allow', { match: 'g722', ignoreError: true })
      .insert('1110', 'deny', '0.0.0.0/0', 2);
    const headers = configActionHeaders(changes.actions);
    expect(headers['Options-000000']).toBe('ignoreerror,inherit="phone-tmpl,video-tmpl"');
    expect(headers['Options-000001']).toBe('catfilter="TEMPLATES=include,type=friend"');
    const read = [...parseConfigActionHeaders(asMessage(headers))];
    expect(read).toEqual([
      {
        action: 'NewCat',
        category: '1112',
        template: false,
        allowDuplicates: false,
        ignoreError: true,
        inherit: 'phone-tmpl,video-tmpl',
        before: undefined,
      },
      { ...changes.actions[1], match: undefined, object: false },
      changes.actions[2],
      { ...changes.actions[3], line: undefined, catfilter: undefined },
      { ...changes.actions[4], catfilter: undefined },
    ]);
  });

  it('splits an unquoted option at every "=", as Asterisk does', () => {
    const [change] = parseConfigActionHeaders(
      asMessage({
        'Action-000000': 'EmptyCat',
        'Cat-000000': 'tmpl',
        'Options-000000': 'catfilter=TEMPLATES=include',
      }),
    );
    expect(change).toMatchObject({ action: 'EmptyCat', catfilter: 'TEMPLATES' });
  });

  it('stops at the first malformed change with Asterisk’s message, after yielding the ones before', () => {
    const changes = parseConfigActionHeaders(
      asMessage({
        'Action-000000': 'Append',
        'Cat-000000': 'x',
        'Var-000000': 'k',
        'Action-000001': 'Insert',
        'Cat-000001': 'x',
        'Var-000001': 'k',
      }),
    );
    expect(changes.next().value).toMatchObject({ action: 'Append' });
    expect(() => changes.next()).toThrow('Problem with category, value, or line (if required)');
  });
});

describe('categoryMatches (config.c does_category_match)', () => {
  const conf = ConfFile.parse(BASE).withInheritance();
  const [tmpl, peer, other] = conf.categories as [ConfCategory, ConfCategory, ConfCategory];

  it('hides templates unless TEMPLATES=include or restrict lets them through', () => {
    expect([tmpl, peer].map((c) => categoryMatches(c, undefined))).toEqual([false, true]);
    expect([tmpl, peer].map((c) => categoryMatches(c, 'TEMPLATES=include'))).toEqual([true, true]);
    expect([tmpl, peer].map((c) => categoryMatches(c, 'TEMPLATES=restrict'))).toEqual([true, false]);
  });

  it('matches regex pairs against every line, inherited ones included', () => {
    expect([peer, other].map((c) => categoryMatches(c, 'type=fri'))).toEqual([true, false]);
    expect([peer, other].map((c) => categoryMatches(c, 'allow=^ulaw$,permit=10\\.'))).toEqual([true, false]);
  });

  it('fails what Asterisk fails: lower-case templates, a term without "=", a broken regex', () => {
    for (const filter of ['templates=include', 'TEMPLATES=maybe', 'allow', 'allow=(', 'allow=ulaw,']) {
      expect(categoryMatches(peer, filter)).toBe(false);
    }
  });
});

describe('applyConfigActions NewCat with templates', () => {
  it('inherits only from templates, copying their lines as inherited', () => {
    const conf = ConfFile.parse(BASE).withInheritance();
    applyConfigActions(
      conf,
      new ConfigUpdate().newCategory('1006', { inherit: 'tmpl' }).append('1006', 'allow', 'g722').actions,
    );
    const made = conf.category('1006');
    expect(made?.variables.map((v) => [v.key, v.value, v.inherited])).toEqual([
      ['type', 'friend', true],
      ['allow', 'g722', false],
    ]);
    expect(conf.toString()).toContain('[1006](tmpl)\nallow=g722\n');
    expect(() =>
      applyConfigActions(conf, new ConfigUpdate().newCategory('1007', { inherit: '1005' }).actions),
    ).toThrow('Template category not found');
    applyConfigActions(conf, new ConfigUpdate().newCategory('1006', { ignoreError: true }).actions);
    expect(conf.categoriesNamed('1006')).toHaveLength(1);
  });
});
