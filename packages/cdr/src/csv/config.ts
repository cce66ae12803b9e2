// biome-ignore-all lint/suspicious/noTemplateCurlyInString: FreeSWITCH templates are text with ${variable} fields
import { basename } from 'node:path';
import type { CdrParseError } from '../errors.js';
import { children, parseXmlTree, type XmlElement } from '../parse/xml-tree.js';
import { CdrCsvTemplateError, type CsvTemplate, parseTemplate } from './template.js';

/** Which legs a module logs (`legs` param): `a` = channels with no originator, `b` = with no originatee. */
export type CdrLegs = 'a' | 'b' | 'ab';

/** mod_cdr_csv's settings and templates, as read from `cdr_csv.conf.xml`. */
export interface CdrCsvConfig {
  /** `default-template`: the template of `Master.csv` and of accountcodes without their own. */
  defaultTemplate: string;
  /** Every template by name, with the module's built-in `default`. */
  templates: Map<string, CsvTemplate>;
  legs: CdrLegs;
  /** `rotate-on-hup`: on HUP (or `cdr_csv rotate`) files are renamed `<name>.YYYY-MM-DD-HH-MM-SS`; else reopened. */
  rotateOnHup: boolean;
  /** `master-file-only`: no per-accountcode files. */
  masterFileOnly: boolean;
  /** `log-base` + `/cdr-csv`, when set (the module's default is FreeSWITCH's log directory + `/cdr-csv`). */
  logDir: string | undefined;
}

/** The module's compiled-in `default` template (mod_cdr_csv.c), with its space before the last field. */
export const BUILTIN_DEFAULT_TEMPLATE =
  '"${caller_id_name}","${caller_id_number}","${destination_number}","${context}","${start_stamp}",' +
  '"${answer_stamp}","${end_stamp}","${duration}","${billsec}","${hangup_cause}","${uuid}","${bleg_uuid}", "${accountcode}"\n';

/** FreeSWITCH's `switch_true`: yes, on, true, t, enabled, active, allow, or a non-zero number. */
export function switchTrue(value: string | undefined): boolean {
  if (!value) return false;
  const v = value.toLowerCase();
  if (['yes', 'on', 'true', 't', 'enabled', 'active', 'allow'].includes(v)) return true;
  return /^-?\d+$/.test(v) && Number(v) !== 0;
}

/** The `legs` param as the modules read it (mod_cdr_csv looks for the letters a and b anywhere). */
export function parseLegs(value: string): CdrLegs {
  const a = value.includes('a');
  const b = value.includes('b');
  if (a && b) return 'ab';
  if (b) return 'b';
  if (a) return 'a';
  throw new CdrCsvTemplateError(`legs ${JSON.stringify(value)} names no leg (a, b or ab)`);
}

/** The `<configuration name="...">` element, whether the file is that element or a whole `freeswitch.xml`. */
export function findConfiguration(xml: string, name: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXmlTree(xml, new Set());
  } catch (err) {
    throw new CdrCsvTemplateError(`${name}: not readable XML (${(err as CdrParseError).message})`);
  }
  const stack = [root];
  while (stack.length) {
    const el = stack.pop() as XmlElement;
    if (el.name === 'configuration' && el.attrs?.name === name) return el;
    stack.push(...el.children);
  }
  throw new CdrCsvTemplateError(`no <configuration name="${name}"> in the file`);
}

/** The `<param name=... value=...>` of `<settings>`, names lower-cased (the modules compare them case-blind). */
export function settingsOf(config: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  for (const settings of children(config, 'settings')) {
    for (const param of children(settings, 'param')) {
      const name = param.attrs?.name;
      if (name !== undefined) out.set(name.toLowerCase(), param.attrs?.value ?? '');
    }
  }
  return out;
}

/**
 * Reads `cdr_csv.conf.xml` as mod_cdr_csv does (`load_config`): settings, then every named `<template>`
 * (a later template of the same name wins), plus the built-in `default`.
 *
 * @throws {CdrCsvTemplateError} when the file is not XML, has no `cdr_csv.conf` configuration, or a template
 * cannot be split (two fields with nothing between them).
 */
export function readCdrCsvConfig(xml: string): CdrCsvConfig {
  const config = findConfiguration(xml, 'cdr_csv.conf');
  const settings = settingsOf(config);
  const templates = new Map<string, CsvTemplate>();
  templates.set('default', parseTemplate('default', BUILTIN_DEFAULT_TEMPLATE));
  for (const group of children(config, 'templates')) {
    for (const t of children(group, 'template')) {
      const name = t.attrs?.name;
      if (name !== undefined) templates.set(name, parseTemplate(name, t.text));
    }
  }
  const logBase = settings.get('log-base');
  return {
    defaultTemplate: settings.get('default-template') || 'default',
    templates,
    legs: settings.has('legs') ? parseLegs(settings.get('legs') as string) : 'a',
    rotateOnHup: switchTrue(settings.get('rotate-on-hup')),
    masterFileOnly: switchTrue(settings.get('master-file-only')),
    logDir: logBase ? `${logBase}/cdr-csv` : undefined,
  };
}

/** A CSV file name split: `Master.csv.2026-12-02-06-43-31` → base `Master`, rotated at that local time. */
export interface CsvFileName {
  /** `Master` or the accountcode. */
  base: string;
  /** The `YYYY-MM-DD-HH-MM-SS` suffix of a rotated file, or undefined for the live file. */
  rotatedAt: string | undefined;
}

const CSV_NAME = /^(.+)\.csv(?:\.(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d))?$/;

/** Splits a mod_cdr_csv file name; undefined when it is not one (`*.csv` or `*.csv.<date>`). */
export function parseCsvFileName(path: string): CsvFileName | undefined {
  const m = CSV_NAME.exec(basename(path));
  return m ? { base: m[1] as string, rotatedAt: m[2] } : undefined;
}

/**
 * The template a file was written with, as `my_on_reporting` picks it: `Master.csv` always gets the default
 * template; `<accountcode>.csv` gets the template named like the accountcode, else the default.
 *
 * @throws {CdrCsvTemplateError} when `default-template` names no template: the module then writes a built-in
 * Asterisk-style line ending in `;` with no newline, so records run together; this reader does not split those.
 */
export function templateForFile(config: CdrCsvConfig, path: string): CsvTemplate {
  const name = parseCsvFileName(path);
  const own = name && name.base !== 'Master' ? config.templates.get(name.base) : undefined;
  if (own) return own;
  const fallback = config.templates.get(config.defaultTemplate);
  if (!fallback) {
    throw new CdrCsvTemplateError(
      `default-template ${JSON.stringify(config.defaultTemplate)} names no template: mod_cdr_csv then writes records without a newline between them, which cannot be split`,
    );
  }
  return fallback;
}
