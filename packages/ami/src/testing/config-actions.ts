import {
  type AmiMessage,
  applyConfigActions,
  type ConfCategory,
  ConfFile,
  type ConfigAction,
  ConfigActionFailure,
  selectCategories,
} from '@pbxkit/ami';
import type { FakeActionHandler } from './builtin-actions.js';

const pad = (n: number): string => String(n).padStart(6, '0');

/** Inherited template lines first (recursively), then the category's own, as Asterisk loads them. */
function effectiveLines(conf: ConfFile, category: ConfCategory, seen = new Set<ConfCategory>()): string[] {
  seen.add(category);
  const lines: string[] = [];
  for (const name of category.templates) {
    const template = conf.category(name);
    if (template && !seen.has(template)) lines.push(...effectiveLines(conf, template, seen));
  }
  for (const v of category.variables) lines.push(`${v.key}=${v.value}`);
  return lines;
}

/** The `ConfigAction`s encoded in an `UpdateConfig` action's numbered headers. */
function actionsFromHeaders(m: AmiMessage): ConfigAction[] | string {
  const actions: ConfigAction[] = [];
  for (let x = 0; ; x++) {
    const n = pad(x);
    const action = m.get(`Action-${n}`);
    if (!action) break;
    const category = m.get(`Cat-${n}`);
    if (!category) return 'Category not specified';
    let value = m.get(`Value-${n}`) ?? '';
    const object = value.startsWith('>');
    if (object) value = value.slice(1);
    const key = m.get(`Var-${n}`) ?? '';
    const match = m.get(`Match-${n}`) || undefined;
    const lineText = m.get(`Line-${n}`);
    const line = lineText ? Number(lineText) : undefined;
    const options = (m.get(`Options-${n}`) ?? '').split(',').map((o) => o.trim());
    const catfilter = options.find((o) => o.startsWith('catfilter='))?.slice('catfilter='.length);
    const ignoreError = options.includes('ignoreerror');
    const needsKey = ['update', 'append', 'insert'].includes(action.toLowerCase());
    if ((needsKey && !key) || (action.toLowerCase() === 'delete' && !key && line === undefined)) {
      return 'Problem with category, value, or line (if required)';
    }
    switch (action.toLowerCase()) {
      case 'newcat':
        actions.push({
          action: 'NewCat',
          category,
          template: options.includes('template'),
          allowDuplicates: options.includes('allowdups'),
          inherit: options.find((o) => o.startsWith('inherit='))?.slice('inherit='.length),
          before: match,
        });
        break;
      case 'renamecat':
        if (!value) return 'Problem with category, value, or line (if required)';
        actions.push({ action: 'RenameCat', category, newName: value, catfilter });
        break;
      case 'delcat':
        actions.push({ action: 'DelCat', category, catfilter, ignoreError });
        break;
      case 'emptycat':
        actions.push({ action: 'EmptyCat', category, catfilter });
        break;
      case 'update':
        actions.push({ action: 'Update', category, key, value, match, object, catfilter });
        break;
      case 'delete':
        actions.push({
          action: 'Delete',
          category,
          key: key || undefined,
          match,
          line,
          catfilter,
          ignoreError,
        });
        break;
      case 'append':
        actions.push({ action: 'Append', category, key, value, object, catfilter });
        break;
      case 'insert':
        actions.push({ action: 'Insert', category, key, value, line: line ?? 0, catfilter });
        break;
      default:
        return 'Unknown action command';
    }
  }
  return actions;
}

/** `GetConfig`, `UpdateConfig` and `CreateConfig` over in-memory files, with Asterisk's answers. */
export function configActions(files: Map<string, ConfFile>): Map<string, FakeActionHandler> {
  const handlers = new Map<string, FakeActionHandler>();

  handlers.set('getconfig', (action, session) => {
    const filename = action.get('Filename');
    if (!filename) return session.error(action, 'Filename not specified');
    const conf = files.get(filename);
    if (!conf) return session.error(action, 'Config file not found');
    const category = action.get('Category') || undefined;
    const fields: Array<[string, string]> = [];
    selectCategories(conf, category, action.get('Filter')).forEach((c, i) => {
      fields.push([`Category-${pad(i)}`, c.name]);
      if (c.isTemplate) fields.push([`IsTemplate-${pad(i)}`, '1']);
      if (c.templates.length > 0) fields.push([`Templates-${pad(i)}`, c.templates.join(',')]);
      effectiveLines(conf, c).forEach((line, l) => {
        fields.push([`Line-${pad(i)}-${pad(l)}`, line]);
      });
    });
    const none = category !== undefined && fields.length === 0 ? ['No categories found'] : [];
    session.reply('Success', action, fields, undefined, none);
  });

  handlers.set('updateconfig', (action, session) => {
    const src = action.get('SrcFilename');
    const dst = action.get('DstFilename');
    if (!src || !dst) return session.error(action, 'Filename not specified');
    // Asterisk resolves both names with realpath(): a destination that does not exist yet is refused.
    if (!files.has(dst)) return session.error(action, 'File requires escalated privileges');
    const source = files.get(src);
    if (!source) return session.error(action, 'Config file not found');
    const actions = actionsFromHeaders(action);
    if (typeof actions === 'string') return session.error(action, actions);
    const copy = ConfFile.parse(source.toString());
    try {
      applyConfigActions(copy, actions);
    } catch (err) {
      if (err instanceof ConfigActionFailure) return session.error(action, err.message);
      throw err;
    }
    files.set(dst, copy);
    session.respond(action);
  });

  handlers.set('createconfig', (action, session) => {
    const filename = action.get('Filename');
    if (!filename) return session.error(action, 'Filename not specified');
    if (!files.has(filename)) files.set(filename, new ConfFile());
    session.respond(action, undefined, 'New configuration file created successfully');
  });

  return handlers;
}
