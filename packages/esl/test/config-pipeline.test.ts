import { describe, expect, it } from 'vitest';
import { fixture } from '../../../scripts/test-env.js';
import {
  ConfigValidator,
  diffConfig,
  EslParser,
  type FsConfigError,
  parseXml,
  planReload,
  replyProblem,
  StorePacker,
  unpackFiles,
  XmlSyntaxError,
} from '../src/index.js';
import { FS_RELOAD_REPLIES } from '../src/testing/index.js';
import { gatewayXml, sampleTree, userXml } from './fs-conf-tree.js';

function planFor(change: (files: Record<string, string>) => void) {
  const validator = new ConfigValidator();
  const before = sampleTree();
  const after = { ...before };
  change(after);
  const diff = diffConfig(validator.validate(before), validator.validate(after));
  return { diff, plan: planReload(diff) };
}

const set = (f: Record<string, string>, name: string, text: string) => {
  f[name] = text;
};

const commands = (p: ReturnType<typeof planFor>) => p.plan.steps.map((s) => s.command);

describe('validation', () => {
  it('names the file and line of the captured malformed dialplan file, which reloadxml reports only as line 6802', () => {
    const text = fixture('fs-modules', 'config', '99_broken.xml.malformed').toString('utf8');
    expect(() => parseXml(text, 'dialplan/default/99_broken.xml')).toThrow(XmlSyntaxError);
    const files = { ...sampleTree(), 'dialplan/default/99_broken.xml': text };
    const problems = new ConfigValidator().check(files).problems;
    expect(problems).toEqual([
      { file: 'dialplan/default/99_broken.xml', line: 5, message: expect.stringContaining('<action>') },
    ]);
  });

  it('accepts the sample tree: includes by glob and relative path, $${var} resolved, one <document>', () => {
    const config = new ConfigValidator().validate(sampleTree(2));
    expect([...config.sections.keys()].sort()).toEqual(
      expect.arrayContaining([
        'directory/pbx.example.com',
        'directory/pbx.example.com/user/1000',
        'directory/pbx.example.com/group/default',
        'sofia/internal',
        'sofia/external/gateway/carrier1',
        'callcenter/queue/support@default',
        'config/callcenter.conf',
        'config/acl.conf',
        'dialplan/default/extension/capkit_answer',
      ]),
    );
    expect(config.vars.domain).toBe('pbx.example.com');
  });

  it('reports unresolved variables, includes outside the tree or of missing files, loops and a root that is no document', () => {
    const v = new ConfigValidator();
    const problems = (change: Record<string, string>) =>
      v.check({ ...sampleTree(1), ...change }).problems.map((p) => `${p.file}: ${p.message}`);
    expect([...new Set(problems({ 'directory/default/1000.xml': userXml('$${nosuch}') }))]).toEqual([
      'directory/default/1000.xml: $${nosuch} is not set by any X-PRE-PROCESS before it',
    ]);
    expect(
      problems({ 'vars.xml': '<include><X-PRE-PROCESS cmd="include" data="../etc/passwd"/></include>' })[0],
    ).toMatch(/points outside the configuration tree/);
    expect(
      problems({ 'vars.xml': '<include><X-PRE-PROCESS cmd="include" data="vars.xml"/></include>' })[0],
    ).toMatch(/include loop: freeswitch.xml -> vars.xml -> vars.xml/);
    expect(
      problems({ 'vars.xml': '<include><X-PRE-PROCESS cmd="include" data="gone.xml"/></include>' })[0],
    ).toMatch(/no file gone.xml/);
    expect(problems({ 'freeswitch.xml': '<include/>' })).toEqual([
      'freeswitch.xml: the assembled configuration is not one <document> (got nothing)',
    ]);
    const bad = { 'vars.xml': '<include><X-PRE-PROCESS cmd="set" data="domain=a&quot;b"/></include>' };
    expect(problems(bad)).toContain(
      'directory/default.xml: $${domain} = "a\\"b" would break the XML where it is used',
    );
  });

  it('rejects what a strict parser must: mismatched tags, duplicate attributes, bare &, two roots, a < in a value', () => {
    for (const text of [
      '<a><b></a>',
      '<a x="1" x="2"/>',
      '<a>fish & chips</a>',
      '<a/><b/>',
      '<a x="<"/>',
      '<a x=1/>',
      '<a>',
      '<!-- open',
    ]) {
      expect(() => parseXml(text, 't.xml'), text).toThrow(XmlSyntaxError);
    }
    const el = parseXml(
      '<?xml version="1.0"?><!DOCTYPE a><a x=\'&lt;&#65;\'><![CDATA[<raw>]]> t&amp;u </a>',
      't.xml',
    );
    expect(el).toMatchObject({ name: 'a', attrs: { x: '<A' }, text: 't&u' });
  });
});

describe('diff and the smallest reload', () => {
  it('one user changed: the file and that user only, and reloadxml alone', () => {
    const p = planFor((f) => {
      f['directory/default/1001.xml'] = userXml('1001', 'new');
    });
    expect(p.diff.files).toEqual({ added: [], removed: [], changed: ['directory/default/1001.xml'] });
    expect(p.diff.sections.changed).toEqual(['directory/pbx.example.com/user/1001']);
    expect(commands(p)).toEqual(['reloadxml']);
  });

  it('gateways: rescan for a new one, killgw then rescan for a changed one, killgw for a removed one', () => {
    expect(
      commands(planFor((f) => set(f, 'sip_profiles/external/carrier2.xml', gatewayXml('carrier2', 'b')))),
    ).toEqual(['reloadxml', 'sofia profile external rescan']);
    expect(
      commands(planFor((f) => set(f, 'sip_profiles/external/carrier1.xml', gatewayXml('carrier1', 'c')))),
    ).toEqual(['reloadxml', 'sofia profile external killgw carrier1', 'sofia profile external rescan']);
    expect(
      commands(
        planFor((f) => {
          delete f['sip_profiles/external/carrier1.xml'];
        }),
      ),
    ).toEqual(['reloadxml', 'sofia profile external killgw carrier1']);
  });

  it('a profile restart only when its own settings change, marked as interrupting calls', () => {
    const p = planFor((f) => {
      f['sip_profiles/internal.xml'] = (f['sip_profiles/internal.xml'] as string).replace('5060', '5070');
    });
    expect(p.plan.steps).toEqual([
      { command: 'reloadxml', why: 'XML files changed' },
      {
        command: 'sofia profile internal restart',
        why: 'profile internal settings changed',
        interrupts: 'internal',
      },
    ]);
  });

  it('mod_callcenter: queue reload for a queue, module reload for its settings; reloadacl for the ACL', () => {
    const cc = 'autoload_configs/callcenter.conf.xml';
    expect(
      commands(
        planFor((f) =>
          set(f, cc, (f[cc] as string).replace('"max-wait-time" value="0"', '"max-wait-time" value="60"')),
        ),
      ),
    ).toEqual(['reloadxml', 'callcenter_config queue reload support@default']);
    expect(
      commands(
        planFor((f) =>
          set(
            f,
            cc,
            (f[cc] as string).replace('<settings>', '<settings><param name="dbname" value="/tmp/cc.db"/>'),
          ),
        ),
      ),
    ).toEqual(['reloadxml', 'reload mod_callcenter']);
    const acl = 'autoload_configs/acl.conf.xml';
    expect(
      commands(planFor((f) => set(f, acl, (f[acl] as string).replace('10.0.0.0/8', '192.168.0.0/16')))),
    ).toEqual(['reloadxml', 'reloadacl']);
  });

  it('attribute order and comments are no change to a section, but the file still differs', () => {
    const p = planFor((f) => {
      f['directory/default/1000.xml'] = (f['directory/default/1000.xml'] as string).replace(
        '<param name="password" value="pw-1000"/>',
        '<!-- x --><param value="pw-1000" name="password"/>',
      );
    });
    expect(p.diff.files.changed).toEqual(['directory/default/1000.xml']);
    expect(p.diff.sections.changed).toEqual([]);
  });
});

describe('reply verification', () => {
  it('the fake answers with the captured replies, byte for byte', () => {
    const bodies = (name: string) => {
      const parser = new EslParser();
      return parser
        .feed(fixture('fs-modules', 'esl', name))
        .filter((f) => f.contentType === 'api/response')
        .map((f) => f.bodyText);
    };
    expect(bodies('60-api-reloadxml-after-good-change.txt')[0]).toBe(FS_RELOAD_REPLIES.reloadxml);
    expect(bodies('61-api-reloadxml-malformed-dialplan-file.txt')[0]).toBe(
      FS_RELOAD_REPLIES.reloadxmlMalformed,
    );
    expect(bodies('62-api-reload-mod_callcenter.txt')[0]).toBe(FS_RELOAD_REPLIES.reloadModule);
    expect(bodies('63-api-sofia-profile-rescan-killgw.txt')).toEqual([
      FS_RELOAD_REPLIES.rescan,
      FS_RELOAD_REPLIES.killgwMissing,
      FS_RELOAD_REPLIES.rescan,
      FS_RELOAD_REPLIES.invalidProfile('nosuchprofile'),
    ]);
  });

  it('reads the reply, not its prefix', () => {
    expect(replyProblem('reloadxml', FS_RELOAD_REPLIES.reloadxml)).toBeUndefined();
    expect(replyProblem('reloadxml', FS_RELOAD_REPLIES.reloadxmlMalformed)).toMatch(/error near line 6802/);
    expect(replyProblem('sofia profile internal rescan', FS_RELOAD_REPLIES.rescan)).toBeUndefined();
    expect(replyProblem('sofia profile nosuch rescan', FS_RELOAD_REPLIES.invalidProfile('nosuch'))).toBe(
      'Invalid Profile [nosuch]',
    );
    expect(replyProblem('reload mod_callcenter', FS_RELOAD_REPLIES.reloadModule)).toBeUndefined();
    expect(
      replyProblem(
        'reload mod_callcenter',
        '+OK Reloading XML\n-ERR unloading module [Module is not unloadable]\n',
      ),
    ).toMatch(/-ERR/);
    // Removing a gateway FreeSWITCH no longer has is done already.
    expect(
      replyProblem('sofia profile internal killgw nosuchgw', FS_RELOAD_REPLIES.killgwMissing),
    ).toBeUndefined();
    expect(replyProblem('reloadacl', '-Error [missing >]\n')).toMatch(/unexpected reply/);
    expect(replyProblem('callcenter_config queue reload q', '-ERR Invalid!\n')).toBe('-ERR Invalid!');
  });
});

describe('version store packing', () => {
  it('bundles a large folder into 64 readable files (by name hash) and unpacks them exactly', () => {
    const files = sampleTree(1000);
    files['directory/default/1050.xml'] = 'no newline at end';
    files['directory/default/1051.xml'] = '';
    files['directory/default/1052.xml'] = 'a\n\nb\n\n';
    const packer = new StorePacker();
    const packed = packer.pack(files);
    const bundles = Object.keys(packed).filter((n) => n.startsWith('.pbxkit/bundles/directory/default/'));
    expect(bundles).toHaveLength(64);
    expect(Object.keys(packed).length - bundles.length).toBe(11);
    expect(bundles.map((n) => packed[n]).join('')).toContain('==> 1000.xml (11 lines) <==\n<include>');
    // One user changed: one bundle differs.
    const next = packer.pack({ ...files, 'directory/default/1007.xml': userXml('1007', 'new') });
    expect(Object.keys(next).filter((n) => next[n] !== packed[n])).toHaveLength(1);
    expect(unpackFiles(packed)).toEqual(files);
  });
});

describe('errors', () => {
  it('validate throws FS_CONFIG_INVALID with every problem', () => {
    const files = { ...sampleTree(1), 'a.xml': '<a>', 'b.xml': '<b>' };
    try {
      new ConfigValidator().validate(files);
      expect.unreachable();
    } catch (err) {
      expect((err as FsConfigError).code).toBe('FS_CONFIG_INVALID');
      expect((err as FsConfigError).problems.map((p) => p.file)).toEqual(['a.xml', 'b.xml']);
      expect((err as Error).message).toMatch(
        /^invalid configuration: a.xml:1: end of file inside <a> of line 1 \(and 1 more\)$/,
      );
    }
  });
});
