import type { ConfigFiles } from '@pbxkit/core';
import { type ConfigProblem, FsConfigError } from './errors.js';
import { assemble } from './preprocess.js';
import { type SectionMap, sectionsOf } from './sections.js';
import { parseXml, type XmlElement, XmlSyntaxError } from './xml.js';

/** A validated configuration: its files, the assembled document's sections and the preprocessor variables. */
export interface ParsedConfig {
  files: ConfigFiles;
  sections: SectionMap;
  vars: Readonly<Record<string, string>>;
  /** XML files the document does not include (checked for well-formedness all the same). */
  unused: string[];
}

/** What changed between two configurations, by file and by section (see {@link SectionMap} for the keys). */
export interface ConfigDiff {
  files: { added: string[]; removed: string[]; changed: string[] };
  sections: { added: string[]; removed: string[]; changed: string[] };
}

interface CachedParse {
  text: string;
  tree: XmlElement | undefined;
  problem: ConfigProblem | undefined;
}

/**
 * Validates FreeSWITCH configuration trees: every `.xml` file well-formed, the preprocessor's includes and
 * `set` variables resolved, the assembled document one `<document>`. Keeps each file's parse (by its text)
 * between calls, so validating a 10,000-file tree again after one file changed parses one file.
 */
export class ConfigValidator {
  private readonly cache = new Map<string, CachedParse>();

  /** @param rootFile The file FreeSWITCH loads first. Default `freeswitch.xml`. */
  constructor(readonly rootFile = 'freeswitch.xml') {}

  /** Parses and assembles `files`; the problems found (empty when valid) and, when valid, the result. */
  check(files: ConfigFiles): { config: ParsedConfig | undefined; problems: ConfigProblem[] } {
    const problems: ConfigProblem[] = [];
    const names = Object.keys(files).sort();
    const xmlNames = names.filter((n) => n.endsWith('.xml'));
    for (const name of this.cache.keys()) if (files[name] === undefined) this.cache.delete(name);
    for (const name of xmlNames) {
      const entry = this.parse(name, files[name] as string);
      if (entry.problem) problems.push(entry.problem);
    }
    const assembled = assemble(xmlNames, (name) => this.cache.get(name)?.tree, this.rootFile);
    problems.push(...assembled.problems);
    if (problems.length || !assembled.root) return { config: undefined, problems };
    return {
      config: {
        files,
        sections: sectionsOf(assembled.root),
        vars: assembled.vars,
        unused: xmlNames.filter((n) => !assembled.loaded.has(n)),
      },
      problems,
    };
  }

  /** Like {@link check}, throwing `FS_CONFIG_INVALID` (with every problem) when the tree is not valid. */
  validate(files: ConfigFiles): ParsedConfig {
    const { config, problems } = this.check(files);
    if (!config) {
      const first = problems[0];
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
      throw new FsConfigError(
        'FS_CONFIG_INVALID',
        `invalid configuration: ${first ? `${first.file}:${first.line}: ${first.message}` : 'no document'}${more}`,
        problems,
      );
    }
    return config;
  }

  private parse(name: string, text: string): CachedParse {
    const cached = this.cache.get(name);
    if (cached && cached.text === text) return cached;
    let entry: CachedParse;
    try {
      entry = { text, tree: parseXml(text, name), problem: undefined };
    } catch (err) {
      if (!(err instanceof XmlSyntaxError)) throw err;
      entry = { text, tree: undefined, problem: { file: err.file, line: err.line, message: err.reason } };
    }
    this.cache.set(name, entry);
    return entry;
  }
}

/** What differs from `before` to `after`, by file and by section. */
export function diffConfig(
  before: { files: ConfigFiles; sections: SectionMap },
  after: { files: ConfigFiles; sections: SectionMap },
): ConfigDiff {
  const diff: ConfigDiff = {
    files: { added: [], removed: [], changed: [] },
    sections: { added: [], removed: [], changed: [] },
  };
  for (const name in after.files) {
    const old = before.files[name];
    if (old === undefined) diff.files.added.push(name);
    else if (old !== after.files[name]) diff.files.changed.push(name);
  }
  for (const name in before.files) if (after.files[name] === undefined) diff.files.removed.push(name);
  for (const [key, hash] of after.sections) {
    const old = before.sections.get(key);
    if (old === undefined) diff.sections.added.push(key);
    else if (old !== hash) diff.sections.changed.push(key);
  }
  for (const key of before.sections.keys()) if (!after.sections.has(key)) diff.sections.removed.push(key);
  for (const list of [...Object.values(diff.files), ...Object.values(diff.sections)]) list.sort();
  return diff;
}
