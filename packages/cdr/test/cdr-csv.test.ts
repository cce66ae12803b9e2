// biome-ignore-all lint/suspicious/noTemplateCurlyInString: FreeSWITCH templates are text with ${variable} fields
import { describe, expect, it } from 'vitest';
import { fixture } from '../../../scripts/test-env.js';
import {
  CdrCsvTemplateError,
  CsvCdrReader,
  parseCsvFileName,
  parseCsvLine,
  parseTemplate,
  RecordSplitter,
  readCdrCsvConfig,
  templateForFile,
  toFusionPbxRow,
} from '../src/index.js';

const configXml = fixture('fs-modules', 'config', 'cdr_csv.conf.xml').toString('utf8');
const config = readCdrCsvConfig(configXml);
const csv = (name: string) => fixture('fs-modules', 'cdr_csv', name);

function readAll(name: string, node = 'fs1') {
  const template = templateForFile(config, name);
  const reader = new CsvCdrReader({ template, node, legs: config.legs, timeZone: 'UTC', file: name });
  const splitter = new RecordSplitter(template.linesPerRecord);
  return splitter.push(csv(name)).map((r) => reader.read(r));
}

describe('cdr_csv.conf.xml', () => {
  it('reads the settings and every template, with the built-in default', () => {
    expect(config.defaultTemplate).toBe('example');
    expect(config.legs).toBe('a');
    expect(config.rotateOnHup).toBe(true);
    expect(config.masterFileOnly).toBe(false);
    expect([...config.templates.keys()].sort()).toEqual(
      ['asterisk', 'custom', 'default', 'example', 'linksys', 'opencdrrate', 'snom', 'sql'].sort(),
    );
    const custom = config.templates.get('custom');
    expect(custom?.fields.map((f) => f.name)).toEqual([
      'uuid',
      'capkit_quoted',
      'capkit_commas',
      'capkit_utf8',
      'capkit_empty',
      'capkit_never_set',
      'billsec',
      'hangup_cause',
      'caller_id_name',
      'capkit_apos',
    ]);
    // The module appends the newline a template lacks.
    expect(custom?.text.endsWith("'${capkit_apos}'\n")).toBe(true);
  });

  it('reads an API call inside a template as a field that maps to no column', () => {
    const t = config.templates.get('opencdrrate');
    const api = t?.fields.find((f) => f.kind === 'api');
    expect(api).toEqual({ kind: 'api', name: 'regex', source: "regex('${original_caller_id_name}'|^.)" });
  });

  it("applies FreeSWITCH's backslash rules to literal text", () => {
    // \$ is a dollar, \' vanishes, \\ is one backslash, a $ without { is a dollar.
    const t = parseTemplate('t', "\\$x${a}|\\'y\\\\${b}$5");
    expect(t.literals).toEqual(['$x', '|y\\', '$5\n']);
    expect(t.fields.map((f) => f.name)).toEqual(['a', 'b']);
  });

  it('refuses a template whose fields touch, naming them', () => {
    expect(() => parseTemplate('bad', '${a}${b}')).toThrow(CdrCsvTemplateError);
    expect(() => parseTemplate('bad', '${a}${b}')).toThrow(/\$\{a\} and \$\{b\}/);
  });

  it('picks the template by file: Master.csv the default, an accountcode its own, else the default', () => {
    expect(templateForFile(config, '/x/Master.csv').name).toBe('example');
    expect(templateForFile(config, 'sql.csv.2026-12-02-06-43-31').name).toBe('sql');
    expect(templateForFile(config, 'acct-42.csv').name).toBe('example');
    expect(parseCsvFileName('Master.csv.2026-12-02-06-43-31')).toEqual({
      base: 'Master',
      rotatedAt: '2026-12-02-06-43-31',
    });
    const broken = readCdrCsvConfig(configXml.replace('value="example"', 'value="nosuch"'));
    expect(() => templateForFile(broken, 'Master.csv')).toThrow(/nosuch.*names no template/);
  });
});

describe('mod_cdr_csv lines', () => {
  it('reads every line of the real Master.csv', () => {
    const results = readAll('Master.csv.2026-12-02-06-43-31');
    expect(results).toHaveLength(22);
    expect(results.every((r) => r.ok)).toBe(true);
    const first = results[0];
    if (!first?.ok) throw new Error('not read');
    expect(first.record.uuid).toBe('a289f80b-521e-4397-a001-62b70553764c');
    expect(first.record.switchname).toBe('fs1');
    expect(first.record.startedAt?.toISOString()).toBe('2026-12-02T06:43:16.000Z');
  });

  it('keeps quotes, commas and UTF-8 that mod_cdr_csv writes unescaped', () => {
    const [odd, doe, sybil] = readAll('custom.csv.2026-12-02-06-45-49');
    if (!odd?.ok || !doe?.ok || !sybil?.ok) throw new Error('not read');
    expect(odd.record.variables).toMatchObject({
      capkit_quoted: 'He said "hi" then left',
      capkit_commas: 'a,b,,c, d',
      capkit_utf8: 'Grüße €uro 日本語 ñ',
      caller_id_name: 'Jürgen "JJ" Müller',
      capkit_apos: "O'Brien's",
      billsec: '1',
    });
    // Empty and never-set variables are written as nothing: absent, not ''.
    expect(odd.record.variables.capkit_empty).toBeUndefined();
    expect(doe.record.variables.caller_id_name).toBe('Doe');
    expect(sybil.record.variables.capkit_apos).toBeUndefined();
  });

  it('reads the sql template (INSERT ... VALUES, a space before the last field)', () => {
    const [line] = readAll('sql.csv.2026-12-02-06-43-31');
    if (!line?.ok) throw new Error('not read');
    expect(line.record.variables).toMatchObject({ caller_id_name: 'Alice Example', accountcode: 'sql' });
    expect(line.record.variables.bleg_uuid).toBeUndefined();
  });

  it('reads a caller id with quotes written inside quotes', () => {
    const t = parseTemplate('a', '"${caller_id}","${uuid}"');
    expect(parseCsvLine(t, '""Dave" <1004>","61de5325-708e-4e83-9bb3-2ad17f075955"')).toEqual({
      ok: true,
      values: ['"Dave" <1004>', '61de5325-708e-4e83-9bb3-2ad17f075955'],
    });
  });

  it('settles a value holding its separator by the shape of known fields, and refuses when it cannot', () => {
    const t = parseTemplate('t', '"${caller_id_name}","${uuid}","${billsec}"');
    const uuid = '61de5325-708e-4e83-9bb3-2ad17f075955';
    expect(parseCsvLine(t, `"a","b","${uuid}","3"`)).toEqual({ ok: true, values: ['a","b', uuid, '3'] });
    const free = parseTemplate('t', '"${caller_id_name}","${destination_number}"');
    const r = parseCsvLine(free, '"a","b","c"');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/ambiguous/);
  });

  it('refuses a line not written with the template, saying why', () => {
    const reader = new CsvCdrReader({
      template: config.templates.get('custom')!,
      node: 'n',
      timeZone: 'UTC',
    });
    const bad = reader.read({ text: 'garbage', start: 0, end: 8, line: 7 });
    expect(bad).toMatchObject({ ok: false, line: 7, text: 'garbage' });
    expect(!bad.ok && bad.reason).toMatch(/does not start with/);
  });

  it('converts stamps in the node time zone', () => {
    const template = parseTemplate('t', '"${uuid}","${start_stamp}"');
    const reader = new CsvCdrReader({ template, node: 'n', timeZone: 'Europe/Berlin' });
    const read = reader.read({
      text: '"61de5325-708e-4e83-9bb3-2ad17f075955","2026-07-01 12:00:00"',
      start: 0,
      end: 1,
      line: 1,
    });
    if (!read.ok) throw new Error(read.reason);
    expect(read.record.startedAt?.toISOString()).toBe('2026-07-01T10:00:00.000Z');
    expect(() => new CsvCdrReader({ template, node: 'n', timeZone: 'Mars/Base' })).toThrow(/time zone/);
  });

  it('gives a line without a uuid a stable key: the same line, the same key', () => {
    const template = parseTemplate('t', '"${caller_id_number}","${start_stamp}"');
    const read = (node: string) =>
      new CsvCdrReader({ template, node, timeZone: 'UTC' }).read({
        text: '"1001","2026-07-01 12:00:00"',
        start: 0,
        end: 1,
        line: 1,
      });
    const a = read('fs1');
    const b = read('fs1');
    const other = read('fs2');
    if (!a.ok || !b.ok || !other.ok) throw new Error('not read');
    expect(a.record.uuid).toBe(b.record.uuid);
    expect(a.record.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(other.record.uuid).not.toBe(a.record.uuid);
    expect(a.record.origin?.derivedUuid).toBe(true);
  });
});

describe('v_xml_cdr rows from CSV lines', () => {
  it('fills the columns the template gives and leaves the others null', () => {
    const [first] = readAll('Master.csv.2026-12-02-06-43-31');
    if (!first?.ok) throw new Error('not read');
    const row = toFusionPbxRow(first.record);
    expect(row).toMatchObject({
      xml_cdr_uuid: 'a289f80b-521e-4397-a001-62b70553764c',
      caller_id_name: 'Alice Example',
      caller_id_number: '1001',
      destination_number: 'cdr-answer-sql',
      context: 'default',
      billsec: 2,
      hangup_cause: 'NORMAL_CLEARING',
      accountcode: 'sql',
      read_codec: 'L16',
      leg: 'a',
      status: 'answered',
      // Not in the template: never guessed.
      domain_name: null,
      direction: null,
      pdd_ms: null,
      missed_call: null,
      voicemail_message: null,
      bridge_uuid: null,
      sip_call_id: null,
    });
    expect(row.start_stamp?.toISOString()).toBe('2026-12-02T06:43:16.000Z');
    expect(row.answer_stamp?.toISOString()).toBe('2026-12-02T06:43:16.000Z');
  });

  it('stores no leg when the module logged both legs', () => {
    const template = config.templates.get('example')!;
    const reader = new CsvCdrReader({ template, node: 'n', legs: 'ab', timeZone: 'UTC' });
    const [line] = new RecordSplitter().push(csv('Master.csv.2026-12-02-06-43-31'));
    const read = reader.read(line!);
    if (!read.ok) throw new Error(read.reason);
    expect(toFusionPbxRow(read.record).leg).toBeNull();
  });
});

describe('RecordSplitter', () => {
  it('keeps a partial last line for later and reports the offset to resume from', () => {
    const s = new RecordSplitter();
    expect(s.push(Buffer.from('"a"\n"b'))).toEqual([{ text: '"a"', start: 0, end: 4, line: 1 }]);
    expect(s.committed).toBe(4);
    expect(s.pending).toBe(2);
    expect(s.push(Buffer.from('"\n'))).toEqual([{ text: '"b"', start: 4, end: 8, line: 2 }]);
  });

  it('never splits a UTF-8 character across chunks', () => {
    const bytes = Buffer.from('"Müller"\n');
    const s = new RecordSplitter();
    expect(s.push(bytes.subarray(0, 3))).toEqual([]);
    expect(s.push(bytes.subarray(3))[0]?.text).toBe('"Müller"');
  });

  it('groups multi-line templates into records', () => {
    const s = new RecordSplitter(2, 100, 10);
    expect(s.push(Buffer.from('x\ny\nz\n'))).toEqual([{ text: 'x\ny', start: 100, end: 104, line: 10 }]);
    expect(s.push(Buffer.from('w\n'))).toEqual([{ text: 'z\nw', start: 104, end: 108, line: 12 }]);
  });
});
