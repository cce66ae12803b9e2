import {
  AmiConfigParseError,
  applyConfigActions,
  ConfFile,
  ConfigActionFailure,
  parseConfigActionHeaders,
  selectCategories,
} from '@pbxkit/ami';
import type { FakeActionHandler } from './builtin-actions.js';
import type { FakeConfigFiles } from './config-files.js';

const pad = (n: number): string => String(n).padStart(6, '0');

/** `file` as Asterisk loads it (templates copied into their children), or `undefined` where it refuses it. */
function load(file: ConfFile): ConfFile | undefined {
  try {
    return file.withInheritance();
  } catch (err) {
    if (err instanceof AmiConfigParseError) return undefined;
    throw err;
  }
}

/**
 * What Asterisk writes back after an `UpdateConfig` (config.c `ast_config_text_file_save2`): in a category
 * that names templates, a line equal to one of theirs (same name in any case, same value) is left out, the
 * category's own copy included; without `PreserveEffectiveContext` every line still marked inherited is
 * left out too. A copy the templates no longer give (the same update changed the template) is kept as the
 * category's own, which is what "preserve effective context" means.
 */
function save(loaded: ConfFile, preserveEffectiveContext: boolean): ConfFile {
  // Decide every category against its templates as loaded, before any of them loses a line.
  const written = loaded.categories.map((category) => {
    if (category.templates.length === 0) return category.lines;
    const theirs = category.templates
      .map((name) => selectCategories(loaded, name, 'TEMPLATES=include')[0])
      .flatMap((t) => t?.variables ?? []);
    return category.lines.filter((line) => {
      if (line.kind !== 'variable') return true;
      const key = line.key.toLowerCase();
      if (theirs.some((v) => v.key.toLowerCase() === key && v.value === line.value)) return false;
      return preserveEffectiveContext || !line.inherited;
    });
  });
  loaded.categories.forEach((category, i) => {
    category.lines = written[i] as typeof category.lines;
    for (const line of category.variables) line.inheritedFrom = undefined;
  });
  return ConfFile.parse(loaded.toString());
}

// manager.c keeps PreserveEffectiveContext on unless the header is given and is not a true word.
function preserves(header: string | undefined): boolean {
  return !header || ['yes', 'true', 'y', 't', '1', 'on'].includes(header.toLowerCase());
}

/** `GetConfig`, `UpdateConfig` and `CreateConfig` over in-memory files, with Asterisk's answers. */
export function configActions(files: FakeConfigFiles): Map<string, FakeActionHandler> {
  const handlers = new Map<string, FakeActionHandler>();

  // manager.c action_getconfig: each category of the loaded file that passes Category and Filter, its
  // template flag, the templates it names, then every line it holds (inherited ones first), numbered from 0.
  handlers.set('getconfig', (action, session) => {
    const filename = action.get('Filename');
    if (!filename) return session.error(action, 'Filename not specified');
    const file = files.get(filename);
    if (!file) return session.error(action, 'Config file not found');
    const conf = load(file);
    if (!conf) return session.error(action, 'Config file has invalid format');
    const category = action.get('Category') || undefined;
    const fields: Array<[string, string]> = [];
    selectCategories(conf, category, action.get('Filter')).forEach((c, i) => {
      fields.push([`Category-${pad(i)}`, c.name]);
      if (c.isTemplate) fields.push([`IsTemplate-${pad(i)}`, '1']);
      if (c.templates.length > 0) fields.push([`Templates-${pad(i)}`, c.templates.join(',')]);
      c.variables.forEach((v, l) => {
        fields.push([`Line-${pad(i)}-${pad(l)}`, `${v.key}=${v.value}`]);
      });
    });
    const none = category !== undefined && fields.length === 0 ? ['No categories found'] : [];
    session.reply('Success', action, fields, undefined, none);
  });

  // manager.c action_updateconfig: load the source, apply the changes one by one to the loaded file, write
  // the destination only if all of them succeeded.
  handlers.set('updateconfig', (action, session) => {
    const src = action.get('SrcFilename');
    const dst = action.get('DstFilename');
    if (!src || !dst) return session.error(action, 'Filename not specified');
    // Asterisk resolves both names with realpath(): a destination that does not exist yet is refused.
    if (!files.has(dst)) return session.error(action, 'File requires escalated privileges');
    const source = files.get(src);
    if (!source) return session.error(action, 'Config file not found');
    const loaded = load(source);
    if (!loaded) return session.error(action, 'Config file has invalid format');
    try {
      for (const change of parseConfigActionHeaders(action)) applyConfigActions(loaded, [change]);
    } catch (err) {
      if (err instanceof ConfigActionFailure) return session.error(action, err.message);
      throw err;
    }
    if (!files.set(dst, save(loaded, preserves(action.get('PreserveEffectiveContext'))), 'Manager')) {
      return session.error(action, 'File requires escalated privileges');
    }
    session.respond(action);
  });

  // manager.c action_createconfig: open(O_CREAT | O_EXCL) under the config directory, so an existing file is
  // an error carrying strerror(EEXIST).
  handlers.set('createconfig', (action, session) => {
    const filename = action.get('Filename');
    if (!filename) return session.error(action, 'Filename not specified');
    if (files.has(filename)) return session.error(action, 'File exists');
    if (!files.set(filename, new ConfFile())) return session.error(action, 'No such file or directory');
    session.respond(action, undefined, 'New configuration file created successfully');
  });

  return handlers;
}
