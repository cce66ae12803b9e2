import {
  AmiInvalidActionError,
  applyConfigActions,
  batchConfigActions,
  ConfFile,
  ConfigActionFailure,
  ConfigUpdate,
  configActionHeaders,
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
      'Options-000008': 'catfilter=TEMPLATES=include',
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
    expect(() =>
      configActionHeaders(new ConfigUpdate().newCategory('x', { inherit: 'a,b' }).actions),
    ).toThrow(AmiInvalidActionError);
    // A leading '>' is how AMI spells '=>': a plain value starting with it cannot be sent.
    expect(() => configActionHeaders(new ConfigUpdate().append('x', 'k', '>v').actions)).toThrow(
      AmiInvalidActionError,
    );
  });
});

describe('applyConfigActions (Asterisk semantics, used by FakeAsterisk)', () => {
  it('updates the last matching line, deletes every matching line, inserts by position', () => {
    const conf = ConfFile.parse(BASE);
    applyConfigActions(
      conf,
      new ConfigUpdate()
        .update('1004', 'allow', 'g729')
        .insert('1004', 'disallow', 'all', 0)
        .append('1004', 'allow', 'opus')
        .delete('1005', 'allow').actions,
    );
    expect(conf.category('1004')?.variables.map((v) => `${v.key}=${v.value}`)).toEqual([
      'disallow=all',
      'allow=ulaw',
      'allow=g729',
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
