import { ConfCategory } from '../config/conf-category.js';
import type { ConfFile } from '../config/conf-file.js';
import { escapeConfValue } from '../config/conf-lines.js';

const lineKey = (key: string, value: string): string => `${key.toLowerCase()}\u0000${value}`;

/**
 * The local file's text for `categories` (from {@link selectSyncCategories}): a comment naming `source`,
 * then each category with its own lines, repeated keys and `=` inside values kept, `;` escaped. A template
 * the selection does not hold is dropped from the header and the lines it gave are written out, so the file
 * needs nothing else; a line equal to one its templates give is left out, as Asterisk itself writes the
 * file, so what is written and what Asterisk reads back compare equal. Has no time in it: the same remote
 * gives the same bytes.
 */
export function renderSyncFile(categories: readonly ConfCategory[], source: string): string {
  const present = new Map<string, ConfCategory>();
  for (const c of categories) if (c.isTemplate) present.set(c.name.toLowerCase(), c);
  const out = [
    `; Written by pbxkit AsteriskConfigSync from ${source.replace(/[\r\n]/g, ' ')}.`,
    '; Do not edit: the next sync replaces this file. Add local settings elsewhere.',
    '',
  ];
  for (const c of categories) {
    const templates = c.templates.filter((t) => present.has(t.toLowerCase()));
    const kept = new Set(templates.map((t) => t.toLowerCase()));
    const given = new Set(
      templates.flatMap((t) =>
        (present.get(t.toLowerCase()) as ConfCategory).variables.map((v) => lineKey(v.key, v.value)),
      ),
    );
    out.push(new ConfCategory(c.name, { isTemplate: c.isTemplate, templates }).header());
    for (const v of c.variables) {
      const fromKeptTemplate = v.inherited && kept.has((v.inheritedFrom ?? '').toLowerCase());
      if (fromKeptTemplate || given.has(lineKey(v.key, v.value))) continue;
      out.push(v.object ? `${v.key} => ${escapeConfValue(v.value)}` : `${v.key}=${escapeConfValue(v.value)}`);
    }
    out.push('');
  }
  return out.join('\n');
}

/**
 * A canonical text of `conf` as Asterisk loads it (names, template flags and lists, every line a category
 * holds, inherited ones included), to compare what was written with what `GetConfig` reads back.
 */
export function loadedSignature(conf: ConfFile): string {
  return conf.categories
    .map((c) => {
      const head = `[${c.name}]${c.isTemplate ? '!' : ''}(${c.templates.join(',')})`;
      return [head, ...c.variables.map((v) => `${v.key}=${v.value}`)].join('\n');
    })
    .join('\n\n');
}
